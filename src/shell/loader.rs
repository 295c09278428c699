//! Running a program in a fresh dynamic isolate through the Worker Loader binding.
//!
//! `LOADER.load()` is used rather than `LOADER.get(id)`: every execution gets a new isolate, so
//! nothing one program leaves behind (globals, prototypes, timers) is seen by the next.
//! The isolate's `env` is empty. Its one capability, the [bridge](super::bridge) function, is
//! an argument of the harness's `run`; every call through it passes the execution's gate in
//! this Worker. `globalOutbound` is JS `null`: leaving it out, or passing `undefined`, lets the
//! isolate reach the network. When a run ends, and what it stops, is decided by the
//! [execution](crate::execution) module.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use super::js::{call_method, describe, property, to_js};
use crate::execution::SandboxError;
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::sandbox::protocol::Outcome;

/// The Worker Loader binding's name in wrangler.toml.
const LOADER_BINDING: &str = "LOADER";

/// Loads `code` into a new isolate and runs `request` in it with `bridge` as its one
/// capability, to the harness's report.
pub(crate) async fn run_program(
    env: &Env,
    code: &WorkerCode,
    request: &RunRequest,
    bridge: &JsValue,
) -> Result<Outcome, SandboxError> {
    let entrypoint = load(env, code).map_err(SandboxError::Start)?;
    let request = to_js(request).map_err(SandboxError::Start)?;
    let promise: Promise = call_method(&entrypoint, "run", &[&request, bridge])
        .map_err(SandboxError::Start)?
        .unchecked_into();
    let report = JsFuture::from(promise)
        .await
        .map_err(|error| SandboxError::Crashed(describe(&error)))?;
    serde_json::from_str(&report.as_string().unwrap_or_default())
        .map_err(|e| SandboxError::Crashed(format!("the harness's report is unreadable: {e}")))
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
