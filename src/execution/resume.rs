//! Resuming a stateless `execute` whose call waited for the person (SEP-2322): the record kept
//! between the two requests, and the answer that asks.
//!
//! When a stateless run stops for the person, the runner keeps a [`Stash`] (who ran which code,
//! the calls it made with their replies, the call that waits) in a Durable Object named by an
//! unguessable id, and answers `input_required` with the question and the id as `requestState`.
//! The client asks again with the id and the person's answer; the stash is taken (once: a
//! `requestState` works one time), checked against the person and the code, and the program
//! runs again over its record ([`crate::sandbox::replay`]).

use futures::future::{pending, FutureExt, LocalBoxFuture};
use rmcp::model::{
    CallToolResponse, CallToolResult, InputRequest, InputRequests, InputRequiredResult,
    InputResponses,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::asking::decision;
use super::objects::{Object, Objects};
use super::{Platform, Requester};
use crate::audit::ExecutionAudit;
use crate::codemode::tools;
use crate::cold::cold;
use crate::protocol::method::ELICITATION_CREATE;
use crate::sandbox::gate::CallGate;
use crate::sandbox::replay::{RecordedCall, Replay, WaitingCall};
use crate::session::answers_forms;

/// How long a stash waits for its client to come back.
pub const STASH_TTL_MS: u64 = 15 * 60_000;

/// The key of the question in `inputRequests`, and of its answer in `inputResponses`.
pub const APPROVAL_KEY: &str = "approval";

/// What a stash's object is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum StashCommand {
    /// Keep `stash` until `expiresAtMs`; answers `true`.
    Put {
        /// The record.
        stash: Box<Stash>,
    },
    /// Hand the record over and forget it; answers `Option<Stash>` (none once taken or
    /// expired).
    Take {
        /// The time now, against the record's expiry.
        now_ms: u64,
    },
}

/// A stateless run that stopped for its person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stash {
    /// The person it ran for.
    pub person: Option<String>,
    /// The SHA-256 of its code.
    pub code_sha256: String,
    /// The calls it made, with their replies.
    pub recorded: Vec<RecordedCall>,
    /// The call that waits for the person.
    pub waiting: WaitingCall,
    /// When the stash is forgotten.
    pub expires_at_ms: u64,
}

/// Why a `requestState` cannot resume a run; the agent is told to run the code afresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// No stash: never issued, already used, or expired.
    #[error("requestState is unknown, already used or expired")]
    Unknown,
    /// Another person's, or another program's.
    #[error("requestState belongs to another person or another program")]
    NotYours,
    /// The stash could not be read.
    #[error("the stored run could not be read: {0}")]
    Unreadable(String),
}

/// What the client sends to resume a run: the `requestState` it was given, and the person's
/// answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Resuming {
    /// The stash's id.
    pub state: String,
    /// The answers, by the question's key.
    pub responses: InputResponses,
}

/// Makes `gate`'s run resumable when it may stop for its person: a stateless request whose
/// client takes form elicitations, with a tool that needs approval (or one resuming a run,
/// whose record is then replayed). Resolves when the run stops for the person; never when it
/// cannot. A `requestState` that cannot resume is the `execute` result, saying why.
pub(super) async fn prepare<P: Platform>(
    platform: &P,
    (requester, audit): (&Requester, &ExecutionAudit),
    gate: &CallGate,
    needs_approval: bool,
) -> Result<LocalBoxFuture<'static, ()>, CallToolResult> {
    let never = || pending().boxed_local();
    let Some(resuming) = &requester.resume else {
        let may_ask =
            requester.session.is_none() && answers_forms(&requester.client) && needs_approval;
        return Ok(match may_ask {
            true => gate.resumable(Replay::default()).boxed_local(),
            false => never(),
        });
    };
    let person = audit.person.as_ref().map(|p| p.id.as_str());
    let whose = (person, audit.code_sha256.as_str());
    let stash = cold(take(platform, &resuming.state, whose, platform.now_ms()))
        .await
        .map_err(|e| {
            tools::invalid_arguments_result(
                "execute",
                &format!("{e}; run the code again without it"),
            )
        })?;
    let decided = decision(&answer_of(&resuming.responses), person, platform.now_ms());
    let replay = Replay::new(stash.recorded, stash.waiting, decided);
    Ok(gate.resumable(replay).boxed_local())
}

/// The answer to a run that stopped for its person: its record kept under a new id, and the
/// question asked with `input_required`; or, when the record cannot be kept, a failure saying
/// so.
pub(super) async fn stopped<P: Platform>(
    platform: &P,
    gate: &CallGate,
    audit: &ExecutionAudit,
) -> CallToolResponse {
    let failed = |why: String| {
        CallToolResponse::Complete(tools::sandbox_failure_result(format!(
            "the call that needs the person's approval could not be asked: {why}"
        )))
    };
    let Some(stopped) = gate.stopped() else {
        return failed("the run's record was lost".into());
    };
    let stash = Stash {
        person: audit.person.as_ref().map(|p| p.id.clone()),
        code_sha256: audit.code_sha256.clone(),
        recorded: stopped.recorded,
        waiting: stopped.waiting,
        expires_at_ms: platform.now_ms() + STASH_TTL_MS,
    };
    let state = platform.new_id();
    if let Err(e) = keep(platform, &state, stash).await {
        return failed(e);
    }
    match input_required(stopped.question, state) {
        Ok(result) => CallToolResponse::InputRequired(result),
        Err(e) => failed(e),
    }
}

/// The stash `state` names, taken, if it is `person`'s run of the code with `code_sha256`.
async fn take(
    objects: &impl Objects,
    state: &str,
    (person, code_sha256): (Option<&str>, &str),
    now_ms: u64,
) -> Result<Stash, ResumeError> {
    let taken: Option<Stash> = objects
        .ask(Object::Stash(state), &StashCommand::Take { now_ms })
        .await
        .map_err(ResumeError::Unreadable)?;
    let stash = taken.ok_or(ResumeError::Unknown)?;
    if stash.person.as_deref() != person || stash.code_sha256 != code_sha256 {
        return Err(ResumeError::NotYours);
    }
    Ok(stash)
}

/// Keeps `stash` under the new id `state`.
async fn keep(objects: &impl Objects, state: &str, stash: Stash) -> Result<(), String> {
    let put = StashCommand::Put {
        stash: Box::new(stash),
    };
    objects
        .ask::<bool, _>(Object::Stash(state), &put)
        .await
        .map(drop)
}

/// The `input_required` answer asking `question` (`elicitation/create` params), resumed with
/// `state`.
fn input_required(question: Value, state: String) -> Result<InputRequiredResult, String> {
    let request = json!({"method": ELICITATION_CREATE, "params": question});
    let request: InputRequest = serde_json::from_value(request).map_err(|e| e.to_string())?;
    let requests = InputRequests::from([(APPROVAL_KEY.to_owned(), request)]);
    Ok(InputRequiredResult::new(Some(requests), Some(state)))
}

/// The person's answer to the question, as the client's JSON-RPC response would carry it.
fn answer_of(responses: &InputResponses) -> String {
    let result = responses.get(APPROVAL_KEY).cloned().unwrap_or(Value::Null);
    json!({"jsonrpc": "2.0", "id": APPROVAL_KEY, "result": result}).to_string()
}

#[cfg(test)]
mod tests;
