//! MCP sessions as the runner keeps them: one Durable Object per session id holds a
//! [`SessionRecord`]; the fetch handler sends it [`SessionCommand`]s.
//!
//! A session ends when the client deletes it or after [`SESSION_IDLE_TIMEOUT_MS`] without use,
//! so abandoned sessions do not pile up in storage. Each use pushes the expiry out, but only once
//! less than half the timeout remains, so a busy session costs a storage write at most about
//! twice per timeout rather than once per request.
//!
//! A session belongs to the person who opened it: a request signed in as someone else (or
//! as no one, once sign-in is required) finds no such session, exactly as if the id were never
//! issued. It is bound to the person, not the token, so it outlives a refreshed OAuth token.

pub mod recent;
mod room;
mod waiting;

pub use room::Room;
pub use waiting::WaitingRequests;

use std::collections::BTreeSet;

use rmcp::model::{ClientCapabilities, RequestId};
use serde::{Deserialize, Serialize};

use crate::protocol::log_level::LogLevel;
use crate::protocol::person::Person;

/// How long a session may go unused before it ends: 24 hours.
pub const SESSION_IDLE_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// The key a request is watched under in its session's object: its JSON-RPC id as JSON, so
/// `1` and `"1"` stay apart.
pub fn request_key(id: &RequestId) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

/// The key the answer to the runner's request `id` (one it sent the client) is watched under;
/// never the key of a client's request, which is JSON.
pub fn answer_key(id: &str) -> String {
    format!("answer {id}")
}

/// Whether a client that declared `client` answers form elicitations: it declared
/// `elicitation` with `form`, or empty (which meant forms before URL elicitation existed).
pub fn answers_forms(client: &ClientCapabilities) -> bool {
    let elicitation = client.elicitation.as_ref();
    elicitation.is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// What the runner remembers about one MCP session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// The protocol version negotiated at `initialize`.
    pub protocol_version: String,
    /// The upstreams executions in this session may call.
    pub upstreams: Vec<String>,
    /// The id of the person who opened the session; none when no sign-in was required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// When the session ends unless used, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
    /// The least severe runner log event the client wants as `notifications/message`
    /// (`logging/setLevel`); none until it asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
    /// What the client said at `initialize` it can do: answer its person's questions
    /// (elicitation), sample, list roots.
    #[serde(default)]
    pub client: ClientCapabilities,
    /// The tools the person approved for the rest of the session, as `upstream/tool`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub approved_tools: BTreeSet<String>,
}

impl SessionRecord {
    /// A session opened at `now_ms` by `person`.
    pub fn new(
        protocol_version: String,
        upstreams: Vec<String>,
        person: Option<&Person>,
        now_ms: u64,
    ) -> Self {
        Self {
            protocol_version,
            upstreams,
            person: person.map(|p| p.id.clone()),
            expires_at_ms: now_ms + SESSION_IDLE_TIMEOUT_MS,
            log_level: None,
            client: ClientCapabilities::default(),
            approved_tools: BTreeSet::new(),
        }
    }

    /// Whether a request signed in as `person` may use this session.
    pub fn is_held_by(&self, person: Option<&Person>) -> bool {
        self.person.as_deref() == person.map(|p| p.id.as_str())
    }

    /// Whether the session has ended by `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms
    }

    /// The record with its expiry pushed out, when a use at `now_ms` should store one: only
    /// once less than half the timeout remains.
    pub fn renewed(&self, now_ms: u64) -> Option<Self> {
        let remaining = self.expires_at_ms.saturating_sub(now_ms);
        (remaining < SESSION_IDLE_TIMEOUT_MS / 2).then(|| Self {
            expires_at_ms: now_ms + SESSION_IDLE_TIMEOUT_MS,
            ..self.clone()
        })
    }
}

/// What the fetch handler asks a session's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum SessionCommand {
    /// Store a new session.
    Open {
        /// The session's record.
        record: Box<SessionRecord>,
    },
    /// Read the session (counts as a use); answers `Option<SessionRecord>`.
    Get,
    /// End the session; answers whether it existed.
    Close,
    /// Set the session's log level; answers whether the session exists.
    SetLogLevel {
        /// The level the client asked for.
        level: LogLevel,
    },
    /// Watch `key` (a [`request_key`] or an [`answer_key`]): answered with a stream that
    /// carries what is delivered for it (the client's reason if it cancels the request, its
    /// answer to the runner's request), and stays empty otherwise.
    Watch {
        /// What is watched.
        key: String,
    },
    /// The client cancelled request `request`; answers whether it was being watched.
    Cancel {
        /// The request's JSON-RPC id, as JSON text.
        request: String,
        /// The client's reason.
        reason: String,
    },
    /// The client answered the runner's request `id`; answers whether someone was waiting.
    Answer {
        /// The id of the runner's request.
        id: String,
        /// The JSON-RPC response, as JSON text.
        response: String,
    },
    /// The person approved `tool` (`upstream/tool`) for the rest of the session; answers
    /// whether the session exists.
    ApproveForSession {
        /// The tool.
        tool: String,
    },
    /// Open the session's GET stream: answered with Server-Sent Events that stay open until
    /// the session ends.
    Listen,
    /// A runner log event that belongs to no request; sent on the session's GET streams if
    /// the client asked for events this severe. Answers how many streams it went to.
    Publish {
        /// How severe the event is.
        level: LogLevel,
        /// What happened, as structured data.
        data: serde_json::Value,
    },
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const OPENED: u64 = 1_000_000;

    fn record() -> SessionRecord {
        SessionRecord::new(
            "2025-11-25".into(),
            vec!["everything".into()],
            Some(&Person::access_key("alpha")),
            OPENED,
        )
    }

    #[test]
    fn a_session_is_held_only_by_the_person_who_opened_it() {
        let record = record();
        assert!(record.is_held_by(Some(&Person::access_key("alpha"))));
        assert!(!record.is_held_by(Some(&Person::access_key("beta"))));
        assert!(!record.is_held_by(Some(&Person::signed_in("alpha", None, vec![]))));
        assert!(!record.is_held_by(None));
        let open = SessionRecord {
            person: None,
            ..record
        };
        assert!(open.is_held_by(None));
        assert!(!open.is_held_by(Some(&Person::access_key("alpha"))));
    }

    #[test]
    fn a_session_expires_after_the_idle_timeout() {
        assert!(!record().is_expired(OPENED + SESSION_IDLE_TIMEOUT_MS - 1));
        assert!(record().is_expired(OPENED + SESSION_IDLE_TIMEOUT_MS));
    }

    #[test]
    fn a_use_renews_only_once_half_the_timeout_has_passed() {
        assert_eq!(record().renewed(OPENED + SESSION_IDLE_TIMEOUT_MS / 4), None);
        let later = OPENED + SESSION_IDLE_TIMEOUT_MS / 2 + 1;
        let renewed = record().renewed(later).unwrap();
        assert_eq!(renewed.expires_at_ms, later + SESSION_IDLE_TIMEOUT_MS);
        assert_eq!(renewed.upstreams, record().upstreams);
    }
}
