//! One request to the MCP or the operator's endpoint, from its arrival to its answer: who may
//! talk to the endpoint (Host, Origin, and an access key unless the OAuth layer in front
//! signed the person in), who they are, and only then the operator's configuration and the
//! runner.

use std::fmt::Display;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Runner, Services};
use crate::admin;
use crate::admission::admit;
use crate::cold::cold;
use crate::mcp::guard::RequestGuard;
use crate::mcp::http;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::log_level::LogLevel;
use crate::protocol::person::{Person, SignedIn};

/// The secret holding the operator's access keys (`NAME=KEY`, comma-separated); when set, an
/// MCP request must carry one as `Authorization: Bearer …` unless the OAuth layer signed it in.
pub const RUNNER_TOKEN: &str = "RUNNER_TOKEN";
/// The secret that turns on the operator's endpoint; its requests must carry it as a bearer.
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// Where the OAuth layer publishes the MCP endpoint's protected resource metadata (RFC 9728).
const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// The URL parameter that limits a session (or a stateless request) to some upstreams.
const UPSTREAMS_PARAMETER: &str = "upstreams";

/// Whether this isolate has already warned that it serves a public host without sign-in.
static WARNED_WITHOUT_SIGN_IN: AtomicBool = AtomicBool::new(false);

/// Which endpoint a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/mcp`.
    Mcp,
    /// The operator's endpoint (`/admin/…`, `/metrics`), with the request's path.
    Admin(String),
}

/// A request as it arrived.
pub struct Arrival {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The request.
    pub request: HttpRequest,
    /// Its URL's origin (`https://runner.example.com`).
    pub origin: String,
    /// Its URL's query.
    pub query: Option<String>,
    /// The OAuth layer's props, when the request came through it.
    pub oauth: Option<SignedIn>,
}

/// Answers `arrival`. `setting` reads a Worker variable or secret; `start` makes the runner for
/// a person asking for some upstreams (the configuration is read only for a request the guard
/// let through); `log` tells the operator.
pub async fn serve<S: Services + 'static, E: Display, Started>(
    arrival: Arrival,
    setting: impl Fn(&str) -> Option<String>,
    start: impl FnOnce(Option<Person>, Option<String>) -> Started,
    log: impl Fn(LogLevel, &str),
) -> HttpResponse
where
    Started: Future<Output = Result<Runner<S>, E>>,
{
    let Arrival {
        endpoint,
        request,
        origin,
        query,
        oauth,
    } = arrival;
    // Behind the OAuth layer, a person it signed in needs no access key; anyone else does.
    let behind_oauth = oauth.is_some() && endpoint == Endpoint::Mcp;
    let signed_in = oauth
        .filter(|_| behind_oauth)
        .and_then(|props| props.person);
    let keys = match (&signed_in, &endpoint) {
        (Some(_), _) => None,
        (None, Endpoint::Mcp) => setting(RUNNER_TOKEN),
        (None, Endpoint::Admin(_)) => setting(ADMIN_TOKEN),
    };
    let mut guard = RequestGuard::new(
        setting("ALLOWED_HOSTS").as_deref(),
        setting("ALLOWED_ORIGINS").as_deref(),
        keys,
    );
    if behind_oauth {
        guard = guard.with_resource_metadata(format!("{origin}{RESOURCE_METADATA_PATH}"));
    }
    let refusal = match endpoint {
        Endpoint::Mcp => http::refused(&request, &guard),
        Endpoint::Admin(_) => admin::refused(&request, &guard),
    };
    let person = signed_in.or_else(|| guard.person(request.header("Authorization")));
    let anonymous = person.is_none();
    let requested_upstreams =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .find(|(name, _)| name == UPSTREAMS_PARAMETER)
            .map(|(_, value)| value.into_owned());
    let started = admit(refusal, || async {
        let started = start(person, requested_upstreams).await;
        started.inspect_err(|err| log(LogLevel::Error, &err.to_string()))
    })
    .await;
    let runner = match started {
        Err(response) => return response,
        Ok(runner) => Rc::new(runner),
    };
    match endpoint {
        Endpoint::Mcp => {
            if anonymous
                && !RequestGuard::is_loopback(&request.authority)
                && !WARNED_WITHOUT_SIGN_IN.swap(true, Ordering::Relaxed)
            {
                log(
                    LogLevel::Warning,
                    &format!(
                    "mcp-isolate-runner is serving {} without sign-in: anyone who can reach it \
                     can use the configured upstreams. Set RUNNER_TOKEN or an identity provider.",
                    request.authority
                ),
                );
            }
            match runner.refusal() {
                Some(refusal) => refusal,
                None => http::handle(&request, &runner).await,
            }
        }
        Endpoint::Admin(path) => {
            cold(admin::handle(
                &request,
                &path,
                query.as_deref(),
                runner.as_ref(),
            ))
            .await
        }
    }
}

#[cfg(test)]
mod tests;
