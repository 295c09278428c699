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
use super::objects::{read_call_answer, send, CallReply};
use crate::execution::objects::Object;
use crate::execution::IsolateRun;
use crate::sandbox::gate::{CallGate, ToolCall};
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};
use crate::upstream::protocol::UpstreamCommand;

/// The bridge function of `run`: `(namespace, function, argumentsJson)` → a promise of the
/// [`BridgeReply`] as JSON text. It never rejects.
pub(crate) fn bridge(env: Env, run: &IsolateRun<'_>) -> JsValue {
    let owner = (
        env,
        run.gate.clone(),
        run.id.to_owned(),
        run.context.clone(),
    );
    let shared = Rc::new((owner, Cell::new(0u32)));
    let function = move |namespace: JsValue, function: JsValue, arguments: JsValue| -> Promise {
        let shared = Rc::clone(&shared);
        future_to_promise(async move {
            let ((env, gate, execution, context), finished) = &*shared;
            let [namespace, function, arguments] =
                [namespace, function, arguments].map(|value| value.as_string().unwrap_or_default());
            let (reply, summary) =
                call(env, gate, execution, &namespace, &function, &arguments).await;
            finished.set(finished.get() + 1);
            context.progress(finished.get(), summary);
            Ok(reply.into())
        })
    };
    Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Promise>::new(function).into_js_value()
}

/// One call of `execution` through its gate to the upstream's object: the reply's JSON, and a
/// line for the client's progress display.
async fn call(
    env: &Env,
    gate: &CallGate,
    execution: &str,
    namespace: &str,
    function: &str,
    arguments: &str,
) -> (JsString, String) {
    match gate.admit(namespace, function, arguments, now_ms()).await {
        Ok((permit, call)) => {
            let reply = forward(env, execution, call).await;
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

/// Asks the upstream's object to make `call` for `execution`.
async fn forward(env: &Env, execution: &str, call: ToolCall) -> CallReply {
    let command = UpstreamCommand::CallTool {
        name: call.tool,
        arguments: Some(call.arguments),
        execution: Some(execution.to_owned()),
    };
    let answer = async {
        let json = serde_json::to_string(&command).map_err(|e| e.to_string())?;
        let sent = send(env, Object::Upstream(&call.upstream), json).await;
        read_call_answer(sent.map_err(|e| e.to_string())?).await
    };
    answer.await.unwrap_or_else(|e| {
        CallReply::of(&BridgeReply::Error {
            kind: ToolErrorKind::UpstreamUnreachable,
            message: format!("the upstream's object failed: {e}"),
        })
    })
}
