//! Asking the person to approve the calls that need it, one question at a time.
//!
//! The gate hands each such call over as an [`ApprovalAsk`]. A tool the person approved for
//! the session goes through at once. Otherwise, in a session whose client said it answers form
//! elicitations, the runner sends `elicitation/create` on the `execute` call's stream and
//! waits, up to `approvalTimeoutMs`, for the answer, which the client POSTs and the session's
//! object delivers here (the POST may reach another Worker isolate). Anywhere else the call is
//! refused as `ApprovalRequired`, saying why.
//!
//! Questions are asked in the order calls made them, so a program that fires many calls of a
//! tool at once asks once: after "for this session", the rest go through.

use std::collections::BTreeSet;
use std::convert::Infallible;

use futures::future::{pending, select, Either};
use futures::{pin_mut, StreamExt};
use serde_json::{json, Map, Value};

use super::objects::{delivered, watch, Object};
use super::Platform;
use crate::mcp::context::RequestContext;
use crate::protocol::approval::{Approval, ApprovalWay};
use crate::protocol::method::ELICITATION_CREATE;
use crate::protocol::person::Person;
use crate::sandbox::approval::{ApprovalAsk, ApprovalAsks, Refusal};
use crate::session::{answer_key, SessionCommand};

/// Characters of one argument's value shown in a question.
const VALUE_CHARS: usize = 120;
/// Characters of all the arguments shown in a question.
const SUMMARY_CHARS: usize = 1_000;

/// The person's choice for "approve this call once".
const ONCE: &str = "once";
/// The person's choice for "approve this tool for the rest of the session".
const FOR_SESSION: &str = "session";

/// Who is asked, and how, for one execution.
pub struct Asking<'a> {
    /// The session, whose object carries the client's answers; none for a stateless request.
    pub session: Option<&'a str>,
    /// Who the execution runs for.
    pub person: Option<&'a Person>,
    /// The `execute` call, whose stream carries the questions.
    pub context: &'a RequestContext,
    /// Whether the client said it answers form elicitations.
    pub elicitation: bool,
    /// The tools approved for the rest of the session (`upstream/tool`).
    pub approved_tools: BTreeSet<String>,
    /// How long one question waits for its answer.
    pub timeout_ms: u32,
}

impl Asking<'_> {
    /// Answers `asks` in order until the execution ends; never resolves.
    pub async fn answer<P: Platform>(mut self, platform: &P, mut asks: ApprovalAsks) -> Infallible {
        while let Some(ask) = asks.next().await {
            let answer = self.decide(platform, &ask).await;
            // A call that stopped waiting (its execution ended) needs no answer.
            let _ = ask.answer.send(answer);
        }
        pending().await
    }

    /// The approval of `ask`'s call, or why there is none.
    async fn decide<P: Platform>(
        &mut self,
        platform: &P,
        ask: &ApprovalAsk,
    ) -> Result<Approval, Refusal> {
        let tool = format!("{}/{}", ask.upstream, ask.tool);
        let name = format!("{}.{}", ask.upstream, ask.function);
        let approval = |way| Approval {
            way,
            by: self.person.map(|p| p.id.clone()),
            at_ms: platform.now_ms(),
        };
        if self.approved_tools.contains(&tool) {
            return Ok(approval(ApprovalWay::Session));
        }
        let session = match self.session {
            Some(session) if self.elicitation && self.context.can_ask() => session,
            _ => return Err(Refusal::Required(self.cannot_ask(&name))),
        };
        let id = format!("approval-{}", platform.new_id());
        let unasked = |e: String| Refusal::Required(format!("{name} could not be asked: {e}"));
        let watched = watch(platform, session, answer_key(&id))
            .await
            .map_err(unasked)?;
        if !self
            .context
            .ask(&id, ELICITATION_CREATE, question(ask, &name))
        {
            return Err(unasked("the client's stream has closed".into()));
        }
        let answer = delivered(watched);
        let deadline = platform.sleep(self.timeout_ms);
        pin_mut!(answer, deadline);
        let response = match select(answer, deadline).await {
            Either::Left((Some(response), _)) => response,
            Either::Left((None, _)) => {
                return Err(Refusal::Declined(format!(
                    "the session ended before anyone answered; {name} was not called"
                )))
            }
            Either::Right(_) => {
                self.context.withdraw(&id, "no answer in time");
                return Err(Refusal::Declined(format!(
                    "no one answered within {} s; {name} was not called",
                    self.timeout_ms / 1_000
                )));
            }
        };
        match choice(&response) {
            Ok(FOR_SESSION) => {
                self.approved_tools.insert(tool.clone());
                let remember = SessionCommand::ApproveForSession { tool };
                // Kept in this execution either way; a lost write only asks again next time.
                let _ = platform
                    .ask::<bool, _>(Object::Session(session), &remember)
                    .await;
                Ok(approval(ApprovalWay::Elicitation))
            }
            Ok(_) => Ok(approval(ApprovalWay::Elicitation)),
            Err(why) => Err(Refusal::Declined(format!("{why}; {name} was not called"))),
        }
    }

    /// Why a call of `name` cannot be approved in this request.
    fn cannot_ask(&self, name: &str) -> String {
        let why = match (self.session, self.elicitation, self.context.can_ask()) {
            (None, _, _) => "this request has no session to carry the person's answer",
            (_, false, _) => "this client did not say it can ask its person (elicitation)",
            _ => "this call's answer is plain JSON, with no stream to ask on",
        };
        format!(
            "{name} needs a person's approval, and {why}; use a client that supports \
             elicitation, or ask the operator to allow the tool"
        )
    }
}

/// The `elicitation/create` params asking about `ask`'s call of `name`.
fn question(ask: &ApprovalAsk, name: &str) -> Value {
    let message = format!(
        "Your agent's program wants to call {name} (the upstream tool `{}`) with:\n{}\n\
         Allow it?",
        ask.tool,
        summary(&ask.arguments)
    );
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Allow",
                    "enum": [ONCE, FOR_SESSION],
                    "enumNames": ["This call only", format!("Every call of {name} in this session")],
                }
            },
            "required": ["decision"],
        }
    })
}

/// The arguments as a person reads them: one `name: value` line each, values cut at
/// [`VALUE_CHARS`] and the whole at [`SUMMARY_CHARS`].
fn summary(arguments: &Map<String, Value>) -> String {
    if arguments.is_empty() {
        return "(no arguments)".to_owned();
    }
    let mut lines = String::new();
    for (name, value) in arguments {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        lines.push_str(&format!("  {name}: {}\n", cut(&value, VALUE_CHARS)));
    }
    cut(lines.trim_end(), SUMMARY_CHARS)
}

/// `text` cut to `chars` characters, marked when cut.
fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The person's choice in the client's JSON-RPC `response`: [`ONCE`] or [`FOR_SESSION`], or
/// why the call is not approved.
fn choice(response: &str) -> Result<&'static str, String> {
    let response: Value =
        serde_json::from_str(response).map_err(|_| "the client's answer was not JSON")?;
    if let Some(error) = response.get("error") {
        let message = error.get("message").and_then(Value::as_str);
        return Err(format!(
            "the client could not ask ({})",
            cut(message.unwrap_or("no reason given"), VALUE_CHARS)
        ));
    }
    let result = response.get("result").unwrap_or(&Value::Null);
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => {}
        Some("decline") => return Err("the person declined".into()),
        _ => return Err("the person dismissed the question".into()),
    }
    match result.pointer("/content/decision").and_then(Value::as_str) {
        Some(ONCE) => Ok(ONCE),
        Some(FOR_SESSION) => Ok(FOR_SESSION),
        _ => Err("the person's answer chose neither option".into()),
    }
}

#[cfg(test)]
mod tests;
