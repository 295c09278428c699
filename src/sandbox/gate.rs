//! The trusted side of an execution's tool calls: every call the program makes passes this
//! gate, which lives in the runner, out of the program's reach.
//!
//! The harness shares its isolate with the program, so whatever it counts or records can be
//! rewritten by a program that tampers with built-ins. The gate is what the runner believes:
//! it resolves `namespace.function` to an upstream tool through the execution's [`Manifest`]
//! (a function the execution was not given does not exist), refuses calls past
//! `maxToolCalls` and arguments past `maxArgumentBytes`, holds calls past
//! `maxConcurrentToolCalls` until a slot frees (first come, first served), and records the
//! trace the `execute` result and the audit entry are made of. A call of a tool the operator's
//! policy makes wait for approval is handed over as an [`ApprovalAsk`](super::asks::ApprovalAsk) and made only with the
//! person's approval, which goes with it to the upstream's object; what an upstream asks the
//! person during a call is handed over the same way ([`questions`]). Once the execution is over
//! the gate is closed and every later call is refused.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use serde_json::{Map, Value};

use super::asks::{Ask, Asks, Refusal, Waiting};
use super::limits::{ExecutionLimits, Limit};
use super::program::Manifest;
use super::protocol::{BridgeReply, CallTrace, QuestionTrace, ToolErrorKind};
use super::replay::Rerun;
use crate::config::Accounts;
use crate::protocol::approval::Approval;
use crate::protocol::person::Person;
use crate::upstream::protocol::UpstreamCommand;

/// One tool call a program asked for, resolved to the upstream tool it names.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The upstream (its namespace in the program).
    pub upstream: String,
    /// The object that holds the upstream's session for the person (see [`Accounts`]).
    pub object: String,
    /// The upstream's MCP tool name.
    pub tool: String,
    /// The arguments, a JSON object.
    pub arguments: Map<String, Value>,
    /// Who the execution runs for.
    pub person: Option<Person>,
    /// Their approval, for a tool that needs one.
    pub approval: Option<Approval>,
}

impl ToolCall {
    /// The upstream to ask, and the command that makes this call there on behalf of
    /// `execution` (which cancelling it names).
    pub fn into_command(self, execution: &str) -> (String, UpstreamCommand) {
        let command = UpstreamCommand::CallTool {
            name: self.tool,
            arguments: Some(self.arguments),
            execution: Some(execution.to_owned()),
            person: self.person,
            approval: self.approval,
        };
        (self.object, command)
    }
}

/// What the gate recorded of an execution's tool calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallRecord {
    /// The first `maxToolCalls` calls, in the order they finished (refused ones included).
    pub calls: Vec<CallTrace>,
    /// Every call the program attempted, refused ones included.
    pub calls_total: usize,
    /// Characters the calls returned to the program, all together: a text as itself, any
    /// other value as its JSON.
    pub call_result_chars: usize,
    /// The limits that refused a call.
    pub limits_hit: BTreeSet<Limit>,
    /// What upstreams asked the person during calls, in order.
    pub questions: Vec<QuestionTrace>,
}

/// The gate of one execution; clones share it.
#[derive(Clone)]
pub struct CallGate {
    inner: Rc<Inner>,
}

struct Inner {
    manifest: Manifest,
    limits: ExecutionLimits,
    /// Who the execution runs for: every call carries them to the upstream's object.
    person: Option<Person>,
    /// Which object holds each upstream's session for them.
    accounts: Accounts,
    /// Where calls that need approval are handed over.
    asks: mpsc::UnboundedSender<Ask>,
    /// How a stateless run is recorded and replayed, when it may be resumed.
    resumption: RefCell<Option<resumption::Resumption>>,
    /// Where an invalid call's declared arguments are found.
    signatures: RefCell<Option<Signatures>>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Calls attempted so far; each counts toward `maxToolCalls`.
    attempted: u32,
    /// Calls holding a concurrency slot.
    active: u32,
    /// Calls waiting for a slot, first come first served.
    queued: VecDeque<oneshot::Sender<()>>,
    /// Admitted calls not yet finished: id → upstream.
    in_flight: BTreeMap<u64, String>,
    next_id: u64,
    record: CallRecord,
    /// Why the execution is over, once it is.
    closed: Option<String>,
    /// The time calls spent waiting for approval.
    waiting: Waiting,
}

/// A tool call's reply in whatever form the bridge holds it (the Worker keeps its JSON out of
/// wasm memory), measured by the gate.
pub trait HeldReply {
    /// `reply`, held.
    fn of(reply: &BridgeReply) -> Self;
    /// Why the call failed, or `None` when it returned a value.
    fn error(&self) -> Option<ToolErrorKind>;
    /// The length of its [wire form](BridgeReply::to_wire), in characters.
    fn chars(&self) -> usize;
    /// Its [wire form](BridgeReply::to_wire), to record for a rerun.
    fn wire(&self) -> String;
}

/// A call the gate admitted; it holds one concurrency slot until it is finished or dropped.
pub struct Permit {
    gate: CallGate,
    id: u64,
    /// `namespace.function`, as the trace names it.
    name: String,
    started_ms: u64,
    /// The person's approval, when the call needed one.
    approval: Option<Approval>,
}

impl CallGate {
    /// The gate of an execution for `person` given `manifest`'s functions, within `limits`;
    /// its calls go to the objects `accounts` names. Calls that need approval come out of the
    /// asks returned with it; with those dropped, such calls are refused.
    pub fn new(
        manifest: Manifest,
        limits: ExecutionLimits,
        person: Option<Person>,
        accounts: Accounts,
    ) -> (Self, Asks) {
        let (asks, approvals) = mpsc::unbounded();
        let inner = Rc::new(Inner {
            manifest,
            limits,
            person,
            accounts,
            asks,
            resumption: RefCell::new(None),
            signatures: RefCell::new(None),
            state: RefCell::new(State::default()),
        });
        (Self { inner }, approvals)
    }

    /// Admits a call of `namespace.function` with `arguments` (JSON text), timed by `clock`, or
    /// refuses it with the reply the program gets. Waits for a person's approval when the tool
    /// needs one, then while `maxConcurrentToolCalls` calls are in flight.
    pub async fn admit(
        &self,
        namespace: &str,
        function: &str,
        arguments: &str,
        clock: impl Fn() -> u64,
    ) -> Result<(Permit, ToolCall), BridgeReply> {
        self.admit_decided((namespace, function, arguments), &clock, None)
            .await
    }

    /// [`admit`](Self::admit), with the person's `decided` answer when a rerun brought it.
    async fn admit_decided(
        &self,
        (namespace, function, arguments): (&str, &str, &str),
        clock: &impl Fn() -> u64,
        decided: Option<Result<Approval, Refusal>>,
    ) -> Result<(Permit, ToolCall), BridgeReply> {
        let started_ms = clock();
        let name = format!("{namespace}.{function}");
        let (mut call, needs_approval) = match self.check(namespace, function, arguments) {
            Ok(checked) => checked,
            Err((refusal, limit)) => return Err(self.refuse(name, refusal, limit)),
        };
        if needs_approval {
            let approval = match decided {
                Some(decided) => decided,
                None => self.approval(function, &call, clock).await,
            };
            match approval {
                Ok(approval) => call.approval = Some(approval),
                Err(Refusal::Wanted(question)) => {
                    return Err(self.wait_for_person(name, arguments, question))
                }
                Err(refusal) => return Err(self.refuse(name, refusal.reply(), None)),
            }
        }
        let slot = {
            let mut state = self.inner.state.borrow_mut();
            if state.active < self.inner.limits.max_concurrent_tool_calls {
                state.active += 1;
                None
            } else {
                let (hand_over, slot) = oneshot::channel();
                state.queued.push_back(hand_over);
                Some(slot)
            }
        };
        if let Some(slot) = slot {
            // A finished call hands its slot over; a closed gate drops the waiters.
            if slot.await.is_err() {
                return Err(self.closed_reply());
            }
        }
        let mut state = self.inner.state.borrow_mut();
        if state.closed.is_some() {
            drop(state);
            self.release();
            return Err(self.closed_reply());
        }
        let id = state.next_id;
        state.next_id += 1;
        state.in_flight.insert(id, call.upstream.clone());
        let permit = Permit {
            gate: self.clone(),
            id,
            name,
            started_ms,
            approval: call.approval.clone(),
        };
        Ok((permit, call))
    }

    /// One call of `namespace.function` with `arguments` (JSON text), timed by `clock`:
    /// admitted, `forward` makes it and the gate records it; refused, the refusal is the reply.
    /// Returns the reply and a line for the client's progress display.
    pub async fn pass<R: HeldReply, F: Future<Output = R>>(
        &self,
        (namespace, function, arguments): (&str, &str, &str),
        clock: impl Fn() -> u64,
        forward: impl FnOnce(ToolCall) -> F,
    ) -> (R, String) {
        let name = format!("{namespace}.{function}");
        let decided = match self.rerun(&name, arguments) {
            None => None,
            Some(Rerun::Recorded(reply)) => return self.replayed(name, arguments, reply),
            Some(Rerun::Diverged(why)) => {
                let reply = BridgeReply::Error {
                    kind: ToolErrorKind::ResumeDiverged,
                    message: why,
                };
                let reply = self.refuse(name.clone(), reply, None);
                self.close("the resumed program diverged from its record");
                return (R::of(&reply), format!("{name} was refused"));
            }
            Some(Rerun::Decided(decided)) => Some(decided),
            Some(Rerun::New) => None,
        };
        let call = (namespace, function, arguments);
        match self.admit_decided(call, &clock, decided).await {
            Ok((permit, call)) => {
                let reply = self.explained((namespace, function), forward(call).await);
                let trace = permit.finish(reply.error(), reply.chars(), clock());
                if self.is_resumable() {
                    self.keep_for_rerun(&name, arguments, &reply.wire());
                }
                (reply, trace.summary())
            }
            Err(refusal) => (R::of(&refusal), format!("{name} was refused")),
        }
    }

    /// The reply of a call answered from the record of an earlier run: traced as replayed, and
    /// recorded again for the next rerun.
    fn replayed<R: HeldReply>(
        &self,
        name: String,
        arguments: &str,
        recorded: String,
    ) -> (R, String) {
        let reply = BridgeReply::from_wire(&recorded).unwrap_or_else(|e| BridgeReply::Error {
            kind: ToolErrorKind::UpstreamProtocolError,
            message: format!("the recorded reply could not be read: {e}"),
        });
        self.keep_for_rerun(&name, arguments, &recorded);
        let mut trace = trace(name, 0, reply.error_kind());
        trace.replayed = true;
        let summary = format!("{} answered from the earlier run", trace.tool);
        let mut state = self.inner.state.borrow_mut();
        state.attempted = state.attempted.saturating_add(1);
        push_trace(&mut state, &self.inner.limits, trace);
        (R::of(&reply), summary)
    }

    /// Ends the execution: later calls are refused and waiting ones released. Returns the
    /// objects of the upstreams that still have calls in flight, so they can be told to stop
    /// them.
    pub fn close(&self, reason: &str) -> Vec<String> {
        let mut state = self.inner.state.borrow_mut();
        state.closed.get_or_insert_with(|| reason.to_owned());
        state.queued.clear();
        let upstreams: BTreeSet<&String> = state.in_flight.values().collect();
        let objects = upstreams.into_iter();
        objects
            .map(|upstream| self.inner.accounts.object(upstream).to_owned())
            .collect()
    }

    /// What was recorded so far.
    pub fn record(&self) -> CallRecord {
        self.inner.state.borrow().record.clone()
    }

    /// The call and whether it needs approval, or why it is refused and which limit refused
    /// it.
    fn check(
        &self,
        namespace: &str,
        function: &str,
        arguments: &str,
    ) -> Result<(ToolCall, bool), (BridgeReply, Option<Limit>)> {
        let limits = &self.inner.limits;
        let refusal =
            |kind, message: String, limit| Err((BridgeReply::Error { kind, message }, limit));
        let mut state = self.inner.state.borrow_mut();
        if let Some(reason) = &state.closed {
            return refusal(
                ToolErrorKind::Cancelled,
                format!("the execution is over ({reason})"),
                None,
            );
        }
        state.attempted = state.attempted.saturating_add(1);
        if state.attempted > limits.max_tool_calls {
            return refusal(
                ToolErrorKind::LimitExceeded,
                format!(
                    "this execution already made {} tool calls, its limit (maxToolCalls); do the rest in another execute",
                    limits.max_tool_calls
                ),
                Some(Limit::MaxToolCalls),
            );
        }
        drop(state);
        let Some(tool) = self.inner.manifest.tool(namespace, function) else {
            return refusal(
                ToolErrorKind::NotPermitted,
                format!("`{namespace}.{function}` is not a function this execution was given"),
                None,
            );
        };
        if arguments.len() > limits.max_argument_bytes {
            return refusal(
                ToolErrorKind::LimitExceeded,
                format!(
                    "the arguments are {} bytes of JSON; the limit is {} bytes (maxArgumentBytes)",
                    arguments.len(),
                    limits.max_argument_bytes
                ),
                Some(Limit::MaxArgumentBytes),
            );
        }
        let arguments = match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            _ => {
                return refusal(
                    ToolErrorKind::InvalidArguments,
                    "the arguments must be an object".into(),
                    None,
                )
            }
        };
        let call = ToolCall {
            upstream: namespace.to_owned(),
            object: self.inner.accounts.object(namespace).to_owned(),
            tool: tool.name.clone(),
            arguments,
            person: self.inner.person.clone(),
            approval: None,
        };
        Ok((call, tool.needs_approval))
    }

    /// Records a call refused before it was admitted and returns its reply.
    fn refuse(&self, name: String, reply: BridgeReply, limit: Option<Limit>) -> BridgeReply {
        let mut state = self.inner.state.borrow_mut();
        if state.closed.is_none() {
            if let Some(limit) = limit {
                state.record.limits_hit.insert(limit);
            }
            let kind = match &reply {
                BridgeReply::Error { kind, .. } => Some(*kind),
                BridgeReply::Ok { .. } => None,
            };
            push_trace(&mut state, &self.inner.limits, trace(name, 0, kind));
        }
        reply
    }

    fn closed_reply(&self) -> BridgeReply {
        BridgeReply::Error {
            kind: ToolErrorKind::Cancelled,
            message: self.closed_message(),
        }
    }

    fn closed_message(&self) -> String {
        let reason = self.inner.state.borrow().closed.clone();
        let reason = reason.as_deref().unwrap_or("stopped");
        format!("the execution is over ({reason})")
    }

    /// Frees a slot, handing it to the first waiter still waiting.
    fn release(&self) {
        let mut state = self.inner.state.borrow_mut();
        while let Some(waiter) = state.queued.pop_front() {
            if waiter.send(()).is_ok() {
                return;
            }
        }
        state.active = state.active.saturating_sub(1);
    }
}

impl Permit {
    /// Records the call's reply at `now_ms`: its `error` class, or a value returned to the
    /// program as `reply_chars` characters (a text's own, any other value's JSON). Returns the call's trace.
    pub fn finish(
        self,
        error: Option<ToolErrorKind>,
        reply_chars: usize,
        now_ms: u64,
    ) -> CallTrace {
        let mut state = self.gate.inner.state.borrow_mut();
        if error.is_none() {
            state.record.call_result_chars += reply_chars;
        }
        let ms = now_ms.saturating_sub(self.started_ms);
        let mut trace = trace(self.name.clone(), ms, error);
        trace.approval = self.approval.clone();
        push_trace(&mut state, &self.gate.inner.limits, trace.clone());
        trace
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate
            .inner
            .state
            .borrow_mut()
            .in_flight
            .remove(&self.id);
        self.gate.release();
    }
}

fn trace(tool: String, ms: u64, error: Option<ToolErrorKind>) -> CallTrace {
    CallTrace {
        tool,
        ms,
        ok: error.is_none(),
        error,
        approval: None,
        replayed: false,
    }
}

/// Counts a finished call; the first `maxToolCalls` are kept one by one.
fn push_trace(state: &mut State, limits: &ExecutionLimits, trace: CallTrace) {
    state.record.calls_total += 1;
    if state.record.calls.len() < usize::try_from(limits.max_tool_calls).unwrap_or(usize::MAX) {
        state.record.calls.push(trace);
    }
}

mod approving;
mod questions;
mod resumption;
mod signatures;
#[cfg(test)]
mod tests;

pub use questions::Sent;
pub use resumption::Stopped;
pub use signatures::Signatures;
