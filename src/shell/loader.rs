//! Running a program in a fresh dynamic isolate through the Worker Loader binding.
//!
//! `LOADER.load()` is used rather than `LOADER.get(id)`: every execution gets a new isolate, so
//! nothing one program leaves behind (globals, prototypes, timers) is seen by the next.
//! The isolate's `env` is empty. Its one capability, a stub to this Worker's `Bridge`
//! entrypoint whose props (the [`Grant`]) only the runner sets, is an argument of the
//! harness's `run`, which keeps it out of the program's reach: the program can call tools only
//! through the namespace functions, within the harness's limits. `globalOutbound` is JS `null`:
//! leaving it out, or passing `undefined`, lets the isolate reach the network.
//!
//! An execution that runs out of time, is cancelled or loses its client is abandoned: the
//! harness is told to refuse further tool calls and settle the ones in flight, and the
//! upstreams those calls went to are told to stop them.

use std::future::Future;
use std::time::Duration;

use futures::future::{join_all, select, Either};
use futures::pin_mut;
use js_sys::{Function, Object, Promise, Reflect};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Context, Delay, Env};

use super::js::{call_method, describe, from_js, property, to_js};
use super::objects::{ask, SESSION_OBJECTS, UPSTREAM_OBJECTS};
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::sandbox::protocol::{Grant, Outcome};
use crate::session::{LogLevel, SessionCommand};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// The Worker Loader binding's name in wrangler.toml.
const LOADER_BINDING: &str = "LOADER";
/// The bridge entrypoint class exported by `entry.js`.
const BRIDGE_ENTRYPOINT: &str = "Bridge";
/// How long an abandoned harness has to say which calls were in flight.
const ABANDON_WAIT_MS: u64 = 1_000;

/// Why a program did not produce an outcome (as opposed to failing while running).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SandboxError {
    #[error("the sandbox could not start: {0}")]
    Start(String),
    #[error("the program did not finish within {0} ms and was abandoned")]
    Timeout(u32),
    #[error("the client cancelled the execution ({0})")]
    Cancelled(String),
    #[error("the sandbox stopped unexpectedly: {0}")]
    Crashed(String),
}

/// What a run needs of the Worker: its bindings, the request's context and `ctx.exports`.
#[derive(Clone, Copy)]
pub(crate) struct Host<'a> {
    pub(crate) env: &'a Env,
    pub(crate) ctx: &'a Context,
    pub(crate) exports: &'a JsValue,
}

/// Loads `code` into a new isolate and runs `request` in it, until it finishes, runs out of
/// time (`timeout_ms`) or `stop` resolves (with the client's reason). `on_call`, when given, is called by
/// the harness after each tool call with a [`CallTrace`](crate::sandbox::protocol::CallTrace).
pub(crate) async fn run_program(
    host: &Host<'_>,
    code: &WorkerCode,
    request: &RunRequest,
    grant: &Grant,
    on_call: Option<&Function>,
    stop: impl Future<Output = String>,
    timeout_ms: u32,
) -> Result<Outcome, SandboxError> {
    let Host { env, ctx, exports } = *host;
    let entrypoint = load(env, code).map_err(SandboxError::Start)?;
    let bridge = bridge(exports, grant).map_err(SandboxError::Start)?;
    let mut running = Running {
        env,
        ctx,
        entrypoint: &entrypoint,
        grant,
        finished: false,
    };
    let request = to_js(request).map_err(SandboxError::Start)?;
    let on_call = on_call.map_or(JsValue::UNDEFINED, |f| f.clone().into());
    let promise: Promise = call_method(&entrypoint, "run", &[&request, &bridge, &on_call])
        .map_err(SandboxError::Start)?
        .unchecked_into();
    let deadline = Delay::from(Duration::from_millis(timeout_ms.into()));
    let run = JsFuture::from(promise);
    pin_mut!(stop);
    let finished = select(select(run, deadline), stop).await;
    running.finished = true;
    let error = match finished {
        Either::Left((Either::Left((Ok(outcome), _)), _)) => {
            return from_js(outcome).map_err(SandboxError::Crashed)
        }
        Either::Left((Either::Left((Err(error), _)), _)) => {
            return Err(SandboxError::Crashed(describe(&error)))
        }
        Either::Left((Either::Right(_), _)) => SandboxError::Timeout(timeout_ms),
        Either::Right((reason, _)) => SandboxError::Cancelled(reason),
    };
    // A cancelled request gets no answer, so only the session's stream can say what stopped;
    // a timed-out one is answered with the error.
    let report = matches!(error, SandboxError::Cancelled(_));
    abandon(
        env.clone(),
        entrypoint.clone(),
        grant.clone(),
        error.to_string(),
        report,
    )
    .await;
    Err(error)
}

/// An execution under way; dropped unfinished (the client closed the response stream, which
/// is how a 2026-07-28 client cancels), it is abandoned in the background.
struct Running<'a> {
    env: &'a Env,
    /// Keeps the request alive for the abandonment when its client has gone.
    ctx: &'a Context,
    entrypoint: &'a JsValue,
    grant: &'a Grant,
    finished: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.ctx.wait_until(abandon(
                self.env.clone(),
                self.entrypoint.clone(),
                self.grant.clone(),
                "the client closed the connection".to_owned(),
                true,
            ));
        }
    }
}

/// Tells the harness the execution is over, then each upstream it had calls in flight to
/// that the calls of the execution are no longer wanted. With `report`, the session's GET
/// streams then hear what was stopped (the request that started it has no one to tell).
async fn abandon(env: Env, entrypoint: JsValue, grant: Grant, reason: String, report: bool) {
    let command = UpstreamCommand::Cancel {
        execution: grant.execution.clone(),
        reason: reason.clone(),
    };
    let upstreams = in_flight(&entrypoint, &reason).await;
    join_all(upstreams.iter().map(|name| async {
        // Best effort: an unreachable object has no call to stop.
        let _: worker::Result<UpstreamAnswer> = ask(&env, UPSTREAM_OBJECTS, name, &command).await;
    }))
    .await;
    let Some(session) = grant.session.filter(|_| report) else {
        return;
    };
    let event = SessionCommand::Publish {
        level: LogLevel::Info,
        data: json!({"event": "execution_abandoned", "execution": grant.execution,
                     "reason": reason, "stoppedCallsTo": upstreams}),
    };
    // Best effort: the session may have ended with its client.
    let _: worker::Result<usize> = ask(&env, SESSION_OBJECTS, &session, &event).await;
}

/// Stops the harness; returns the upstreams it had calls in flight to.
async fn in_flight(entrypoint: &JsValue, reason: &str) -> Vec<String> {
    let Ok(answer) = call_method(entrypoint, "cancel", &[&JsValue::from_str(reason)]) else {
        return Vec::new();
    };
    let answer = JsFuture::from(Promise::resolve(&answer));
    let wait = Delay::from(Duration::from_millis(ABANDON_WAIT_MS));
    match select(answer, wait).await {
        // A harness stuck in a synchronous loop never answers; then nothing is known.
        Either::Left((Ok(upstreams), _)) => from_js(upstreams).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The harness entrypoint of a freshly loaded isolate, whose `env` is empty.
fn load(env: &Env, code: &WorkerCode) -> Result<JsValue, String> {
    let loader = property(env, LOADER_BINDING)?;
    let worker_code = to_js(code)?;
    set(&worker_code, "env", &Object::new())?;
    set(&worker_code, "globalOutbound", &JsValue::NULL)?;
    let worker = call_method(&loader, "load", &[&worker_code])?;
    call_method(&worker, "getEntrypoint", &[])
}

/// A stub to this Worker's `Bridge` entrypoint carrying `grant` as its props.
fn bridge(exports: &JsValue, grant: &Grant) -> Result<JsValue, String> {
    let options = Object::new();
    set(&options, "props", &to_js(grant)?)?;
    call_method(exports, BRIDGE_ENTRYPOINT, &[&options])
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| format!("could not set `{key}`: {}", describe(&e)))
}
