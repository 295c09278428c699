//! The Worker shell: everything that touches JavaScript, compiled for `wasm32` only.
//!
//! - the fetch handler (this module) routes `/mcp` to [`crate::mcp::http`] and `/admin/…` to
//!   [`crate::admin`];
//! - [`services`] is the Worker as the [runner](crate::runner)'s services, [`platform`] as an
//!   [execution](crate::execution)'s platform, and [`catalog`] reads the upstreams' tool lists;
//! - [`session_object`], [`upstream_object`] and [`ledger_object`] are the Durable Objects;
//! - [`loader`] loads a dynamic isolate and runs a program in it;
//! - [`bridge`] is the one capability the isolate holds: a function whose calls pass the
//!   execution's gate;
//! - [`objects`] and [`js`] are the small helpers the rest share.
//!
//! `entry.js` beside this file is the Worker's main module: it re-exports the handler and the
//! Durable Object classes of worker-build's output, and nothing else.

mod bridge;
mod catalog;
mod js;
mod ledger_object;
mod loader;
mod objects;
mod platform;
mod services;
mod session_object;
mod signin;
mod upstream_object;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use worker::{console_error, console_warn, event, Context, Env, Request, Response, Result};

use crate::admin::{self, ADMIN_PREFIX, METRICS_PATH};
use crate::admission::admit;
use crate::config::AccessKeys;
use crate::mcp::guard::RequestGuard;
use crate::mcp::http;
use crate::protocol::http::{Body, HttpRequest};
use crate::protocol::person::SignedIn;
use crate::signin::{AUTHORIZE_PATH, CALLBACK_PATH, CONFIRM_PATH};

/// The secret holding the operator's access keys (`NAME=KEY`, comma-separated); when set, an
/// MCP request must carry one as `Authorization: Bearer …` unless the OAuth layer signed it in.
const RUNNER_TOKEN: &str = "RUNNER_TOKEN";
/// Where the OAuth layer publishes the MCP endpoint's protected resource metadata (RFC 9728).
const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// The secret that turns on the operator's endpoint; its requests must carry it as a bearer.
const ADMIN_TOKEN: &str = "ADMIN_TOKEN";

/// Whether this isolate has already warned that it serves a public host without a token.
static WARNED_WITHOUT_TOKEN: AtomicBool = AtomicBool::new(false);

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    match path.as_str() {
        "/mcp" => serve(req, env, ctx, Endpoint::Mcp).await,
        _ if path.starts_with(ADMIN_PREFIX) || path == METRICS_PATH => {
            serve(req, env, ctx, Endpoint::Admin(path)).await
        }
        AUTHORIZE_PATH | CONFIRM_PATH | CALLBACK_PATH => {
            let keys = AccessKeys::parse(
                env.secret(RUNNER_TOKEN)
                    .ok()
                    .map(|t| t.to_string())
                    .as_deref(),
            );
            signin::serve(req, &env, &keys).await
        }
        "/" => Response::ok("MCP Isolate Runner: the MCP endpoint is /mcp\n"),
        _ => Response::error("Not Found: the MCP endpoint is /mcp", 404),
    }
}

/// Which endpoint a request is for.
enum Endpoint {
    Mcp,
    /// The operator's endpoint (`/admin/…`, `/metrics`), with the request's path.
    Admin(String),
}

/// The URL parameter that limits a session (or a stateless request) to some upstreams.
const UPSTREAMS_PARAMETER: &str = "upstreams";

async fn serve(mut req: Request, env: Env, ctx: Context, endpoint: Endpoint) -> Result<Response> {
    let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
    let token_name = match endpoint {
        Endpoint::Mcp => RUNNER_TOKEN,
        Endpoint::Admin(_) => ADMIN_TOKEN,
    };
    // Behind the OAuth layer, the MCP endpoint's requests carry its props: a person it signed
    // in needs no access key; anyone else does, if keys are set.
    let behind_oauth = match endpoint {
        Endpoint::Mcp => ctx.props::<SignedIn>().ok(),
        Endpoint::Admin(_) => None,
    };
    let oauth_metadata = behind_oauth.is_some().then(|| {
        let origin = req.url().map(|url| url.origin().ascii_serialization());
        format!("{}{RESOURCE_METADATA_PATH}", origin.unwrap_or_default())
    });
    let signed_in = behind_oauth.and_then(|props| props.person);
    let keys = match signed_in {
        Some(_) => None,
        None => env.secret(token_name).ok().map(|t| t.to_string()),
    };
    let mut guard = RequestGuard::new(
        var("ALLOWED_HOSTS").as_deref(),
        var("ALLOWED_ORIGINS").as_deref(),
        keys,
    );
    if let Some(url) = oauth_metadata {
        guard = guard.with_resource_metadata(url);
    }
    let url = req.url()?;
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    let request = HttpRequest {
        method: req.method().to_string(),
        authority,
        headers: req.headers().entries().collect(),
        body: req.bytes().await.unwrap_or_default(),
    };
    let refusal = match endpoint {
        Endpoint::Mcp => http::refused(&request, &guard),
        Endpoint::Admin(_) => admin::refused(&request, &guard),
    };
    let person = signed_in.or_else(|| guard.person(request.header("Authorization")));
    let anonymous = person.is_none();
    let requested_upstreams = url
        .query_pairs()
        .find(|(name, _)| name == UPSTREAMS_PARAMETER)
        .map(|(_, value)| value.into_owned());
    let started = admit(refusal, || {
        services::start(env, ctx, person, requested_upstreams)
            .inspect_err(|err| console_error!("{err}"))
    });
    let response = match started.map(Rc::new) {
        Err(response) => response,
        Ok(runner) => match endpoint {
            Endpoint::Mcp => {
                if anonymous && !RequestGuard::is_loopback(&request.authority) {
                    warn_once_without_token(&request.authority);
                }
                match runner.refusal() {
                    Some(refusal) => refusal,
                    None => http::handle(&request, &runner).await,
                }
            }
            Endpoint::Admin(path) => {
                admin::handle(&request, &path, url.query(), runner.as_ref()).await
            }
        },
    };
    let mut builder = Response::builder().with_status(response.status);
    for (name, value) in &response.headers {
        builder = builder.with_header(name, value)?;
    }
    match response.body {
        Body::Complete(bytes) if bytes.is_empty() => Ok(builder.empty()),
        // `fixed`, not `from_bytes`: the latter overwrites Content-Type with octet-stream.
        Body::Complete(bytes) => Ok(builder.fixed(bytes)),
        Body::Events(events) => builder.from_stream(events.map(Ok::<_, worker::Error>)),
    }
}

/// Logs, once per isolate, that the runner is reachable beyond loopback with no token set.
fn warn_once_without_token(authority: &str) {
    if !WARNED_WITHOUT_TOKEN.swap(true, Ordering::Relaxed) {
        console_warn!(
            "mcp-isolate-runner is serving {authority} without RUNNER_TOKEN: anyone who can reach \
             it can use the configured upstreams. Set it with `wrangler secret put RUNNER_TOKEN`."
        );
    }
}
