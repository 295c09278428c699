//! The operator's endpoint: `GET /admin/upstreams` lists every upstream with its health,
//! `POST /admin/upstreams/{name}/refresh` drops that upstream's cached tool list and fetches it
//! again, `POST /admin/upstreams/{name}/connect` answers a sign-in link that connects an OAuth
//! upstream's shared account and `DELETE /admin/upstreams/{name}/connection` forgets it, `GET /admin/audit?limit=N` returns the newest audit entries, newest first, and
//! `GET /metrics` the runner's metrics in the Prometheus text format. For people:
//! `GET /admin/people/{id}` shows what a person is granted, their OAuth grants (the clients
//! they allowed), their open sessions and the upstream accounts they connected,
//! `DELETE /admin/people/{id}` revokes those grants, ends those sessions and disconnects those
//! accounts, and `GET /admin/clients` and `DELETE /admin/clients/{id}` list and
//! remove registered OAuth clients (a percent-encoded id, since a metadata document's is a URL).
//!
//! It is off unless the operator sets the `ADMIN_TOKEN` secret, and then every request must
//! carry it as a bearer token (compared in constant time). Host and Origin are checked as for
//! the MCP endpoint. Nothing it returns contains a secret value.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit::{ExecutionAudit, AUDIT_KEPT};
use crate::mcp::guard::RequestGuard;
use crate::mcp::http;
use crate::metrics::{Metrics, PROMETHEUS_CONTENT_TYPE};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::upstream::health::UpstreamStatus;

/// The path prefix of the operator's endpoint.
pub const ADMIN_PREFIX: &str = "/admin/";
/// The path Prometheus scrapes, also the operator's.
pub const METRICS_PATH: &str = "/metrics";
/// How many audit entries `GET /admin/audit` returns without a `limit`.
pub const AUDIT_PAGE: usize = 100;

/// An OAuth grant: a client a person allowed, as the OAuth layer files it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthGrant {
    /// The grant's id.
    pub id: String,
    /// The client it was given to.
    pub client_id: String,
    /// The scopes granted.
    #[serde(default)]
    pub scope: Vec<String>,
    /// When, in seconds since the Unix epoch.
    #[serde(default)]
    pub created_at: Option<u64>,
    /// When it expires unless refreshed, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// What the runner filed with it (the person who signed in); not shown.
    #[serde(default, skip_serializing)]
    pub metadata: Value,
}

/// A registered OAuth client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    /// Its id: one the OAuth layer issued, or its metadata document's URL.
    pub client_id: String,
    /// The name it gave itself.
    #[serde(default)]
    pub client_name: Option<String>,
    /// Where its tokens may go.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// When it registered, in seconds since the Unix epoch.
    #[serde(default)]
    pub registration_date: Option<u64>,
}

/// What the operator may know of one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    /// The person's id.
    pub person: String,
    /// What `ACCESS` grants them: `"everything"`, or each upstream's tool filters.
    pub grant: Value,
    /// The clients they allowed.
    pub oauth_grants: Vec<OAuthGrant>,
    /// Their open sessions' ids, newest first.
    pub sessions: Vec<String>,
    /// The upstreams they connected their own account of, with when.
    pub connections: Vec<Connection>,
}

/// A person's connected account at an OAuth upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The upstream.
    pub upstream: String,
    /// When they connected it, in ms since the Unix epoch.
    pub since_ms: u64,
}

/// What revoking a person undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    /// OAuth grants revoked, with their tokens.
    pub oauth_grants: usize,
    /// Sessions ended.
    pub sessions: usize,
    /// Upstream accounts disconnected, with their tokens.
    pub connections: usize,
}

/// Why an upstream cannot be added, changed or removed at runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The request is not a valid upstream for that name (400).
    #[error("{0}")]
    Invalid(String),
    /// The configuration that is deployed (`UPSTREAMS`, `ACCESS`) holds it; a deploy changes
    /// it (409).
    #[error("{0}")]
    Deployed(String),
    /// No upstream was added under that name (404).
    #[error("no upstream was added under the name `{0}`")]
    Unknown(String),
    /// The registry failed (503).
    #[error("the registry of added upstreams failed: {0}")]
    Unavailable(String),
}

/// Why the operator cannot connect or disconnect an upstream's shared account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// No upstream has that name (404).
    #[error("no upstream is named `{0}`")]
    Unknown(String),
    /// The upstream has no shared OAuth account (400).
    #[error("{0}")]
    NotShared(String),
    /// Its object failed (503).
    #[error("the upstream's object failed: {0}")]
    Unavailable(String),
}

impl ConnectionError {
    /// The HTTP status that says it.
    fn status(&self) -> u16 {
        match self {
            ConnectionError::Unknown(_) => 404,
            ConnectionError::NotShared(_) => 400,
            ConnectionError::Unavailable(_) => 503,
        }
    }
}

impl ChangeError {
    /// The HTTP status that says it.
    fn status(&self) -> u16 {
        match self {
            ChangeError::Invalid(_) => 400,
            ChangeError::Deployed(_) => 409,
            ChangeError::Unknown(_) => 404,
            ChangeError::Unavailable(_) => 503,
        }
    }
}

/// What the operator's endpoint needs from the Worker.
#[allow(async_fn_in_trait)]
pub trait AdminBackend {
    /// Every configured upstream's status, in configuration order.
    async fn statuses(&self) -> Vec<UpstreamStatus>;
    /// Refreshes the upstream named `name`; `None` when no upstream has that name.
    async fn refresh(&self, name: &str) -> Option<UpstreamStatus>;
    /// Adds the upstream `name` (or changes the one added under it) from its JSON `body`;
    /// effective at the next request.
    async fn put_upstream(&self, name: &str, body: &[u8]) -> Result<(), ChangeError>;
    /// Removes the upstream added under `name`, with its tool list.
    async fn remove_upstream(&self, name: &str) -> Result<(), ChangeError>;
    /// The newest `limit` audit entries, newest first; `Err` says why they cannot be read.
    async fn audit(&self, limit: usize) -> Result<Vec<ExecutionAudit>, String>;
    /// The runner's metrics; `Err` says why they cannot be read.
    async fn metrics(&self) -> Result<Metrics, String>;
    /// What the operator may know of the person `id`.
    async fn person(&self, id: &str) -> Result<PersonView, String>;
    /// Revokes the OAuth grants of the person `id` and ends their sessions.
    async fn revoke_person(&self, id: &str) -> Result<Revocation, String>;
    /// The registered OAuth clients.
    async fn clients(&self) -> Result<Vec<OAuthClient>, String>;
    /// Removes the OAuth client `id`; `false` when there was none.
    async fn remove_client(&self, id: &str) -> Result<bool, String>;
    /// A sign-in link that connects the shared account of the OAuth upstream `name`.
    async fn connect(&self, name: &str) -> Result<String, ConnectionError>;
    /// Forgets the shared account of `name`, with its tokens; whether it was connected.
    async fn disconnect(&self, name: &str) -> Result<bool, ConnectionError>;
}

/// The response that turns `request` away from the operator's endpoint, if one does: 404 when
/// `guard` holds no `ADMIN_TOKEN` (the endpoint is off), else the guard's own refusal.
pub fn refused(request: &HttpRequest, guard: &RequestGuard) -> Option<HttpResponse> {
    if !guard.requires_token() {
        return Some(message(
            404,
            "the operator endpoint is off: set the ADMIN_TOKEN secret to turn it on",
        ));
    }
    http::refused(request, guard)
}

/// Serves one request under [`ADMIN_PREFIX`] or to [`METRICS_PATH`] that [`refused`] let
/// through, for `path` and its URL's `query`.
pub async fn handle(
    request: &HttpRequest,
    path: &str,
    query: Option<&str>,
    backend: &impl AdminBackend,
) -> HttpResponse {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["admin", "upstreams"]) => {
            let upstreams = backend.statuses().await;
            HttpResponse::json(200, &json!({ "upstreams": upstreams }))
        }
        ("PUT", ["admin", "upstreams", name]) => {
            match backend.put_upstream(name, &request.body).await {
                Ok(()) => HttpResponse::json(200, &json!({ "saved": name })),
                Err(error) => message(error.status(), &error.to_string()),
            }
        }
        ("DELETE", ["admin", "upstreams", name]) => match backend.remove_upstream(name).await {
            Ok(()) => HttpResponse::json(200, &json!({ "removed": name })),
            Err(error) => message(error.status(), &error.to_string()),
        },
        ("POST", ["admin", "upstreams", name, "refresh"]) => match backend.refresh(name).await {
            Some(status) => HttpResponse::json(200, &json!(status)),
            None => message(404, &format!("no upstream is named `{name}`")),
        },
        ("POST", ["admin", "upstreams", name, "connect"]) => match backend.connect(name).await {
            Ok(url) => HttpResponse::json(200, &json!({ "signIn": url })),
            Err(error) => message(error.status(), &error.to_string()),
        },
        ("DELETE", ["admin", "upstreams", name, "connection"]) => {
            match backend.disconnect(name).await {
                Ok(was) => HttpResponse::json(200, &json!({ "disconnected": was })),
                Err(error) => message(error.status(), &error.to_string()),
            }
        }
        ("GET", ["admin", "audit"]) => match audit_limit(query) {
            Err(problem) => message(400, &problem),
            Ok(limit) => match backend.audit(limit).await {
                Ok(entries) => HttpResponse::json(200, &json!({ "entries": entries })),
                Err(problem) => message(503, &format!("the audit log cannot be read: {problem}")),
            },
        },
        ("GET", ["metrics"]) => match backend.metrics().await {
            Ok(metrics) => HttpResponse::text(200, PROMETHEUS_CONTENT_TYPE, metrics.prometheus()),
            Err(problem) => message(503, &format!("the metrics cannot be read: {problem}")),
        },
        ("GET", ["admin", "people", id]) => answer(backend.person(&decoded(id)).await),
        ("DELETE", ["admin", "people", id]) => answer(backend.revoke_person(&decoded(id)).await),
        ("GET", ["admin", "clients"]) => answer(
            backend
                .clients()
                .await
                .map(|clients| json!({ "clients": clients })),
        ),
        ("DELETE", ["admin", "clients", id]) => match backend.remove_client(&decoded(id)).await {
            Ok(true) => HttpResponse::json(200, &json!({ "removed": decoded(id) })),
            Ok(false) => message(404, &format!("no client has the id `{}`", decoded(id))),
            Err(problem) => message(503, &problem),
        },
        (
            _,
            ["admin", "upstreams"]
            | ["admin", "upstreams", _]
            | ["admin", "upstreams", _, "refresh"]
            | ["admin", "upstreams", _, "connect"]
            | ["admin", "upstreams", _, "connection"]
            | ["admin", "audit"]
            | ["metrics"]
            | ["admin", "people", _]
            | ["admin", "clients"]
            | ["admin", "clients", _],
        ) => message(
            405,
            "use GET /admin/upstreams, POST /admin/upstreams/{name}/refresh, POST \
             /admin/upstreams/{name}/connect, DELETE /admin/upstreams/{name}/connection, GET \
             /admin/audit, GET /metrics, GET or DELETE /admin/people/{id}, GET /admin/clients or DELETE \
             /admin/clients/{id}",
        ),
        _ => message(
            404,
            "the operator endpoint has /admin/upstreams, /admin/upstreams/{name}/refresh, \
             /admin/audit, /metrics, /admin/people/{id} and /admin/clients",
        ),
    }
}

/// The `limit` query parameter: how many audit entries, 1 to [`AUDIT_KEPT`].
fn audit_limit(query: Option<&str>) -> Result<usize, String> {
    let given = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("limit="));
    let Some(given) = given else {
        return Ok(AUDIT_PAGE);
    };
    match given.parse::<usize>() {
        Ok(limit @ 1..=AUDIT_KEPT) => Ok(limit),
        _ => Err(format!(
            "`limit` must be a whole number from 1 to {AUDIT_KEPT}, not `{given}`"
        )),
    }
}

/// A path segment, percent-decoded (a person's id may hold `:`, a client's id is a URL).
fn decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// `outcome` as JSON, or 503 saying why it could not be had.
fn answer<T: Serialize>(outcome: Result<T, String>) -> HttpResponse {
    match outcome {
        Ok(value) => HttpResponse::json(200, &json!(value)),
        Err(problem) => message(503, &problem),
    }
}

fn message(status: u16, text: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": text }))
}

#[cfg(test)]
mod tests;
