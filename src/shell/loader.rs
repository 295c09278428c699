//! Running a program in a fresh dynamic isolate through the Worker Loader binding.
//!
//! `LOADER.load()` is used rather than `LOADER.get(id)`: every execution gets a new isolate, so
//! nothing one program leaves behind (globals, prototypes, timers) is seen by the next.
//! The isolate's `env` is empty. Its one capability, the [bridge](super::bridge) function, is
//! an argument of the harness's `run`; every call through it passes the execution's
//! [`CallGate`] in this Worker. `globalOutbound` is JS `null`: leaving it out, or passing
//! `undefined`, lets the isolate reach the network.
//!
//! An execution that runs out of time, is cancelled or loses its client is abandoned: its
//! gate is closed, so every further call is refused, and the upstreams that still have calls of
//! it in flight are told to stop them. Once the program has returned the gate is closed too, so
//! a timer it left behind cannot call a tool.

use std::future::Future;
use std::time::Duration;

use futures::future::{join_all, select, Either};
use futures::pin_mut;
use js_sys::{Object, Promise, Reflect};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Context, Delay, Env};

use super::js::{call_method, describe, now_ms, property, to_js};
use super::objects::{ask, SESSION_OBJECTS, UPSTREAM_OBJECTS};
use crate::protocol::log_level::LogLevel;
use crate::sandbox::gate::CallGate;
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::sandbox::protocol::Outcome;
use crate::session::SessionCommand;
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// The Worker Loader binding's name in wrangler.toml.
const LOADER_BINDING: &str = "LOADER";

/// Why a program did not produce an outcome (as opposed to failing while running).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SandboxError {
    #[error("the sandbox could not start: {0}")]
    Start(String),
    #[error("the program did not finish within {0} ms (timeoutMs) and was abandoned")]
    Timeout(u32),
    #[error(
        "the program ran for {ms} ms, past its limit of {limit} ms (timeoutMs): it held the CPU \
         without pausing, so it could not be stopped in time; its result is discarded"
    )]
    Overran { ms: u64, limit: u32 },
    #[error("the client cancelled the execution ({0})")]
    Cancelled(String),
    #[error("the sandbox stopped unexpectedly: {0}")]
    Crashed(String),
}

/// What a run needs of the Worker: its bindings and the request's context.
#[derive(Clone, Copy)]
pub(crate) struct Host<'a> {
    pub(crate) env: &'a Env,
    pub(crate) ctx: &'a Context,
}

/// One execution's sandbox side: its bridge function and the gate every call passes.
pub(crate) struct Execution<'a> {
    /// The execution's id, which its upstream calls carry.
    pub(crate) id: &'a str,
    /// The MCP session it belongs to, whose GET streams hear what an abandonment stopped.
    pub(crate) session: Option<&'a str>,
    pub(crate) gate: &'a CallGate,
    /// The [bridge](super::bridge) function handed to the harness.
    pub(crate) bridge: &'a JsValue,
}

/// Loads `code` into a new isolate and runs `request` in it, until it finishes, runs out of
/// time (`timeout_ms`) or `stop` resolves (with the client's reason). A program that returns
/// only after `timeout_ms` (it held the CPU, so the timer could not fire) has overrun.
pub(crate) async fn run_program(
    host: &Host<'_>,
    code: &WorkerCode,
    request: &RunRequest,
    execution: &Execution<'_>,
    stop: impl Future<Output = String>,
    timeout_ms: u32,
) -> Result<Outcome, SandboxError> {
    let Host { env, ctx } = *host;
    let started = now_ms();
    let entrypoint = load(env, code).map_err(SandboxError::Start)?;
    let mut running = Running {
        env,
        ctx,
        execution,
        finished: false,
    };
    let request = to_js(request).map_err(SandboxError::Start)?;
    let promise: Promise = call_method(&entrypoint, "run", &[&request, execution.bridge])
        .map_err(SandboxError::Start)?
        .unchecked_into();
    let deadline = Delay::from(Duration::from_millis(timeout_ms.into()));
    let run = JsFuture::from(promise);
    pin_mut!(stop);
    let finished = select(select(run, deadline), stop).await;
    running.finished = true;
    let error = match finished {
        Either::Left((Either::Left((Ok(outcome), _)), _)) => {
            execution.gate.close("the program returned");
            let ms = now_ms().saturating_sub(started);
            if ms > u64::from(timeout_ms) {
                return Err(SandboxError::Overran {
                    ms,
                    limit: timeout_ms,
                });
            }
            let outcome = outcome.as_string().unwrap_or_default();
            return serde_json::from_str(&outcome).map_err(|e| {
                SandboxError::Crashed(format!("the harness's report is unreadable: {e}"))
            });
        }
        Either::Left((Either::Left((Err(error), _)), _)) => {
            execution.gate.close("the sandbox stopped");
            return Err(SandboxError::Crashed(describe(&error)));
        }
        Either::Left((Either::Right(_), _)) => SandboxError::Timeout(timeout_ms),
        Either::Right((reason, _)) => SandboxError::Cancelled(reason),
    };
    // A cancelled request gets no answer, so only the session's stream can say what stopped;
    // a timed-out one is answered with the error.
    let report = matches!(error, SandboxError::Cancelled(_));
    stop_calls(env.clone(), execution, &error.to_string(), report).await;
    Err(error)
}

/// An execution under way; dropped unfinished (the client closed the response stream, which
/// is how a 2026-07-28 client cancels), it is abandoned in the background.
struct Running<'a> {
    env: &'a Env,
    /// Keeps the request alive for the abandonment when its client has gone.
    ctx: &'a Context,
    execution: &'a Execution<'a>,
    finished: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let reason = "the client closed the connection";
            let stop = stop_calls(self.env.clone(), self.execution, reason, true);
            self.ctx.wait_until(stop);
        }
    }
}

/// Closes the execution's gate, then tells each upstream it had calls in flight to that the
/// calls of the execution are no longer wanted. With `report`, the session's GET streams then
/// hear what was stopped (the request that started it has no one to tell). The future owns
/// what it needs, so it can outlive the request's handler.
fn stop_calls(
    env: Env,
    execution: &Execution<'_>,
    reason: &str,
    report: bool,
) -> impl Future<Output = ()> + 'static {
    let upstreams = execution.gate.close(reason);
    let command = UpstreamCommand::Cancel {
        execution: execution.id.to_owned(),
        reason: reason.to_owned(),
    };
    let session = execution.session.filter(|_| report).map(str::to_owned);
    let event = json!({"event": "execution_abandoned", "execution": execution.id,
                       "reason": reason, "stoppedCallsTo": upstreams});
    async move {
        join_all(upstreams.iter().map(|name| async {
            // Best effort: an unreachable object has no call to stop.
            let _: worker::Result<UpstreamAnswer> =
                ask(&env, UPSTREAM_OBJECTS, name, &command).await;
        }))
        .await;
        let Some(session) = session else {
            return;
        };
        let event = SessionCommand::Publish {
            level: LogLevel::Info,
            data: event,
        };
        // Best effort: the session may have ended with its client.
        let _: worker::Result<usize> = ask(&env, SESSION_OBJECTS, &session, &event).await;
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

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| format!("could not set `{key}`: {}", describe(&e)))
}
