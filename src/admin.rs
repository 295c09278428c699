//! The operator's endpoint: `GET /admin/upstreams` lists every upstream with its health,
//! `POST /admin/upstreams/{name}/refresh` drops that upstream's cached tool list and fetches it
//! again, `GET /admin/audit?limit=N` returns the newest audit entries, newest first, and
//! `GET /metrics` the runner's metrics in the Prometheus text format. For people:
//! `GET /admin/people/{id}` shows what a person is granted, their OAuth grants (the clients
//! they allowed) and their open sessions, `DELETE /admin/people/{id}` revokes those grants and
//! ends those sessions, and `GET /admin/clients` and `DELETE /admin/clients/{id}` list and
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
}

/// What revoking a person undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    /// OAuth grants revoked, with their tokens.
    pub oauth_grants: usize,
    /// Sessions ended.
    pub sessions: usize,
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
            | ["admin", "audit"]
            | ["metrics"]
            | ["admin", "people", _]
            | ["admin", "clients"]
            | ["admin", "clients", _],
        ) => message(
            405,
            "use GET /admin/upstreams, POST /admin/upstreams/{name}/refresh, GET /admin/audit, \
             GET /metrics, GET or DELETE /admin/people/{id}, GET /admin/clients or DELETE \
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
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::executor::block_on;

    use super::*;
    use crate::upstream::health::Health;

    struct TwoUpstreams;

    impl AdminBackend for TwoUpstreams {
        async fn statuses(&self) -> Vec<UpstreamStatus> {
            ["a", "b"]
                .iter()
                .map(|name| UpstreamStatus::new(name, None, None, false, &Health::default()))
                .collect()
        }

        async fn refresh(&self, name: &str) -> Option<UpstreamStatus> {
            (name == "a").then(|| UpstreamStatus::new(name, None, None, false, &Health::default()))
        }

        async fn put_upstream(&self, name: &str, body: &[u8]) -> Result<(), ChangeError> {
            match (name, body.is_empty()) {
                ("a", _) => Err(ChangeError::Deployed(
                    "`a` is configured in UPSTREAMS".into(),
                )),
                (_, true) => Err(ChangeError::Invalid("the body is empty".into())),
                _ => Ok(()),
            }
        }

        async fn remove_upstream(&self, name: &str) -> Result<(), ChangeError> {
            Err(ChangeError::Unknown(name.to_owned()))
        }

        async fn metrics(&self) -> Result<Metrics, String> {
            Ok(Metrics::new(0))
        }

        async fn audit(&self, limit: usize) -> Result<Vec<ExecutionAudit>, String> {
            Ok((0..limit.min(3))
                .map(|n| {
                    ExecutionAudit::begin(
                        n as u64,
                        format!("e{n}"),
                        None,
                        None,
                        "return 1;",
                        Vec::new(),
                    )
                })
                .collect())
        }

        async fn person(&self, id: &str) -> Result<PersonView, String> {
            Ok(PersonView {
                person: id.to_owned(),
                grant: json!("everything"),
                oauth_grants: Vec::new(),
                sessions: vec!["s-1".into()],
            })
        }

        async fn revoke_person(&self, _id: &str) -> Result<Revocation, String> {
            Err("the OAuth layer is down".into())
        }

        async fn clients(&self) -> Result<Vec<OAuthClient>, String> {
            Ok(Vec::new())
        }

        async fn remove_client(&self, id: &str) -> Result<bool, String> {
            Ok(id == "https://claude.ai/oauth/client.json")
        }
    }

    fn request(method: &str, token: Option<&str>) -> HttpRequest {
        let mut headers = vec![("Host".to_owned(), "127.0.0.1:8787".to_owned())];
        if let Some(token) = token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        HttpRequest {
            method: method.to_owned(),
            headers,
            ..HttpRequest::default()
        }
    }

    fn serve(
        method: &str,
        path: &str,
        token: Option<&str>,
        admin_token: Option<&str>,
    ) -> HttpResponse {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let guard = RequestGuard::new(None, None, admin_token.map(str::to_owned));
        let request = request(method, token);
        refused(&request, &guard)
            .unwrap_or_else(|| block_on(handle(&request, path, query, &TwoUpstreams)))
    }

    #[test]
    fn an_upstream_is_put_and_removed_with_the_status_of_what_went_wrong() {
        assert_eq!(
            serve("PUT", "/admin/upstreams/a", Some("t"), Some("t")).status,
            409
        );
        assert_eq!(
            serve("PUT", "/admin/upstreams/b", Some("t"), Some("t")).status,
            400
        );
        let unknown = serve("DELETE", "/admin/upstreams/c", Some("t"), Some("t"));
        assert_eq!(unknown.status, 404);
        assert!(body(&unknown)["error"].as_str().unwrap().contains("`c`"));
    }

    #[test]
    fn people_and_clients_are_read_and_removed_by_their_encoded_ids() {
        let person = serve("GET", "/admin/people/key%3Aalice", Some("t"), Some("t"));
        assert_eq!(person.status, 200);
        assert_eq!(body(&person)["person"], "key:alice");
        assert_eq!(body(&person)["sessions"], json!(["s-1"]));
        let failed = serve("DELETE", "/admin/people/key:alice", Some("t"), Some("t"));
        assert_eq!(failed.status, 503);
        assert!(body(&failed)["error"]
            .as_str()
            .unwrap()
            .contains("OAuth layer is down"));
        let encoded = "https%3A%2F%2Fclaude.ai%2Foauth%2Fclient.json";
        let removed = serve(
            "DELETE",
            &format!("/admin/clients/{encoded}"),
            Some("t"),
            Some("t"),
        );
        assert_eq!(
            body(&removed)["removed"],
            "https://claude.ai/oauth/client.json"
        );
        let unknown = serve("DELETE", "/admin/clients/nobody", Some("t"), Some("t"));
        assert_eq!(unknown.status, 404);
        assert_eq!(
            serve("PUT", "/admin/clients", Some("t"), Some("t")).status,
            405
        );
    }

    fn body(response: &HttpResponse) -> Value {
        serde_json::from_slice(response.bytes()).unwrap()
    }

    #[test]
    fn is_off_without_an_admin_token() {
        let response = serve("GET", "/admin/upstreams", Some("x"), None);
        assert_eq!(response.status, 404);
        assert!(body(&response)["error"]
            .as_str()
            .unwrap()
            .contains("ADMIN_TOKEN"));
    }

    #[test]
    fn needs_the_admin_token() {
        assert_eq!(
            serve("GET", "/admin/upstreams", None, Some("op")).status,
            401
        );
        assert_eq!(
            serve("GET", "/admin/upstreams", Some("nope"), Some("op")).status,
            401
        );
    }

    #[test]
    fn lists_upstreams_and_refreshes_one_by_name() {
        let listed = serve("GET", "/admin/upstreams", Some("op"), Some("op"));
        assert_eq!(listed.status, 200);
        let names: Vec<_> = body(&listed)["upstreams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].clone())
            .collect();
        assert_eq!(names, [json!("a"), json!("b")]);
        let refreshed = serve("POST", "/admin/upstreams/a/refresh", Some("op"), Some("op"));
        assert_eq!(
            (refreshed.status, body(&refreshed)["name"].clone()),
            (200, json!("a"))
        );
        assert_eq!(
            serve(
                "POST",
                "/admin/upstreams/zz/refresh",
                Some("op"),
                Some("op")
            )
            .status,
            404
        );
    }

    #[test]
    fn the_audit_log_is_read_with_a_bounded_limit() {
        let all = serve("GET", "/admin/audit", Some("op"), Some("op"));
        assert_eq!(all.status, 200);
        assert_eq!(body(&all)["entries"].as_array().unwrap().len(), 3);
        let one = serve("GET", "/admin/audit?limit=1", Some("op"), Some("op"));
        assert_eq!(body(&one)["entries"][0]["execution"], "e0");
        for bad in ["0", "x", "100000"] {
            let refused = serve(
                "GET",
                &format!("/admin/audit?limit={bad}"),
                Some("op"),
                Some("op"),
            );
            assert_eq!(refused.status, 400, "{bad}");
            assert!(body(&refused)["error"].as_str().unwrap().contains(bad));
        }
        assert_eq!(serve("GET", "/admin/audit", None, Some("op")).status, 401);
        assert_eq!(
            serve("POST", "/admin/audit", Some("op"), Some("op")).status,
            405
        );
    }

    #[test]
    fn metrics_are_served_to_the_operator_in_prometheus_text() {
        let scraped = serve("GET", "/metrics", Some("op"), Some("op"));
        assert_eq!(scraped.status, 200);
        assert!(scraped
            .headers
            .iter()
            .any(|(name, value)| name == "Content-Type" && value.starts_with("text/plain")));
        let text = String::from_utf8(scraped.bytes().to_vec()).unwrap();
        assert!(text.contains("# TYPE mir_executions_total counter"));
        assert_eq!(serve("GET", "/metrics", None, Some("op")).status, 401);
        assert_eq!(serve("GET", "/metrics", Some("op"), None).status, 404);
        assert_eq!(serve("PUT", "/metrics", Some("op"), Some("op")).status, 405);
    }

    #[test]
    fn wrong_methods_and_paths_are_named() {
        assert_eq!(
            serve("DELETE", "/admin/upstreams", Some("op"), Some("op")).status,
            405
        );
        assert_eq!(
            serve("GET", "/admin/other", Some("op"), Some("op")).status,
            404
        );
    }
}
