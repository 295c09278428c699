//! Running a program in a fresh dynamic isolate through the Worker Loader binding.
//!
//! `LOADER.load()` is used rather than `LOADER.get(id)`: every execution gets a new isolate, so
//! nothing one program leaves behind (globals, prototypes, timers) is seen by the next.
//! The isolate's `env` holds exactly one binding, `BRIDGE`, a stub to this Worker's `Bridge`
//! entrypoint whose props (the [`Grant`]) only the runner sets. `globalOutbound` is JS `null`:
//! leaving it out, or passing `undefined`, lets the isolate reach the network.

use futures::future::{select, Either};
use js_sys::{Object, Promise, Reflect};
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

/// Why a program could not be run (as opposed to failing while running).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SandboxError {
    #[error("the sandbox could not start: {0}")]
    Start(String),
    #[error("the program did not finish within {0} ms and was abandoned")]
    Timeout(u32),
    #[error("the sandbox stopped unexpectedly: {0}")]
    Crashed(String),
}

/// Loads `code` into a new isolate, runs `request` in it and returns the harness's outcome.
pub(crate) async fn run_program(
    env: &Env,
    exports: &JsValue,
    code: &WorkerCode,
    request: &RunRequest,
    grant: &Grant,
) -> Result<Outcome, SandboxError> {
    let entrypoint = load(env, exports, code, grant).map_err(SandboxError::Start)?;
    let request = to_js(request).map_err(SandboxError::Start)?;
    let promise: Promise = call_method(&entrypoint, "run", &request)
        .map_err(SandboxError::Start)?
        .unchecked_into();
    let deadline = Delay::from(std::time::Duration::from_millis(
        EXECUTION_TIMEOUT_MS.into(),
    ));
    match select(JsFuture::from(promise), deadline).await {
        Either::Left((Ok(outcome), _)) => from_js(outcome).map_err(SandboxError::Crashed),
        Either::Left((Err(error), _)) => Err(SandboxError::Crashed(describe(&error))),
        Either::Right(_) => Err(SandboxError::Timeout(EXECUTION_TIMEOUT_MS)),
    }
}

/// The harness entrypoint of a freshly loaded isolate.
fn load(env: &Env, exports: &JsValue, code: &WorkerCode, grant: &Grant) -> Result<JsValue, String> {
    let loader = property(env, LOADER_BINDING)?;
    let bridge = {
        let options = Object::new();
        set(&options, "props", &to_js(grant)?)?;
        call_method(exports, BRIDGE_ENTRYPOINT, &options)?
    };
    let isolate_env = Object::new();
    set(&isolate_env, "BRIDGE", &bridge)?;
    let worker_code = to_js(code)?;
    set(&worker_code, "env", &isolate_env)?;
    set(&worker_code, "globalOutbound", &JsValue::NULL)?;
    let worker = call_method(&loader, "load", &worker_code)?;
    call_method(&worker, "getEntrypoint", &JsValue::UNDEFINED)
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| format!("could not set `{key}`: {}", describe(&e)))
}
