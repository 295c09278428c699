//! Asking the person, one question at a time: whether a call that needs approval may be made
//! ([`approval`]), and what an upstream asks during a call ([`forwarding`]).
//!
//! The gate hands each over as an [`Ask`]. In a session, the runner sends its request (an
//! `elicitation/create`, or the upstream's own) on the `execute` call's stream and waits, up to
//! `approvalTimeoutMs`, for the answer, which the client POSTs and the session's object
//! delivers here (the POST may reach another Worker isolate). Where no one can be asked (no
//! session, a client that did not declare what it would take, a plain JSON answer), the call
//! is refused, or the upstream answered with an error, saying why.
//!
//! Questions are asked in the order calls made them, so a program that fires many calls of a
//! tool at once asks once: after "for this session", the rest go through.

mod approval;
mod forwarding;
mod on_page;

pub(super) use approval::decision;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::convert::Infallible;

use futures::future::{pending, select, Either};
use futures::{pin_mut, StreamExt};
use rmcp::model::ClientCapabilities;
use serde_json::Value;

use super::objects::{delivered, watch};
use super::Platform;
use crate::cold::cold;
use crate::mcp::context::RequestContext;
use crate::protocol::person::Person;
use crate::sandbox::asks::{Ask, Asks};
use crate::session::{answer_key, answers_forms};

/// Who is asked, and how, for one execution.
pub struct Asking<'a> {
    /// The session, whose object carries the client's answers; none for a stateless request.
    pub session: Option<&'a str>,
    /// Who the execution runs for.
    pub person: Option<&'a Person>,
    /// The `execute` call, whose stream carries the questions.
    pub context: &'a RequestContext,
    /// What the client said at `initialize` it can answer.
    pub client: &'a ClientCapabilities,
    /// The tools approved for the rest of the session (`upstream/tool`).
    pub approved_tools: BTreeSet<String>,
    /// How long one question waits for its answer.
    pub timeout_ms: u32,
}

/// Why the person's client gave no answer.
#[derive(Debug, thiserror::Error)]
enum Unanswered {
    /// It was not asked, for this reason.
    #[error("{0}")]
    NotAsked(String),
    /// The session ended first.
    #[error("the session ended before anyone answered")]
    SessionEnded,
    /// No answer came within the time, in milliseconds.
    #[error("no one answered within {} s", .0 / 1_000)]
    TimedOut(u32),
}

impl Asking<'_> {
    /// Answers `asks` in order until the execution ends; never resolves.
    pub async fn answer<P: Platform>(mut self, platform: &P, mut asks: Asks) -> Infallible {
        while let Some(ask) = asks.next().await {
            // A call that stopped waiting (its execution ended) needs no answer.
            match ask {
                Ask::Approval(ask) => {
                    let answer = cold(self.approve(platform, &ask)).await;
                    let _ = ask.answer.send(answer);
                }
                Ask::Question(question) => {
                    let answer = cold(self.forward(platform, &question)).await;
                    let _ = question.answer.send(answer);
                }
            }
        }
        pending().await
    }

    /// Whether the client answers form elicitations.
    fn answers_forms(&self) -> bool {
        answers_forms(self.client)
    }

    /// Sends the client the runner's request `method` with `params` (`None` when the client
    /// did not declare it would take it) and waits for its JSON-RPC response, as text.
    async fn ask_client<P: Platform>(
        &self,
        platform: &P,
        method: &str,
        params: Option<Value>,
    ) -> Result<String, Unanswered> {
        let not_asked = |why: &str| Err(Unanswered::NotAsked(why.to_owned()));
        let Some(session) = self.session else {
            return not_asked("this request has no session to carry the person's answer");
        };
        let Some(params) = params else {
            return not_asked(&format!("this client did not say it takes {method}"));
        };
        if !self.context.can_ask() {
            return not_asked("this call's answer is plain JSON, with no stream to ask on");
        }
        let id = format!("ask-{}", platform.new_id());
        let watched = watch(platform, session, answer_key(&id))
            .await
            .map_err(|e| Unanswered::NotAsked(format!("it could not be asked ({e})")))?;
        if !self.context.ask(&id, method, params) {
            return not_asked("the client's stream has closed");
        }
        let answer = delivered(watched);
        let deadline = platform.sleep(self.timeout_ms);
        pin_mut!(answer, deadline);
        match select(answer, deadline).await {
            Either::Left((Some(response), _)) => Ok(response),
            Either::Left((None, _)) => Err(Unanswered::SessionEnded),
            Either::Right(_) => {
                self.context.withdraw(&id, "no answer in time");
                Err(Unanswered::TimedOut(self.timeout_ms))
            }
        }
    }
}
