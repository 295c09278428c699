//! A call whose upstream asks the person something: the gate makes the call, and each time the
//! upstream's object answers with a question instead of the call's reply, hands the question to
//! the person (as an [`Ask::Question`]) and sends the answer back, until the reply comes.

use std::future::Future;

use futures::channel::oneshot;
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::Value;

use super::{CallGate, HeldReply, ToolCall};
use crate::sandbox::asks::{Ask, UpstreamQuestion};
use crate::sandbox::protocol::{BridgeReply, QuestionTrace, ToolErrorKind};
use crate::upstream::protocol::{QuestionAnswer, UpstreamCommand};

/// The most questions one call may ask; past it the call is stopped.
const MAX_QUESTIONS: usize = 20;

/// What the upstream's object answered to a call's command, as the bridge holds it.
pub enum Sent<R> {
    /// The call's reply.
    Reply(R),
    /// The upstream asked something; the call is held under `call` for the answer.
    Asked {
        /// The held call.
        call: String,
        /// What it asked.
        method: String,
        /// Its params.
        params: Value,
    },
}

impl CallGate {
    /// Makes `call` for `execution` by sending its commands with `send` (to the object it
    /// names), passing each question its upstream asks on to the person and the answer back,
    /// until the reply; waits are timed by `clock`.
    pub async fn make_call<R, F, Fut>(
        &self,
        (call, execution): (ToolCall, &str),
        clock: &impl Fn() -> u64,
        send: F,
    ) -> R
    where
        R: HeldReply,
        F: Fn(&str, &UpstreamCommand) -> Fut,
        Fut: Future<Output = Result<Sent<R>, String>>,
    {
        let upstream = call.upstream.clone();
        let (object, mut command) = call.into_command(execution);
        let mut asked = 0;
        loop {
            let (held, method, params) = match send(&object, &command).await {
                Ok(Sent::Reply(reply)) => return reply,
                Ok(Sent::Asked {
                    call,
                    method,
                    params,
                }) => (call, method, params),
                Err(e) => {
                    return R::of(&BridgeReply::Error {
                        kind: ToolErrorKind::UpstreamUnreachable,
                        message: format!("the upstream's object failed: {e}"),
                    })
                }
            };
            asked += 1;
            if asked > MAX_QUESTIONS {
                // An upstream that will not stop asking has its calls of this execution stopped
                // (the held question is answered with an error there); best effort, as the
                // call's reply is this error either way.
                let reason = format!("the upstream asked more than {MAX_QUESTIONS} questions");
                let stop = UpstreamCommand::Cancel {
                    execution: execution.to_owned(),
                    reason: reason.clone(),
                };
                let _ = send(&object, &stop).await;
                return R::of(&BridgeReply::Error {
                    kind: ToolErrorKind::UpstreamProtocolError,
                    message: format!("{reason} during one call; the call was stopped"),
                });
            }
            let answer = self.question(&upstream, (method, params), clock).await;
            command = UpstreamCommand::Answer {
                call: held,
                execution: Some(execution.to_owned()),
                answer,
            };
        }
    }

    /// Hands `upstream`'s question to the person and waits for the answer; the wait, like an
    /// approval's, does not count toward the execution's time. Recorded without its words.
    async fn question(
        &self,
        upstream: &str,
        (method, params): (String, Value),
        clock: &impl Fn() -> u64,
    ) -> QuestionAnswer {
        let (answer, answered) = oneshot::channel();
        let ask = Ask::Question(UpstreamQuestion {
            upstream: upstream.to_owned(),
            method: method.clone(),
            params,
            answer,
        });
        let answer = match self.inner.asks.unbounded_send(ask) {
            Ok(()) => {
                self.inner.state.borrow_mut().waiting.begin(clock());
                let answer = answered.await;
                self.inner.state.borrow_mut().waiting.end(clock());
                answer.unwrap_or_else(|_| refused(self.closed_message()))
            }
            Err(_) => refused("no one can be asked here".into()),
        };
        let trace = QuestionTrace {
            upstream: upstream.to_owned(),
            method,
            answered: matches!(answer, QuestionAnswer::Result(_)),
        };
        self.inner.state.borrow_mut().record.questions.push(trace);
        answer
    }
}

/// The error an upstream gets for a question no one answered, saying why.
fn refused(why: String) -> QuestionAnswer {
    QuestionAnswer::Error(ErrorData::new(ErrorCode::INTERNAL_ERROR, why, None))
}
