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

use js_sys::{JsString, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use worker::Env;

use super::js::now_ms;
use super::objects::{read_call_answer, send, CallReply, UPSTREAM_OBJECTS};
use crate::mcp::context::RequestContext;
use crate::sandbox::gate::{CallGate, ToolCall};
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};
use crate::upstream::protocol::UpstreamCommand;

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
            Ok(reply.0.into())
        })
    };
    Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Promise>::new(function).into_js_value()
}

/// One call through the gate to the upstream's object: the reply's JSON, and a line for the
/// client's progress display.
async fn call(
    env: &Env,
    gate: &CallGate,
    owner: &BridgeOwner,
    namespace: &str,
    function: &str,
    arguments: &str,
) -> (JsString, String) {
    match gate.admit(namespace, function, arguments, now_ms()).await {
        Ok((permit, call)) => {
            let reply = forward(env, &owner.execution, call).await;
            let chars = usize::try_from(reply.json.length()).unwrap_or(usize::MAX);
            let trace = permit.finish(reply.error, chars, now_ms());
            (reply.json, trace.summary())
        }
        Err(refusal) => (
            CallReply::of(&refusal).json,
            format!("{namespace}.{function} was refused"),
        ),
    }
}

/// Asks the upstream's object to make `call`.
async fn forward(env: &Env, execution: &str, call: ToolCall) -> CallReply {
    let command = UpstreamCommand::CallTool {
        name: call.tool,
        arguments: Some(call.arguments),
        execution: Some(execution.to_owned()),
    };
    let answer = match send(env, UPSTREAM_OBJECTS, &call.upstream, &command).await {
        Ok(response) => read_call_answer(response).await,
        Err(e) => Err(e.to_string()),
    };
    answer.unwrap_or_else(|e| {
        CallReply::of(&BridgeReply::Error {
            kind: ToolErrorKind::UpstreamUnreachable,
            message: format!("the upstream's object failed: {e}"),
        })
    })
}
