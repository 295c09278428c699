//! Messages between the runner and an upstream's Durable Object, which holds that upstream's
//! MCP session. Sent as JSON in the body of a request to the object.

use rmcp::model::{CallToolResult, ErrorData, Tool};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::UpstreamError;
use super::health::{Health, UpstreamStatus};
use super::observed::{Learner, ObservedType};
use super::session::Lease;
use crate::protocol::approval::Approval;
use crate::protocol::person::Person;

/// How long a tool-list request waits for an upstream contacted for the first time, with no
/// cached list. Past it (and at once when the last attempt failed) the object answers
/// [`UpstreamAnswer::Pending`] and keeps fetching, so one slow upstream never holds up
/// `tools/list` or `search` for the others for longer than this, and only once.
pub const LIST_WAIT_MS: u32 = 1_500;

/// What the runner asks an upstream's object to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum UpstreamCommand {
    /// List the tools the operator exposes: from cache when there is one (refreshed behind the
    /// answer when stale), else fetched, waiting at most [`LIST_WAIT_MS`].
    ListTools {
        /// The id of the person asking, whose own calls' results alone shape the answer's
        /// observed types ([`Learner`](crate::upstream::observed::Learner)); none where the
        /// runner signs nobody in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<String>,
    },
    /// Call one tool.
    CallTool {
        /// The tool's MCP name.
        name: String,
        /// Its arguments.
        arguments: Option<Map<String, Value>>,
        /// The execution making the call, which [`UpstreamCommand::Cancel`] names.
        #[serde(default)]
        execution: Option<String>,
        /// Who the execution runs for, whose grant the object checks again; none when the
        /// runner asks for no sign-in.
        #[serde(default)]
        person: Option<Person>,
        /// The person's approval, for a tool whose calls need one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<Approval>,
    },
    /// The person's answer to what the upstream asked during a call
    /// ([`UpstreamAnswer::Asked`]); answered with what comes next, as the call was.
    Answer {
        /// The held call, as the question named it.
        call: String,
        /// The execution making the call.
        #[serde(default)]
        execution: Option<String>,
        /// The answer the upstream gets.
        answer: QuestionAnswer,
    },
    /// Abandon the calls of an execution that are still in flight, telling the upstream to
    /// stop them (`notifications/cancelled`).
    Cancel {
        /// The execution.
        execution: String,
        /// The client's reason, passed on.
        reason: String,
    },
    /// Lend the session to a keeper in the Worker ([`Lease`]); `gone` names the session the
    /// lessee found ended, which the object replaces if it still holds it.
    Lease {
        /// The ended session's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gone: Option<String>,
    },
    /// What a lessee's calls of one execution came to ([`Lease`]): their health, counted as
    /// the object's own, and the values they returned, to learn from as from the object's own
    /// calls.
    Report {
        /// The requests the lessee made, as it recorded them.
        health: Health,
        /// The values, by call.
        #[serde(default)]
        observed: Vec<LentValue>,
    },
    /// Report the upstream's health (the operator's view).
    Status,
    /// Drop the cached tool list and fetch it again, then report health.
    Refresh,
    /// Forget the upstream as configured, its tool list and its checkers: the operator changed
    /// or removed it, so the next command reads the configuration again; answers
    /// [`UpstreamAnswer::Forgotten`].
    Forget,
    /// The person opened the sign-in link `flow` of this account: where to send them.
    OpenSignIn {
        /// The link's id.
        flow: String,
    },
    /// The authorization server sent the person back to the runner.
    CompleteSignIn {
        /// The `state` it carried (without the object's address).
        state: String,
        /// The code, on success.
        #[serde(default)]
        code: Option<String>,
        /// The OAuth error, on failure.
        #[serde(default)]
        error: Option<String>,
        /// The issuer it named (RFC 9207).
        #[serde(default)]
        iss: Option<String>,
    },
    /// Forget this account's connection: the person disconnected it, or the operator revoked
    /// it.
    Disconnect,
    /// A sign-in link for the operator to connect a shared account.
    Connect,
    /// Whether this account is connected.
    AccountStatus,
}

impl UpstreamCommand {
    /// For a tool call, the tool and whose calls its result teaches
    /// ([`Learner`](super::observed::Learner)); `None` for any other command.
    pub fn learning(&self) -> Option<(&str, Learner)> {
        match self {
            UpstreamCommand::CallTool { name, person, .. } => {
                Some((name, Learner::new(person.as_ref().map(|p| p.id.as_str()))))
            }
            _ => None,
        }
    }
}

/// A value a call made in a lent session returned to the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LentValue {
    /// The tool's MCP name.
    pub tool: String,
    /// Whose call it was; none where the runner signs nobody in.
    #[serde(default)]
    pub person: Option<String>,
    /// The value.
    pub value: Value,
}

/// The person's answer to an upstream's question, as the upstream gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum QuestionAnswer {
    /// The JSON-RPC result.
    Result(Value),
    /// The JSON-RPC error: the person's client cannot answer, or did not.
    Error(ErrorData),
}

/// What the object answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "camelCase")]
pub enum UpstreamAnswer {
    /// The exposed tools.
    Tools {
        /// Every exposed tool, across pages.
        tools: Vec<Tool>,
        /// What the runner learned of the results of those that declare no `outputSchema`, by
        /// tool name.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        observed: BTreeMap<String, ObservedType>,
    },
    /// A tool's result (which may itself report `isError`).
    ToolResult {
        /// The result as the upstream sent it, secrets redacted.
        result: CallToolResult,
    },
    /// During the call, the upstream asked something only the person can answer; the call is
    /// held until [`UpstreamCommand::Answer`] brings the answer.
    Asked {
        /// The held call.
        call: String,
        /// What the upstream asked: `elicitation/create`, `sampling/createMessage`, `roots/list`.
        method: String,
        /// Its params, the upstream's words, secrets redacted.
        params: Value,
    },
    /// The arguments do not fit the tool's input schema; the upstream was not called.
    InvalidArguments {
        /// Each problem with its JSON path.
        detail: String,
    },
    /// The tool is not one the operator exposes, or the upstream does not list it.
    NotPermitted {
        /// Which, in one line.
        detail: String,
    },
    /// The first tool list is still being fetched.
    Pending {
        /// How long the request waited.
        waited_ms: u32,
        /// Why the last attempt failed, when it did (then the object did not wait).
        last_error: Option<UpstreamError>,
    },
    /// The upstream could not answer.
    Failed {
        /// Why.
        error: UpstreamError,
    },
    /// How many calls [`UpstreamCommand::Cancel`] stopped.
    Cancelled {
        /// Calls that were in flight.
        calls: u32,
    },
    /// The operator's view of the upstream.
    Status {
        /// Its health and cache.
        report: UpstreamStatus,
    },
    /// The object forgot the upstream (see [`UpstreamCommand::Forget`]).
    Forgotten,
    /// Whether [`UpstreamCommand::Report`] changed a tool's learned result type.
    Observed {
        /// Whether it did: the tool list as read before is stale.
        taught: bool,
    },
    /// The session, lent (see [`UpstreamCommand::Lease`]).
    Leased {
        /// What the lessee needs to call in it.
        lease: Lease,
    },
    /// Where to send a person who opened a sign-in link.
    Redirect {
        /// The authorization server's URL.
        url: String,
    },
    /// A sign-in completed: the account is connected.
    SignedIn {
        /// The upstream.
        upstream: String,
    },
    /// A sign-in step failed, for this reason (shown to the person).
    SignInFailed {
        /// Why.
        message: String,
    },
    /// The account's connection was forgotten.
    Disconnected {
        /// Whether it was connected.
        was_connected: bool,
    },
    /// Whether the account is connected.
    Account {
        /// When it connected, in ms since the epoch; `None` when it is not.
        connected_since_ms: Option<u64>,
    },
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_call_teaches_its_persons_learner_and_nothing_else_teaches() {
        let call = UpstreamCommand::CallTool {
            name: "count_by_label".into(),
            arguments: None,
            execution: None,
            person: Some(Person::access_key("alice")),
            approval: None,
        };
        let alice = Learner::new(Some("key:alice"));
        assert_eq!(call.learning(), Some(("count_by_label", alice)));
        let list = UpstreamCommand::ListTools {
            person: Some("key:alice".into()),
        };
        assert_eq!(list.learning(), None);
    }
}
