//! The runner's Durable Objects, reached through their bindings: a command's JSON in a POST.
//!
//! A tool call is answered in the form the isolate takes: the [`BridgeReply`]'s
//! [wire form](BridgeReply::to_wire), passed through the Worker as a JavaScript string that
//! never enters wasm memory, so a result of many megabytes is parsed and written once, in the
//! upstream's object.

use std::future::Future;

use js_sys::{JsString, Promise};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Env, Request, Response};

use super::js::describe;
use crate::execution::objects::Object;
use crate::sandbox::gate::{HeldReply, Sent};
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};
use crate::upstream::protocol::UpstreamAnswer;

#[wasm_bindgen]
extern "C" {
    /// A Durable Object's stub, called with the runtime's own `fetch(url, init)`: `worker`'s
    /// `Request` and `Response` wrappers are wasm every execution would compile again, for
    /// what is one POST of a string here.
    type ObjectStub;

    #[wasm_bindgen(method, catch)]
    fn fetch(this: &ObjectStub, url: &str, init: &web_sys::RequestInit)
        -> Result<Promise, JsValue>;
}

/// Sends `command` to `object`, for its answer unread. The future owns what it needs, so it
/// can finish after the request.
pub(crate) fn send(
    env: &Env,
    object: Object<'_>,
    command: String,
) -> impl Future<Output = Result<web_sys::Response, String>> + 'static {
    let binding = object.binding();
    let path = utf8_percent_encode(object.name(), NON_ALPHANUMERIC);
    let url = format!("https://{binding}.internal/{path}");
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from(command));
    let stub = env
        .durable_object(binding)
        .and_then(|n| n.get_by_name(object.name()))
        .map_err(|e| e.to_string());
    let sent = stub.and_then(|stub| {
        (stub.into_rpc::<ObjectStub>().fetch(&url, &init)).map_err(|e| describe(&e))
    });
    async move {
        let answer = JsFuture::from(sent?).await.map_err(|e| describe(&e))?;
        Ok(answer.unchecked_into())
    }
}

/// Sends `command` to `object`, for its answer as text. The runtime reads the body in one call:
/// `worker`'s own reader takes a streamed body a piece at a time, each a promise and a copy
/// into wasm. The future owns what it needs.
pub(crate) fn ask_text(
    env: &Env,
    object: Object<'_>,
    command: String,
) -> impl Future<Output = Result<String, String>> + 'static {
    let sent = send(env, object, command);
    async move {
        let text = sent.await?.text().map_err(|e| describe(&e))?;
        let text = JsFuture::from(text).await.map_err(|e| describe(&e))?;
        text.as_string()
            .ok_or_else(|| "the object's answer is not text".to_owned())
    }
}

/// Sends `command` to `object`, for its answer read as JSON.
pub(crate) async fn ask_json<T: DeserializeOwned>(
    env: &Env,
    object: Object<'_>,
    command: &impl Serialize,
) -> Result<T, String> {
    let command = serde_json::to_string(command).map_err(|e| e.to_string())?;
    let text = ask_text(env, object, command).await?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The command of a request of [`send`], as its object reads it: the body's text parsed in
/// wasm. `Request::json` parses in JavaScript, then reads the value into Rust a piece at a
/// time, each piece a call across the boundary.
pub(crate) async fn read_command<T: DeserializeOwned>(req: &mut Request) -> worker::Result<T> {
    let text = req.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| worker::Error::RustError(format!("the command is unreadable: {e}")))
}

/// The name of the object a request of [`send`] went to, from its path.
pub(crate) fn object_of_path(path: &str) -> String {
    let encoded = path.trim_start_matches('/');
    percent_decode_str(encoded).decode_utf8_lossy().into_owned()
}

/// The header of an upstream object's answer to a call that names the call's error class;
/// absent when the call returned a value.
const CALL_ERROR_HEADER: &str = "Call-Error";
/// The header of an upstream object's answer to a call whose upstream asked a question: the
/// body is the [`UpstreamAnswer::Asked`], not the call's reply.
const CALL_QUESTION_HEADER: &str = "Call-Question";
/// The header of an upstream object's answer to a call whose result taught it a new type of
/// the tool's results: the Worker's recent tool list of that object is stale.
const CALL_TAUGHT_HEADER: &str = "Call-Taught";

/// A tool call's reply as the bridge hands it to the isolate: its wire form in a JS string.
pub(crate) struct CallReply {
    /// The [`BridgeReply`]'s [wire form](BridgeReply::to_wire).
    pub(crate) wire: JsString,
    /// Why the call failed, or `None` when it returned a value.
    pub(crate) error: Option<ToolErrorKind>,
    /// Whether the upstream's object learned a new type of the tool's results from it.
    pub(crate) taught: bool,
}

impl HeldReply for CallReply {
    fn of(reply: &BridgeReply) -> Self {
        Self {
            wire: JsString::from(reply.to_wire()),
            error: reply.error_kind(),
            taught: false,
        }
    }

    fn error(&self) -> Option<ToolErrorKind> {
        self.error
    }

    fn chars(&self) -> usize {
        usize::try_from(self.wire.length()).unwrap_or(usize::MAX)
    }

    fn wire(&self) -> String {
        String::from(&self.wire)
    }
}

/// An upstream object's answer to a call: `reply`'s wire form as the body, its error class and
/// whether it `taught` the object a new result type in headers.
pub(crate) fn call_answer(reply: &BridgeReply, taught: bool) -> worker::Result<Response> {
    let mut response = Response::from_bytes(reply.to_wire().into_bytes())?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "text/plain; charset=utf-8")?;
    if let Some(kind) = reply.error_kind() {
        headers.set(CALL_ERROR_HEADER, &kind.name())?;
    }
    if taught {
        headers.set(CALL_TAUGHT_HEADER, "1")?;
    }
    Ok(response)
}

/// An upstream object's answer to a call whose upstream asked a question: the question, with
/// a header saying so.
pub(crate) fn question_answer(asked: &UpstreamAnswer) -> worker::Result<Response> {
    let mut response = Response::from_json(asked)?;
    response.headers_mut().set(CALL_QUESTION_HEADER, "1")?;
    Ok(response)
}

/// Reads an upstream object's [`call_answer`] (the body stays a JS string), or its
/// [`question_answer`].
pub(crate) async fn read_call_answer(
    response: web_sys::Response,
) -> Result<Sent<CallReply>, String> {
    if response.status() != 200 {
        return Err(format!("it answered HTTP {}", response.status()));
    }
    let headers = response.headers();
    let has = |name| headers.has(name).unwrap_or(false);
    let body = response.text().map_err(|e| describe(&e))?;
    let body = JsFuture::from(body)
        .await
        .map_err(|e| describe(&e))?
        .dyn_into::<JsString>()
        .map_err(|_| "its body is not text".to_owned())?;
    if has(CALL_QUESTION_HEADER) {
        return match serde_json::from_str::<UpstreamAnswer>(&String::from(&body)) {
            Ok(UpstreamAnswer::Asked {
                call,
                method,
                params,
            }) => Ok(Sent::Asked {
                call,
                method,
                params,
            }),
            _ => Err("its question could not be read".to_owned()),
        };
    }
    let header = headers.get(CALL_ERROR_HEADER).map_err(|e| describe(&e))?;
    let error = header.as_deref().map(ToolErrorKind::named).transpose();
    let error = error.map_err(|e| e.to_string())?;
    Ok(Sent::Reply(CallReply {
        wire: body,
        error,
        taught: has(CALL_TAUGHT_HEADER),
    }))
}
