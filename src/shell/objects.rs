//! Asking a Durable Object something: a JSON command in a POST, a JSON answer back.
//!
//! A tool call is answered in the form the isolate takes: the [`BridgeReply`]'s JSON, passed
//! through the Worker as a JavaScript string that never enters wasm memory, so a result of
//! many megabytes is parsed and written once, in the upstream's object.

use js_sys::JsString;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Env, Method, Request, RequestInit, Response};

use super::js::describe;
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};

/// The binding of the per-session objects.
pub(crate) const SESSION_OBJECTS: &str = "SESSION_OBJECTS";
/// The binding of the per-upstream objects.
pub(crate) const UPSTREAM_OBJECTS: &str = "UPSTREAM_OBJECTS";
/// The binding of the ledger object (audit log).
pub(crate) const LEDGER: &str = "LEDGER";

/// Sends `command` to the object named `name` in namespace `binding` and reads its answer.
pub(crate) async fn ask<C: Serialize, A: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    command: &C,
) -> worker::Result<A> {
    send(env, binding, name, command).await?.json().await
}

/// Sends `command` to the object named `name` in namespace `binding`; its answer unread.
pub(crate) async fn send<C: Serialize>(
    env: &Env,
    binding: &str,
    name: &str,
    command: &C,
) -> worker::Result<Response> {
    let stub = env.durable_object(binding)?.get_by_name(name)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(command)?.into()));
    let request = Request::new_with_init(&format!("https://{binding}.internal/{name}"), &init)?;
    stub.fetch_with_request(request).await
}

/// The header of an upstream object's answer to a call that names the call's error class;
/// absent when the call returned a value.
const CALL_ERROR_HEADER: &str = "Call-Error";

/// A tool call's reply as the bridge hands it to the isolate: JSON text in a JS string.
pub(crate) struct CallReply {
    /// The [`BridgeReply`]'s JSON.
    pub(crate) json: JsString,
    /// Why the call failed, or `None` when it returned a value.
    pub(crate) error: Option<ToolErrorKind>,
}

impl CallReply {
    /// `reply`, written here.
    pub(crate) fn of(reply: &BridgeReply) -> Self {
        match serde_json::to_string(reply) {
            Ok(json) => Self {
                json: JsString::from(json),
                error: reply.error_kind(),
            },
            // An error reply holds only strings, so it is always written.
            Err(e) => Self::of(&BridgeReply::Error {
                kind: ToolErrorKind::UpstreamProtocolError,
                message: format!("the reply could not be written: {e}"),
            }),
        }
    }
}

/// An upstream object's answer to a call: `reply`'s JSON as the body, its error class in a
/// header.
pub(crate) fn call_answer(reply: &BridgeReply) -> worker::Result<Response> {
    let mut response = Response::from_bytes(serde_json::to_vec(reply)?)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "application/json")?;
    if let Some(Value::String(kind)) = reply
        .error_kind()
        .map(serde_json::to_value)
        .and_then(Result::ok)
    {
        headers.set(CALL_ERROR_HEADER, &kind)?;
    }
    Ok(response)
}

/// Reads an upstream object's [`call_answer`]; the body stays a JS string.
pub(crate) async fn read_call_answer(response: Response) -> Result<CallReply, String> {
    if response.status_code() != 200 {
        return Err(format!("it answered HTTP {}", response.status_code()));
    }
    let error = match response
        .headers()
        .get(CALL_ERROR_HEADER)
        .map_err(|e| e.to_string())?
    {
        Some(kind) => Some(
            serde_json::from_value(Value::String(kind.clone()))
                .map_err(|_| format!("it named an unknown error class `{kind}`"))?,
        ),
        None => None,
    };
    let body = web_sys::Response::from(response)
        .text()
        .map_err(|e| describe(&e))?;
    let json = JsFuture::from(body)
        .await
        .map_err(|e| describe(&e))?
        .dyn_into::<JsString>()
        .map_err(|_| "its body is not text".to_owned())?;
    Ok(CallReply { json, error })
}
