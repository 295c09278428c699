//! Asking the person to approve a call: the question (the call, its arguments cut to size, and
//! two choices), and reading their answer, where anything but a clear yes is no.

use serde_json::{json, Map, Value};

use super::{Asking, Unanswered};
use crate::execution::objects::Object;
use crate::execution::Platform;
use crate::protocol::approval::{Approval, ApprovalWay};
use crate::protocol::method::ELICITATION_CREATE;
use crate::quote::{cut, cut_marked, name_or_quoted, quote, visible, NAME_CHARS};
use crate::sandbox::asks::{ApprovalAsk, Refusal};
use crate::session::{SessionCommand, SessionRecord};

#[cfg(test)]
mod tests;

/// How much of a call's arguments a person is shown.
#[derive(Debug, Clone, Copy)]
pub(super) struct Room {
    /// Characters of one argument's value, at most.
    pub(super) value_chars: usize,
    /// Characters the values of all the arguments shown share: with many arguments, each
    /// shows less.
    pub(super) summary_chars: usize,
    /// Arguments listed; past them, the summary says how many it leaves out.
    pub(super) arguments_shown: usize,
}

/// The room of a question in the person's client, which shows it in a dialog: each value at
/// most 120 characters (31 each for 32 arguments).
pub(super) const IN_QUESTION: Room = Room {
    value_chars: 120,
    summary_chars: 1_000,
    arguments_shown: 32,
};

/// The room of the approval page, where the person can read the call at length: each value at
/// most 4,000 characters (100 each for 200 arguments).
pub(super) const ON_PAGE: Room = Room {
    value_chars: 4_000,
    summary_chars: 20_000,
    arguments_shown: 200,
};

/// Characters of a client's reason for not asking, as the refusal quotes it.
const REASON_CHARS: usize = 120;

/// The person's choice for "approve this call once".
pub(super) const ONCE: &str = "once";
/// The person's choice for "approve this tool for the rest of the session".
pub(super) const FOR_SESSION: &str = "session";

impl Asking<'_> {
    /// The approval of `ask`'s call, or why there is none.
    pub(super) async fn approve<P: Platform>(
        &mut self,
        platform: &P,
        ask: &ApprovalAsk,
    ) -> Result<Approval, Refusal> {
        let tool = format!("{}/{}", ask.upstream, ask.tool);
        let name = format!("{}.{}", ask.upstream, ask.function);
        let by = self.person.map(|p| p.id.clone());
        let approval = |way| Approval {
            way,
            by: by.clone(),
            at_ms: platform.now_ms(),
        };
        if self.approved_tools.contains(&tool) || self.approved_since(platform, &tool).await {
            return Ok(approval(ApprovalWay::Session));
        }
        if self.session.is_none() && self.answers_forms() {
            // Nothing can wait for the answer: it comes with the client's next request.
            return Err(Refusal::Wanted(question(ask, &name, false)));
        }
        let asked = self.answers_forms().then(|| question(ask, &name, true));
        let response = match self.ask_client(platform, ELICITATION_CREATE, asked).await {
            Ok(response) => response,
            Err(Unanswered::NotAsked(why)) => {
                return self.on_page(platform, ask, &name, &why).await
            }
            Err(unanswered) => {
                return Err(Refusal::Declined(format!(
                    "{unanswered}; {name} was not called"
                )))
            }
        };
        match choice(&response) {
            Ok(FOR_SESSION) => {
                self.approved_tools.insert(tool.clone());
                if let Some(session) = self.session {
                    let remember = SessionCommand::ApproveForSession { tool };
                    // Kept in this execution either way; a lost write only asks again later.
                    let _ = platform
                        .ask::<bool, _>(Object::Session(session), &remember)
                        .await;
                }
                Ok(approval(ApprovalWay::Elicitation))
            }
            Ok(_) => Ok(approval(ApprovalWay::Elicitation)),
            Err(why) => Err(Refusal::Declined(format!("{why}; {name} was not called"))),
        }
    }

    /// Whether `tool` was approved for the session after the execution's copy of its record
    /// was read (in another execution, on the approval page, or in another isolate): its
    /// object is asked before the person is. An approval for the session is never taken
    /// back, so the copy can only lack one.
    async fn approved_since<P: Platform>(&mut self, platform: &P, tool: &str) -> bool {
        let Some(session) = self.session else {
            return false;
        };
        let read = platform
            .ask::<Option<SessionRecord>, _>(Object::Session(session), &SessionCommand::Get);
        let approved = read
            .await
            .ok()
            .flatten()
            .map(|record| record.approved_tools);
        self.approved_tools.extend(approved.unwrap_or_default());
        self.approved_tools.contains(tool)
    }
}

/// The `elicitation/create` params asking about `ask`'s call of `name`; the person may approve
/// the tool `for_session` where there is one.
fn question(ask: &ApprovalAsk, name: &str, for_session: bool) -> Value {
    let message = format!(
        "Your agent's program wants to call {name} (the upstream tool {}) with:\n{}\n\
         Allow it?",
        name_or_quoted(&ask.tool, NAME_CHARS),
        summary(&ask.arguments, IN_QUESTION)
    );
    let (choices, names) = match for_session {
        true => (
            json!([ONCE, FOR_SESSION]),
            json!([
                "This call only",
                format!("Every call of {name} in this session")
            ]),
        ),
        false => (json!([ONCE]), json!(["This call"])),
    };
    json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {"type": "string", "title": "Allow", "enum": choices, "enumNames": names}
            },
            "required": ["decision"],
        }
    })
}

/// The approval, or refusal, the client's JSON-RPC `response` to the question gives a call
/// of `person`'s at `now_ms` (for the session or not, it approves this call).
pub(in crate::execution) fn decision(
    response: &str,
    person: Option<&str>,
    now_ms: u64,
) -> Result<Approval, Refusal> {
    match choice(response) {
        Ok(_) => Ok(Approval {
            way: ApprovalWay::Elicitation,
            by: person.map(str::to_owned),
            at_ms: now_ms,
        }),
        Err(why) => Err(Refusal::Declined(format!("{why}; the call was not made"))),
    }
}

/// The arguments as a person reads them in `room`, so that what they approve is what is
/// called: one `name: value` line for each of the first `room.arguments_shown`, then how many
/// are left out.
///
/// The program chose every name and value, and may be steered to disguise its call. So each
/// value is shown as JSON (a string in quotes, its line breaks as `\n`), with invisible and
/// reordering characters as `\u` escapes, and a name is quoted unless plain: no argument can
/// pass for another line or hide part of itself. The values share `room.summary_chars`, each
/// cut to at most `room.value_chars` and marked with its length, so long first values cannot
/// push the later arguments out of sight.
pub(super) fn summary(arguments: &Map<String, Value>, room: Room) -> String {
    if arguments.is_empty() {
        return "(no arguments)".to_owned();
    }
    let shown = arguments.len().min(room.arguments_shown);
    let value_chars = (room.summary_chars / shown).min(room.value_chars);
    let mut lines: Vec<String> = arguments
        .iter()
        .take(shown)
        .map(|(name, value)| {
            let name = name_or_quoted(name, NAME_CHARS);
            let value = match value {
                Value::String(text) => quote(text, value_chars),
                other => shown_json(&other.to_string(), value_chars),
            };
            format!("  {name}: {value}")
        })
        .collect();
    if arguments.len() > shown {
        lines.push(format!(
            "  … and {} more arguments, not shown ({} in all)",
            arguments.len() - shown,
            arguments.len()
        ));
    }
    lines.join("\n")
}

/// `json` made visible and cut to `chars` characters, saying how long it was when cut.
fn shown_json(json: &str, chars: usize) -> String {
    cut_marked(&visible(json), chars)
}

/// The person's choice in the client's JSON-RPC `response`: [`ONCE`] or [`FOR_SESSION`], or
/// why the call is not approved.
pub(super) fn choice(response: &str) -> Result<&'static str, String> {
    let response: Value =
        serde_json::from_str(response).map_err(|_| "the client's answer was not JSON")?;
    if let Some(error) = response.get("error") {
        let message = error.get("message").and_then(Value::as_str);
        return Err(format!(
            "the client could not ask ({})",
            cut(message.unwrap_or("no reason given"), REASON_CHARS)
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
