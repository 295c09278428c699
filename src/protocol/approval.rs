//! A person's approval of one tool call: how it was given, by whom and when. The runner
//! attaches it to a call that needs one, the upstream's object checks it is there, and the
//! audit entry records it (never the call's arguments).

use serde::{Deserialize, Serialize};

/// How a person approved a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalWay {
    /// They answered the runner's `elicitation/create` in their client, for this call.
    Elicitation,
    /// Earlier in the session they approved the tool for the rest of it.
    Session,
    /// They approved the call on the runner's approval page.
    Page,
}

/// One approval of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// How it was given.
    pub way: ApprovalWay,
    /// The id of the person who gave it; none on a runner that asks for no sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}
