//! Why a request to an upstream failed, and how the upstream's own words are quoted in it:
//! cut to one line, capped, and in quotes so they cannot pass for the runner's.

use rmcp::model::ErrorData;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::quote::{cut, is_plain, string_literal};
use crate::redact::Secrets;

/// Why a request to an upstream failed. Messages never contain header values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum UpstreamError {
    /// The request did not reach the server or got no answer.
    #[error("unreachable: {detail}")]
    Unreachable {
        /// The transport's message.
        detail: String,
    },
    /// The server answered with an HTTP error status.
    #[error("HTTP {status}: {detail}")]
    HttpStatus {
        /// The status.
        status: u16,
        /// The start of the body.
        detail: String,
    },
    /// No answer arrived in time.
    #[error("no answer within {ms} ms")]
    Timeout {
        /// The time waited.
        ms: u32,
    },
    /// The runner's configuration for this upstream cannot be used.
    #[error("misconfigured: {detail}")]
    Misconfigured {
        /// What is wrong (names, never secret values).
        detail: String,
    },
    /// The server no longer knows the session (HTTP 404, or a 400 saying so, to a request
    /// carrying it; see [`crate::upstream::bounds::session_rejected`]). The request was not processed; the
    /// next one opens a new session.
    #[error("the upstream had ended the session, so the request was not processed; call again")]
    SessionExpired,
    /// The upstream's object lends no session for it ([`crate::upstream::session::Lease`]):
    /// its calls go through the object. The Worker falls back to the object on this error, so
    /// no program sees it.
    #[error("the upstream's object lends no session for it: {why}")]
    NoLease {
        /// Why, in one line.
        why: String,
    },
    /// The answer is not the JSON-RPC response that was asked for.
    #[error("malformed response: {detail}")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// The server answered with a JSON-RPC error.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// The error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The upstream (on the stateless protocol) needs the person to answer a question before it
    /// can finish, and no answer could be had; the request was given up.
    #[error("the upstream needs the person to answer {method}, and {reason}")]
    Unanswered {
        /// What the upstream asks.
        method: String,
        /// Why there is no answer, in the runner's words.
        reason: String,
    },
    /// The answer was larger than the upstream's `maxResultBytes`; the runner stopped reading it,
    /// so it cost no more memory than the limit.
    #[error(
        "the answer is too large: {size}, over this upstream's limit of {limit} bytes \
         (maxResultBytes); the runner did not read it",
        size = size_text(*.bytes, *.declared, *.limit)
    )]
    TooLarge {
        /// The declared length, or how many bytes had arrived when reading stopped.
        bytes: u64,
        /// Whether `bytes` is the answer's declared `Content-Length`.
        declared: bool,
        /// The limit.
        limit: u64,
    },
    /// The runner's client cancelled the execution while the call was in flight; the upstream
    /// was told to stop.
    #[error("cancelled by the client ({reason})")]
    Cancelled {
        /// The client's reason.
        reason: String,
    },
    /// The upstream refused the request's credentials (HTTP 401, or 403 with a Bearer
    /// challenge); an OAuth upstream's account decides what follows.
    #[error("HTTP {status}: the upstream refused the runner's credentials{}", challenge.as_ref().map(|c| format!(" (it says {c})")).unwrap_or_default())]
    Unauthorized {
        /// The status.
        status: u16,
        /// Its `WWW-Authenticate`, quoted and capped.
        challenge: Option<String>,
    },
    /// The upstream needs someone to sign in (or to grant more); the request was not
    /// processed. With a URL, the runner's sign-in link for the person; without, the upstream's
    /// account is shared and the operator connects it.
    #[error("{}", sign_in_text(upstream, url.as_deref(), reason))]
    AuthorizationRequired {
        /// The upstream.
        upstream: String,
        /// The runner's sign-in link for the person.
        url: Option<String>,
        /// Why, in a few words.
        reason: String,
    },
}

impl UpstreamError {
    /// The error for a request that could not be made, or an answer that could not be read,
    /// for the reason `detail` gives.
    pub fn unreachable(detail: impl ToString) -> Self {
        Self::Unreachable {
            detail: detail.to_string(),
        }
    }

    /// The error with every secret removed from its text. Every variant is listed, so a new
    /// one that carries text cannot be added without deciding how it is redacted.
    pub fn redacted(self, secrets: &Secrets) -> Self {
        let clean = |text: String| secrets.string(text);
        match self {
            Self::Unreachable { detail } => Self::Unreachable {
                detail: clean(detail),
            },
            Self::HttpStatus { status, detail } => Self::HttpStatus {
                status,
                detail: clean(detail),
            },
            Self::Timeout { ms } => Self::Timeout { ms },
            Self::Misconfigured { detail } => Self::Misconfigured {
                detail: clean(detail),
            },
            Self::SessionExpired => Self::SessionExpired,
            Self::NoLease { why } => Self::NoLease { why },
            Self::Malformed { detail } => Self::Malformed {
                detail: clean(detail),
            },
            Self::Rpc { code, message } => Self::Rpc {
                code,
                message: clean(message),
            },
            Self::Unanswered { method, reason } => Self::Unanswered {
                method,
                reason: clean(reason),
            },
            Self::TooLarge {
                bytes,
                declared,
                limit,
            } => Self::TooLarge {
                bytes,
                declared,
                limit,
            },
            Self::Cancelled { reason } => Self::Cancelled {
                reason: clean(reason),
            },
            Self::Unauthorized { status, challenge } => Self::Unauthorized {
                status,
                challenge: challenge.map(clean),
            },
            Self::AuthorizationRequired {
                upstream,
                url,
                reason,
            } => Self::AuthorizationRequired {
                upstream,
                url,
                reason: clean(reason),
            },
        }
    }
}

/// What an [`UpstreamError::AuthorizationRequired`] tells the model.
fn sign_in_text(upstream: &str, url: Option<&str>, reason: &str) -> String {
    match url {
        Some(url) => format!(
            "`{upstream}` needs the person to sign in: {reason}. Ask them to open {url} and to \
             come back when the page says so; then call again"
        ),
        None => format!(
            "`{upstream}` is one account the operator connects for everyone, and {reason}; ask \
             the operator to connect it (POST /admin/upstreams/{upstream}/connect)"
        ),
    }
}

/// How an oversized answer's size is told: its declared length, or where reading stopped.
fn size_text(bytes: u64, declared: bool, limit: u64) -> String {
    if declared {
        format!("{bytes} bytes (its declared length)")
    } else {
        format!("more than {limit} bytes (reading stopped at {bytes})")
    }
}

/// How much of a `WWW-Authenticate` is kept: enough for its parameters, bounded.
const CHALLENGE_CHARS: usize = 1024;

/// How much of an error body to quote.
pub(super) const DETAIL_CHARS: usize = 200;

/// The error for an answer with a non-2xx status and this body. The upstream's words are quoted
/// (as a JSON string, so they cannot pass for the runner's); a JSON-RPC error body is told by its
/// code and message.
pub fn http_failure(status: u16, body: &str) -> UpstreamError {
    let rpc_error = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|message| {
            serde_json::from_value::<ErrorData>(message.get("error")?.clone()).ok()
        });
    let detail = match rpc_error {
        Some(error) => format!("JSON-RPC error {} {}", error.code.0, quoted(&error.message)),
        None => quoted(body),
    };
    UpstreamError::HttpStatus { status, detail }
}

/// The error for an answer with status 401, or 403 with a Bearer challenge (`WWW-Authenticate`
/// `challenge`); `None` for any other answer.
pub fn refusal(status: u16, challenge: Option<String>) -> Option<UpstreamError> {
    let bearer = challenge
        .as_deref()
        .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("bearer"));
    (status == 401 || (status == 403 && bearer)).then(|| UpstreamError::Unauthorized {
        status,
        challenge: challenge.map(|c| one_line(&c).chars().take(CHALLENGE_CHARS).collect()),
    })
}

/// The start of `text` (see [`excerpt`]) as a quotation: the upstream's words, in quotes,
/// escapes and all.
fn quoted(text: &str) -> String {
    string_literal(&excerpt(text))
}

/// A short value an upstream's server sent where a token belongs (an OAuth error code, an
/// issuer): as it is when it is one (at most 100 characters of letters, digits and
/// `_ . : / -`), else its words quoted and cut, so that it cannot pass for the runner's.
pub(super) fn token_or_quoted(text: &str) -> String {
    match is_plain(text, 100, b"_.:/-") {
        true => text.to_owned(),
        false => quoted(text),
    }
}

/// The first characters of `text` on one line, cut at a character boundary.
pub(super) fn excerpt(text: &str) -> String {
    cut(&one_line(text), DETAIL_CHARS)
}

/// `text` with its line breaks as spaces, so a cause stays one line.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
