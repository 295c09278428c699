//! MCP sessions as the runner keeps them: one Durable Object per session id holds a
//! [`SessionRecord`]; the fetch handler sends it [`SessionCommand`]s.

use serde::{Deserialize, Serialize};

/// What the runner remembers about one MCP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The protocol version negotiated at `initialize`.
    pub protocol_version: String,
    /// The upstreams executions in this session may call.
    pub upstreams: Vec<String>,
}

/// What the fetch handler asks a session's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum SessionCommand {
    /// Store a new session.
    Open {
        /// The session's record.
        record: SessionRecord,
    },
    /// Read the session; answers `Option<SessionRecord>`.
    Get,
    /// End the session; answers whether it existed.
    Close,
}
