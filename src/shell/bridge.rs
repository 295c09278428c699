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

use super::catalog::forget_listing;
use super::js::now_ms;
use super::lessee::Lessees;
use super::objects::{read_call_answer, send, CallReply};
use crate::execution::objects::Object;
use crate::execution::IsolateRun;
use crate::sandbox::gate::Sent;
use crate::upstream::protocol::UpstreamCommand;

/// The bridge function of `run`: `(namespace, function, argumentsJson)` → a promise of the
/// [`BridgeReply`]'s [wire form](crate::sandbox::protocol::BridgeReply::to_wire). It never
/// rejects. A call goes to the execution's lessee of its upstream's session, or to the
/// upstream's object when that lends none.
pub(crate) fn bridge(env: Env, run: &IsolateRun<'_>, lessees: Rc<Lessees>) -> JsValue {
    // What each call needs, and how many calls have finished.
    let (gate, execution, context) = (run.gate.clone(), run.id.to_owned(), run.context.clone());
    let shared = Rc::new((env, gate, execution, context, Cell::new(0u32), lessees));
    let function = move |namespace: JsValue, function: JsValue, arguments: JsValue| -> Promise {
        let shared = Rc::clone(&shared);
        future_to_promise(async move {
            let (env, gate, execution, context, finished, lessees) = &*shared;
            let [namespace, function, arguments] =
                [namespace, function, arguments].map(|value| value.as_string().unwrap_or_default());
            let call = (namespace.as_str(), function.as_str(), arguments.as_str());
            let forward = |call| {
                // Whether the call went to a lessee, which then gets the call's answers too.
                let lent = Rc::new(Cell::new(false));
                gate.make_call((call, execution), &now_ms, move |object, command| {
                    send_command(env, lessees, &lent, object, command)
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

/// Sends `command` to the lessee of the upstream's `object` (a call, or an answer of a call
/// that went there, as `lent` says), else to the object itself: the answer is the call's reply,
/// or a question its upstream asked. A reply that taught the object a new result type makes
/// the isolate's recent tool list of that object stale, so the next `search` declares what was
/// learned. The future owns what it needs.
fn send_command(
    env: &Env,
    lessees: &Rc<Lessees>,
    lent: &Rc<Cell<bool>>,
    object: &str,
    command: &UpstreamCommand,
) -> impl Future<Output = Result<Sent<CallReply>, String>> + 'static {
    let to_lessee = match command {
        UpstreamCommand::CallTool { .. } => true,
        UpstreamCommand::Answer { .. } | UpstreamCommand::Cancel { .. } => lent.get(),
        _ => false,
    };
    let (env, lessees, lent) = (env.clone(), Rc::clone(lessees), Rc::clone(lent));
    let (object, command) = (object.to_owned(), command.clone());
    async move {
        if to_lessee {
            if let Some(answer) = lessees.answer(&object, command.clone()).await {
                lent.set(true);
                return Ok(lessees.reply(&object, &command, answer));
            }
        }
        lent.set(false);
        let json = serde_json::to_string(&command).map_err(|e| e.to_string())?;
        let answer = send(&env, Object::Upstream(&object), json).await?;
        let answer = read_call_answer(answer).await?;
        if let Sent::Reply(CallReply { taught: true, .. }) = &answer {
            forget_listing(&object);
        }
        Ok(answer)
    }
}
