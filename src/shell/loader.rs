//! Running a program in a fresh dynamic isolate through the Worker Loader binding.
//!
//! `LOADER.load()` is used rather than `LOADER.get(id)`: every execution gets a new isolate, so
//! nothing one program leaves behind (globals, prototypes, timers) is seen by the next.
//! The isolate's `env` holds exactly one binding, `BRIDGE`, a stub to this Worker's `Bridge`
//! entrypoint whose props (the [`Grant`]) only the runner sets. `globalOutbound` is JS `null`:
//! leaving it out, or passing `undefined`, lets the isolate reach the network.
//!
//! An execution that runs out of time or is cancelled is abandoned: the harness is told to
//! refuse further tool calls and settle the ones in flight, and names their upstreams so the
//! runner can stop those calls too.

use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};
use futures::pin_mut;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Delay, Env};

use super::js::{call_method, describe, from_js, property, to_js};
use crate::sandbox::limits::EXECUTION_TIMEOUT_MS;
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::sandbox::protocol::{Grant, Outcome};

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
    #[error("the program did not finish within {ms} ms and was abandoned")]
    Timeout {
        ms: u32,
        /// Upstreams with calls in flight when it was abandoned.
        in_flight: Vec<String>,
    },
    #[error("the client cancelled the execution ({reason})")]
    Cancelled {
        reason: String,
        /// Upstreams with calls in flight when it was abandoned.
        in_flight: Vec<String>,
    },
    #[error("the sandbox stopped unexpectedly: {0}")]
    Crashed(String),
}

impl SandboxError {
    /// The upstreams whose calls from the abandoned program are still running.
    pub(crate) fn in_flight(&self) -> &[String] {
        match self {
            Self::Timeout { in_flight, .. } | Self::Cancelled { in_flight, .. } => in_flight,
            Self::Start(_) | Self::Crashed(_) => &[],
        }
    }
}

/// Loads `code` into a new isolate and runs `request` in it, until it finishes, runs out of
/// time or `stop` resolves (with the client's reason). `on_call`, when given, is called by
/// the harness after each tool call with a [`CallTrace`](crate::sandbox::protocol::CallTrace).
pub(crate) async fn run_program(
    env: &Env,
    exports: &JsValue,
    code: &WorkerCode,
    request: &RunRequest,
    grant: &Grant,
    on_call: Option<&Function>,
    stop: impl Future<Output = String>,
) -> Result<Outcome, SandboxError> {
    let entrypoint = load(env, exports, code, grant).map_err(SandboxError::Start)?;
    let request = to_js(request).map_err(SandboxError::Start)?;
    let on_call = on_call.map_or(JsValue::UNDEFINED, |f| f.clone().into());
    let promise: Promise = call_method(&entrypoint, "run", &[&request, &on_call])
        .map_err(SandboxError::Start)?
        .unchecked_into();
    let deadline = Delay::from(Duration::from_millis(EXECUTION_TIMEOUT_MS.into()));
    let run = JsFuture::from(promise);
    pin_mut!(stop);
    let reason = match select(select(run, deadline), stop).await {
        Either::Left((Either::Left((Ok(outcome), _)), _)) => {
            return from_js(outcome).map_err(SandboxError::Crashed)
        }
        Either::Left((Either::Left((Err(error), _)), _)) => {
            return Err(SandboxError::Crashed(describe(&error)))
        }
        Either::Left((Either::Right(_), _)) => None,
        Either::Right((reason, _)) => Some(reason),
    };
    let why = reason
        .clone()
        .unwrap_or_else(|| format!("the execution exceeded its {EXECUTION_TIMEOUT_MS} ms limit"));
    let in_flight = abandon(&entrypoint, &why).await;
    Err(match reason {
        Some(reason) => SandboxError::Cancelled { reason, in_flight },
        None => SandboxError::Timeout {
            ms: EXECUTION_TIMEOUT_MS,
            in_flight,
        },
    })
}

/// Tells the harness the execution is over; returns the upstreams it had calls in flight to.
async fn abandon(entrypoint: &JsValue, reason: &str) -> Vec<String> {
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

/// The harness entrypoint of a freshly loaded isolate.
fn load(env: &Env, exports: &JsValue, code: &WorkerCode, grant: &Grant) -> Result<JsValue, String> {
    let loader = property(env, LOADER_BINDING)?;
    let bridge = {
        let options = Object::new();
        set(&options, "props", &to_js(grant)?)?;
        call_method(exports, BRIDGE_ENTRYPOINT, &[&options])?
    };
    let isolate_env = Object::new();
    set(&isolate_env, "BRIDGE", &bridge)?;
    let worker_code = to_js(code)?;
    set(&worker_code, "env", &isolate_env)?;
    set(&worker_code, "globalOutbound", &JsValue::NULL)?;
    let worker = call_method(&loader, "load", &[&worker_code])?;
    call_method(&worker, "getEntrypoint", &[])
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| format!("could not set `{key}`: {}", describe(&e)))
}
