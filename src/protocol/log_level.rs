//! Log severities, shared by the sessions that store a client's choice, the requests that carry
//! it and the Worker that sends log events.

use serde::{Deserialize, Serialize};

/// Log severities, as `logging/setLevel` names them (RFC 5424), least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something to look at.
    Warning,
    /// An operation failed.
    Error,
    /// A component failed.
    Critical,
    /// Action is needed now.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    /// Whether a client that asked for events at least as severe as `least` (if it asked at
    /// all) wants an event of this level.
    pub fn is_wanted(self, least: Option<LogLevel>) -> bool {
        least.is_some_and(|least| self >= least)
    }
}
