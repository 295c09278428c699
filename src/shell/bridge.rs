//! The bridge: the one capability a sandboxed program holds, a JavaScript function made by the
//! runner for one execution and handed to the harness's `run` as an RPC stub.
//!
//! Calling the stub from the isolate runs [`call`] here, in the runner, in the request that
//! started the execution. Everything that matters about a call happens on this side, out of
//! the program's reach: the execution's [`CallGate`] resolves the function, applies the
//! counting limits and records the trace; the session and execution the call belongs to are
//! captured when the function is made, so nothing the program sends can claim others. A
//! program that gets hold of the stub itself gains nothing the namespace functions do not give.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use worker::Env;

use super::js::now_ms;
use super::objects::{ask, UPSTREAM_OBJECTS};
use crate::mcp::context::RequestContext;
use crate::sandbox::gate::{CallGate, ToolCall};
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// Whose calls a bridge carries, set by the runner.
pub(crate) struct BridgeOwner {
    /// The execution's id, which names its calls so that cancelling it can stop them.
    pub(crate) execution: String,
    /// The request the execution answers, told of each finished call as progress.
    pub(crate) context: RequestContext,
}

/// The bridge function of one execution: `(namespace, function, argumentsJson)` → a promise
/// of the [`BridgeReply`] as JSON text. It never rejects.
pub(crate) fn bridge(env: Env, gate: CallGate, owner: BridgeOwner) -> JsValue {
    let shared = Rc::new((env, gate, owner, Cell::new(0u32)));
    let function = move |namespace: JsValue, function: JsValue, arguments: JsValue| -> Promise {
        let shared = Rc::clone(&shared);
        future_to_promise(async move {
            let (env, gate, owner, finished) = &*shared;
            let text = |value: JsValue| value.as_string().unwrap_or_default();
            let reply = call(
                env,
                gate,
                owner,
                &text(namespace),
                &text(function),
                &text(arguments),
            )
            .await;
            finished.set(finished.get() + 1);
            owner.context.progress(finished.get(), reply.1);
            Ok(JsValue::from_str(&reply.0))
        })
    };
    Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Promise>::new(function).into_js_value()
}

/// One call through the gate to the upstream's object: the reply as JSON text, and a line for
/// the client's progress display.
async fn call(
    env: &Env,
    gate: &CallGate,
    owner: &BridgeOwner,
    namespace: &str,
    function: &str,
    arguments: &str,
) -> (String, String) {
    let (reply, permit) = match gate.admit(namespace, function, arguments, now_ms()).await {
        Ok((permit, call)) => (forward(env, &owner.execution, call).await, Some(permit)),
        Err(refusal) => (refusal, None),
    };
    let json = serde_json::to_string(&reply).unwrap_or_else(|e| {
        serde_json::to_string(&BridgeReply::Error {
            kind: ToolErrorKind::UpstreamProtocolError,
            message: format!("the upstream's answer could not be passed on: {e}"),
        })
        .unwrap_or_default()
    });
    let summary = match permit {
        Some(permit) => permit.finish(&reply, json.len(), now_ms()).summary(),
        None => format!("{namespace}.{function} was refused"),
    };
    (json, summary)
}

/// Asks the upstream's object to make `call`.
async fn forward(env: &Env, execution: &str, call: ToolCall) -> BridgeReply {
    let refuse = |kind, message: String| BridgeReply::Error { kind, message };
    let command = UpstreamCommand::CallTool {
        name: call.tool,
        arguments: Some(call.arguments),
        execution: Some(execution.to_owned()),
    };
    match ask::<_, UpstreamAnswer>(env, UPSTREAM_OBJECTS, &call.upstream, &command).await {
        Ok(UpstreamAnswer::ToolResult { result }) => BridgeReply::from_tool_result(result),
        Ok(UpstreamAnswer::InvalidArguments { detail }) => refuse(
            ToolErrorKind::InvalidArguments,
            format!("the arguments do not match the tool's input schema: {detail}"),
        ),
        Ok(UpstreamAnswer::NotPermitted { detail }) => refuse(ToolErrorKind::NotPermitted, detail),
        Ok(UpstreamAnswer::Failed { error }) => {
            refuse(ToolErrorKind::of(&error), error.to_string())
        }
        Ok(
            UpstreamAnswer::Tools { .. }
            | UpstreamAnswer::Pending { .. }
            | UpstreamAnswer::Cancelled { .. }
            | UpstreamAnswer::Status { .. },
        ) => refuse(
            ToolErrorKind::UpstreamProtocolError,
            "the upstream's object answered out of turn".into(),
        ),
        Err(e) => refuse(
            ToolErrorKind::UpstreamUnreachable,
            format!("the upstream's object failed: {e}"),
        ),
    }
}
