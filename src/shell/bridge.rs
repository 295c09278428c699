//! The bridge: the one capability a sandboxed program holds, a JavaScript function made by the
//! runner for one execution and handed to the harness's `run` as an RPC stub.
//!
//! Calling the stub from the isolate runs the function here, in the runner, in the request
//! that started the execution. Everything that matters about a call happens on this side, out
//! of the program's reach: the execution's [gate](crate::sandbox::gate) resolves the function,
//! applies the counting limits and records the trace; the session and execution the call
//! belongs to are captured when the function is made, so nothing the program sends can claim
//! others. A program that gets hold of the stub itself gains nothing the namespace functions
//! do not give.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use worker::Env;

use super::catalog::RECENT_LISTS;
use super::js::now_ms;
use super::objects::{read_call_answer, send, CallReply};
use crate::execution::objects::Object;
use crate::execution::IsolateRun;
use crate::sandbox::gate::Sent;
use crate::upstream::protocol::UpstreamCommand;

/// The bridge function of `run`: `(namespace, function, argumentsJson)` → a promise of the
/// [`BridgeReply`]'s [wire form](crate::sandbox::protocol::BridgeReply::to_wire). It never
/// rejects.
pub(crate) fn bridge(env: Env, run: &IsolateRun<'_>) -> JsValue {
    // What each call needs, and how many calls have finished.
    let (gate, execution, context) = (run.gate.clone(), run.id.to_owned(), run.context.clone());
    let shared = Rc::new((env, gate, execution, context, Cell::new(0u32)));
    let function = move |namespace: JsValue, function: JsValue, arguments: JsValue| -> Promise {
        let shared = Rc::clone(&shared);
        future_to_promise(async move {
            let (env, gate, execution, context, finished) = &*shared;
            let [namespace, function, arguments] =
                [namespace, function, arguments].map(|value| value.as_string().unwrap_or_default());
            let call = (namespace.as_str(), function.as_str(), arguments.as_str());
            let forward = |call| {
                gate.make_call((call, execution), &now_ms, |object, command| {
                    send_command(env, object, command)
                })
            };
            let (reply, summary): (CallReply, _) = gate.pass(call, now_ms, forward).await;
            finished.set(finished.get() + 1);
            context.progress(finished.get(), summary);
            Ok(reply.wire.into())
        })
    };
    Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Promise>::new(function).into_js_value()
}

/// Sends `command` to the upstream's `object`: the answer is the call's reply, or a question
/// its upstream asked. A reply that taught the object a new result type makes the isolate's
/// recent tool list of that object stale, so the next `search` declares what was learned.
/// The future owns what it needs.
fn send_command(
    env: &Env,
    object: &str,
    command: &UpstreamCommand,
) -> impl Future<Output = Result<Sent<CallReply>, String>> + 'static {
    let json = serde_json::to_string(command).map_err(|e| e.to_string());
    let sent = json.map(|json| send(env, Object::Upstream(object), json));
    let object = object.to_owned();
    async move {
        let answer = sent?.await?;
        let answer = read_call_answer(answer).await?;
        if let Sent::Reply(CallReply { taught: true, .. }) = &answer {
            RECENT_LISTS.with(|recent| recent.borrow_mut().forget(&object));
        }
        Ok(answer)
    }
}
