//! A tool call whose upstream asks the person something while it works.
//!
//! The runner's bridge makes a call with one request to the object and waits for its answer.
//! When the upstream asks a question during the call (`elicitation/create`,
//! `sampling/createMessage`, `roots/list`), the object answers the bridge's request with the
//! question ([`UpstreamAnswer::Asked`]) and keeps the call running, held under an id. The bridge
//! brings the person's answer back ([`UpstreamCommand::Answer`](super::UpstreamCommand)); the
//! object passes it to the upstream and answers with what comes next: another question, or the
//! call's result. A call that asks nothing never leaves the request that made it.

use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::future::{ready, select, Either, LocalBoxFuture};
use futures::{FutureExt, StreamExt};
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::Value;

use super::{ToolStore, UpstreamKeeper};
use crate::json_size::json_bytes;
use crate::upstream::client::UpstreamError;
use crate::upstream::protocol::{QuestionAnswer, UpstreamAnswer};
use crate::upstream::session::{Asker, Http};
use crate::upstream::target::Target;

/// How long a held call waits for its answer before the object forgets it; the runner stops
/// asking well before (`approvalTimeoutMs` is at most 10 minutes).
const HELD_FOR_MS: u64 = 15 * 60_000;

/// What a running call says to the request waiting on it.
pub(super) enum CallEvent {
    /// The upstream asked something; the answer goes to `answer`.
    Asked {
        method: String,
        params: Value,
        answer: oneshot::Sender<Result<Value, ErrorData>>,
    },
    /// The call ended.
    Ended(UpstreamAnswer),
}

/// A call waiting for the answer to its upstream's question.
pub(super) struct HeldCall {
    /// The execution that made it, which alone may answer or cancel it.
    execution: Option<String>,
    /// When it was held.
    held_at_ms: u64,
    /// Where the answer goes.
    answer: oneshot::Sender<Result<Value, ErrorData>>,
    /// What the call says next.
    events: mpsc::UnboundedReceiver<CallEvent>,
}

/// The calls held in one object, by id.
pub(super) type HeldCalls = HashMap<String, HeldCall>;

/// The asker of one call: each question becomes an event, and its answer is awaited.
pub(super) struct Forwarder {
    events: mpsc::UnboundedSender<CallEvent>,
}

/// The most bytes of JSON a question's params may take, as much as the runner passes back of
/// an answer: a larger question is refused to its upstream and never reaches the person's client.
const MAX_QUESTION_BYTES: usize = 1 << 20;

impl Asker for Forwarder {
    fn ask(&self, method: &str, params: Value) -> LocalBoxFuture<'_, Result<Value, ErrorData>> {
        let bytes = json_bytes(&params);
        if bytes > MAX_QUESTION_BYTES {
            let message = format!(
                "{method} takes {bytes} bytes of JSON, over the runner's limit of \
                 {MAX_QUESTION_BYTES} for a question; it was not asked"
            );
            let refused = ErrorData::new(ErrorCode::INVALID_PARAMS, message, None);
            return ready(Err(refused)).boxed_local();
        }
        let (answer, answered) = oneshot::channel();
        let asked = CallEvent::Asked {
            method: method.to_owned(),
            params,
            answer,
        };
        let sent = self.events.unbounded_send(asked);
        async move {
            let gone = || {
                let message = "the runner stopped waiting for the person's answer";
                ErrorData::new(ErrorCode::INTERNAL_ERROR, message, None)
            };
            sent.map_err(|_| gone())?;
            answered.await.map_err(|_| gone())?
        }
        .boxed_local()
    }
}

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// Runs the call `make` starts with a [`Forwarder`] for `execution`, until it ends or its
    /// upstream asks something; then it runs on by itself, held, and the question is the answer.
    pub(super) async fn call_asking(
        self: &Rc<Self>,
        target: &Target,
        execution: Option<String>,
        make: impl FnOnce(Rc<Forwarder>) -> LocalBoxFuture<'static, UpstreamAnswer>,
    ) -> UpstreamAnswer {
        let (sender, mut events) = mpsc::unbounded();
        let forwarder = Rc::new(Forwarder {
            events: sender.clone(),
        });
        let mut work = make(forwarder);
        let event = match select(&mut work, events.next()).await {
            Either::Left((answer, _)) => return answer,
            Either::Right((event, _)) => event,
        };
        self.http.spawn(async move {
            let answer = work.await;
            // Nobody is waiting when the call was abandoned; its end is moot then.
            let _ = sender.unbounded_send(CallEvent::Ended(answer));
        });
        self.next_event(target, execution, event, events)
    }

    /// The answer to a held call's question: passed to the upstream, and what the call says
    /// next is the answer.
    pub(super) async fn resume(
        self: &Rc<Self>,
        target: &Target,
        call: &str,
        execution: Option<String>,
        answer: QuestionAnswer,
    ) -> UpstreamAnswer {
        let Some(mut held) = self.take_held(call, execution.as_deref()) else {
            return UpstreamAnswer::NotPermitted {
                detail: format!("no call of this execution is waiting under `{call}`"),
            };
        };
        let answer = match answer {
            QuestionAnswer::Result(result) => Ok(result),
            QuestionAnswer::Error(error) => Err(error),
        };
        // A call that ended meanwhile (its timeout) says so as its next event.
        let _ = held.answer.send(answer);
        let event = held.events.next().await;
        self.next_event(target, execution, event, held.events)
    }

    /// The call held under `call`, taken out, if `execution` made it.
    fn take_held(&self, call: &str, execution: Option<&str>) -> Option<HeldCall> {
        let mut calls = self.held.borrow_mut();
        let theirs = (calls.get(call)).is_some_and(|held| held.execution.as_deref() == execution);
        theirs.then(|| calls.remove(call)).flatten()
    }

    /// Forgets the held calls of `execution`: their questions are answered with an error, and
    /// the calls stopped with the rest of the execution's.
    pub(super) fn release(&self, execution: &str) {
        let mut held = self.held.borrow_mut();
        held.retain(|_, call| call.execution.as_deref() != Some(execution));
    }

    /// What a call's `event` tells the bridge; a question holds the call under a new id.
    fn next_event(
        &self,
        target: &Target,
        execution: Option<String>,
        event: Option<CallEvent>,
        events: mpsc::UnboundedReceiver<CallEvent>,
    ) -> UpstreamAnswer {
        let (method, params, answer) = match event {
            Some(CallEvent::Ended(answer)) => return answer,
            Some(CallEvent::Asked {
                method,
                params,
                answer,
            }) => (method, params, answer),
            None => {
                return UpstreamAnswer::Failed {
                    error: UpstreamError::Cancelled {
                        reason: "the call ended without an answer".into(),
                    },
                }
            }
        };
        let now = self.http.now_ms();
        let id = self.held_ids.get() + 1;
        self.held_ids.set(id);
        let mut held = self.held.borrow_mut();
        held.retain(|_, call| now.saturating_sub(call.held_at_ms) < HELD_FOR_MS);
        held.insert(
            id.to_string(),
            HeldCall {
                execution,
                held_at_ms: now,
                answer,
                events,
            },
        );
        UpstreamAnswer::Asked {
            call: id.to_string(),
            method,
            params: target.secrets().value(params),
        }
    }
}

#[cfg(test)]
mod tests;
