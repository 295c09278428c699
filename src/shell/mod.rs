//! The Worker shell: everything that touches JavaScript, compiled for `wasm32` only.
//!
//! - the fetch handler (this module) routes `/mcp` to [`crate::mcp::http`] and `/admin/…` to
//!   [`crate::admin`];
//! - [`services`] is the Worker as the [runner](crate::runner)'s services, [`platform`] as an
//!   [execution](crate::execution)'s platform, and [`catalog`] reads the upstreams' tool lists;
//! - [`signin`], [`connect`] and [`approvals`] serve the pages people open: signing in,
//!   connecting an upstream account, approving a call;
//! - [`session_object`], [`upstream_object`], [`ledger_object`], [`registry_object`],
//!   [`stash_object`] and [`approval_object`] are the Durable Objects;
//! - [`loader`] loads a dynamic isolate and runs a program in it;
//! - [`bridge`] is the one capability the isolate holds: a function whose calls pass the
//!   execution's gate;
//! - [`objects`], [`js`] and [`timer`] are the small helpers the rest share.
//!
//! `entry.js` beside this file is the Worker's main module: it re-exports the handler and the
//! Durable Object classes of worker-build's output, and nothing else.

mod approval_object;
mod approvals;
mod bridge;
mod catalog;
mod connect;
mod js;
mod ledger_object;
mod lessee;
mod loader;
mod objects;
mod platform;
mod registry_object;
mod services;
mod session_object;
mod signin;
mod stash_object;
mod timer;
mod upstream_object;

use futures::StreamExt;

use worker::{
    console_error, console_warn, event, web_sys, Context, Env, Headers, Request, Response, Result,
};

use crate::admin::{ADMIN_PREFIX, METRICS_PATH};
use crate::cold::cold;
use crate::config::{AccessKeys, PUBLIC_URL_VAR};
use crate::mcp::http;
use crate::protocol::http::{Body, HttpRequest, HttpResponse, CONTENT_LENGTH, MAX_REQUEST_BYTES};
use crate::protocol::log_level::LogLevel;
use crate::protocol::person::SignedIn;
use crate::runner::arrival::{self, Arrival, Endpoint, RUNNER_TOKEN};
use crate::signin::{AUTHORIZE_PATH, CALLBACK_PATH, CONFIRM_PATH};
use crate::upstream::bounds::ByteBudget;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    match path.as_str() {
        "/mcp" => serve(req, env, ctx, Endpoint::Mcp).await,
        _ if path.starts_with(ADMIN_PREFIX) || path == METRICS_PATH => {
            serve(req, env, ctx, Endpoint::Admin(path)).await
        }
        // The pages people open are cold: their code stays out of the MCP path's.
        CALLBACK_PATH if approvals::is_approval_return(&req) => {
            cold(approvals::serve(req, env, ctx)).await
        }
        AUTHORIZE_PATH | CONFIRM_PATH | CALLBACK_PATH => {
            cold(signin::serve(req, &env, &access_keys(&env))).await
        }
        _ if crate::signin::approval::serves(&path) => cold(approvals::serve(req, env, ctx)).await,
        _ if crate::signin::upstream::serves(&path) => cold(connect::serve(req, &env)).await,
        "/" => Response::ok("MCP Isolate Runner: the MCP endpoint is /mcp\n"),
        _ => Response::error("Not Found: the MCP endpoint is /mcp", 404),
    }
}

/// The operator's access keys.
fn access_keys(env: &Env) -> AccessKeys {
    AccessKeys::parse(setting(env, RUNNER_TOKEN).as_deref())
}

/// The runner's origin as people reach it, for the links it gives them: `PUBLIC_URL` where the
/// operator set it, the request's `origin` otherwise.
fn own_origin(env: &Env, origin: &str) -> String {
    match setting(env, PUBLIC_URL_VAR) {
        Some(public_url) => public_url.trim_end_matches('/').to_owned(),
        None => origin.to_owned(),
    }
}

/// A Worker variable or secret.
fn setting(env: &Env, name: &str) -> Option<String> {
    let value = env.var(name).or_else(|_| env.secret(name));
    value.ok().map(|value| value.to_string())
}

/// Serves a request to `endpoint` (see [`arrival::serve`]).
///
/// The URL is read with the runtime's own `URL`: the `url` crate's parser is wasm that V8
/// would compile again for every request (see [`crate::cold`]).
async fn serve(mut req: Request, env: Env, ctx: Context, endpoint: Endpoint) -> Result<Response> {
    let url = web_sys::Url::new(&req.inner().url())?;
    let search = url.search();
    let Some(body) = body_within_limit(&mut req).await? else {
        return respond(http::body_too_large(), Headers::new());
    };
    let arrival = Arrival {
        endpoint,
        request: HttpRequest {
            method: req.method().to_string(),
            // The host, with the port unless it is the scheme's default.
            authority: url.host(),
            headers: req.headers().entries().collect(),
            body,
        },
        origin: url.origin(),
        query: search.strip_prefix('?').map(str::to_owned),
        // Only the OAuth layer in front sets props; without it there are none.
        oauth: ctx.props::<SignedIn>().ok(),
    };
    let settings = env.clone();
    let origin = own_origin(&env, &arrival.origin);
    let start = |person, upstreams| services::start(env, ctx, origin, person, upstreams);
    let log = |level, message: &str| match level {
        LogLevel::Error | LogLevel::Critical | LogLevel::Alert | LogLevel::Emergency => {
            console_error!("{message}")
        }
        _ => console_warn!("{message}"),
    };
    let response = arrival::serve(arrival, |name| setting(&settings, name), start, log).await;
    respond(response, Headers::new())
}

/// The body of `req`, read only while it stays within [`MAX_REQUEST_BYTES`]: `None` when it
/// declares more (then none of it is read) or sends more (then the rest is not).
async fn body_within_limit(req: &mut Request) -> Result<Option<Vec<u8>>> {
    let mut budget = ByteBudget::new(MAX_REQUEST_BYTES);
    if let Some(declared) = req.headers().get(CONTENT_LENGTH)? {
        // The runtime holds a body to the length it declares.
        return Ok(match budget.check_declared(Some(&declared)) {
            Ok(()) => Some(req.bytes().await.unwrap_or_default()),
            Err(_) => None,
        });
    }
    if req.inner().body().is_none() {
        return Ok(Some(Vec::new()));
    }
    let mut body = Vec::new();
    let mut pieces = req.stream()?;
    while let Some(piece) = pieces.next().await {
        let piece = piece?;
        if budget.take(piece.len()).is_err() {
            return Ok(None);
        }
        body.extend_from_slice(&piece);
    }
    Ok(Some(body))
}

/// `response` as the Worker's, its headers set on `base` (which may carry others, such as the
/// OAuth layer's cookies).
fn respond(response: HttpResponse, base: Headers) -> Result<Response> {
    for (name, value) in &response.headers {
        base.set(name, value)?;
    }
    let builder = Response::builder()
        .with_status(response.status)
        .with_headers(base);
    match response.body {
        Body::Complete(bytes) if bytes.is_empty() => Ok(builder.empty()),
        // `fixed`, not `from_bytes`: the latter overwrites Content-Type with octet-stream.
        Body::Complete(bytes) => Ok(builder.fixed(bytes)),
        Body::Events(events) => builder.from_stream(events.map(Ok::<_, worker::Error>)),
    }
}
