//! Bounds on what one answer from an upstream may cost the runner.
//!
//! - **Size**: an answer is counted as its bytes arrive ([`ByteBudget`]) and not read past the
//!   upstream's `maxResultBytes`, so a 60 MB result costs the runner at most that much memory and
//!   fails with its own error instead of exhausting the isolate.
//! - **Nesting**: JSON nested deeper than [`MAX_MESSAGE_DEPTH`] is replaced by a marker before it
//!   is parsed ([`cut_deep`], one pass, no recursion), so one over-deep schema or value cannot make
//!   the whole message, and with it every tool of the upstream, unreadable.
//! - **Expired sessions**: only a 404, or a 400 whose body says the session is unknown, means the
//!   upstream has forgotten the session ([`session_rejected`]); any other 400 is the upstream's
//!   error and is reported as such, the session kept.

use std::borrow::Cow;

use memchr::memchr2;

use super::error::UpstreamError;

/// JSON nesting kept from an upstream's message. serde_json refuses nesting past 128, and the
/// runner's own messages wrap an upstream's values a few levels deeper, so this leaves room.
pub const MAX_MESSAGE_DEPTH: usize = 100;

/// How much of an error body is kept to quote and to judge.
pub const ERROR_BODY_BYTES: u64 = 16 * 1024;

/// The bytes of one answer read so far, against a limit.
#[derive(Debug, Clone)]
pub struct ByteBudget {
    limit: u64,
    read: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { limit, read: 0 }
    }

    /// Refuses an answer whose declared `Content-Length` is over the limit before any of it is
    /// read; an absent or unreadable length is judged as the bytes arrive.
    pub fn check_declared(&self, content_length: Option<&str>) -> Result<(), UpstreamError> {
        match content_length.and_then(|length| length.trim().parse::<u64>().ok()) {
            Some(bytes) if bytes > self.limit => Err(UpstreamError::TooLarge {
                bytes,
                declared: true,
                limit: self.limit,
            }),
            _ => Ok(()),
        }
    }

    /// Counts `bytes` more; past the limit, the error to stop reading with.
    pub fn take(&mut self, bytes: usize) -> Result<(), UpstreamError> {
        self.read = self
            .read
            .saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
        if self.read > self.limit {
            return Err(self.exceeded());
        }
        Ok(())
    }

    /// The error for an answer found to be over the limit after `self.read` bytes.
    pub fn exceeded(&self) -> UpstreamError {
        UpstreamError::TooLarge {
            bytes: self.read,
            declared: false,
            limit: self.limit,
        }
    }
}

/// `text` with every array or object nested deeper than `max_depth` replaced by a string that
/// says it was cut; borrowed when nothing is that deep. One pass over the bytes, whatever the
/// nesting, so it is safe on any input (invalid JSON comes out as invalid as it went in).
pub fn cut_deep(text: &str, max_depth: usize) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied_to = 0;
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => at = string_end(bytes, at),
            b'{' | b'[' if depth == max_depth => {
                let end = container_end(bytes, at);
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied_to..at]);
                out.push_str(&depth_marker(max_depth));
                copied_to = end;
                at = end;
            }
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                at += 1;
            }
            _ => at += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied_to..]);
            Cow::Owned(out)
        }
    }
}

/// What replaces a value nested deeper than `max_depth`: a JSON string saying so.
fn depth_marker(max_depth: usize) -> String {
    format!("\"[cut by the runner: nested deeper than {max_depth} levels]\"")
}

/// The index just past the string starting at `start` (a `"`), or the end of the input.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    // A string can be megabytes long; memchr skips its ordinary bytes many at a time.
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr2(b'"', b'\\', rest)) {
        at += offset;
        if bytes[at] == b'"' {
            return at + 1;
        }
        at += 2;
    }
    bytes.len()
}

/// The index just past the array or object starting at `start`, or the end of the input.
fn container_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at = string_end(bytes, at);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

/// Whether an answer says the upstream no longer knows the session the request carried, so the
/// request was refused unprocessed and a new session is needed. The specification's answer is
/// 404. Some servers answer 400 instead (server-everything: "No valid session ID provided"; the
/// TypeScript SDK: "Server not initialized"), so a 400 counts when its body says so; any other
/// 400 is the upstream's own error about the request, and the session stays.
pub fn session_rejected(status: u16, sent_session: bool, body: &str) -> bool {
    sent_session && (status == 404 || (status == 400 && says_session_unknown(body)))
}

fn says_session_unknown(body: &str) -> bool {
    let text = body.to_ascii_lowercase();
    let about_session = text.contains("session")
        && [
            "no valid",
            "invalid",
            "unknown",
            "not found",
            "expired",
            "missing",
            "required",
        ]
        .iter()
        .any(|phrase| text.contains(phrase));
    about_session || text.contains("server not initialized")
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::{json, Value};

    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn shallow_json_is_left_as_it_is_without_a_copy() {
        let text = r#"{"a":[1,{"b":"x]}[{"}],"c":"\"{"}"#;
        assert!(matches!(cut_deep(text, 3), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn values_deeper_than_the_limit_become_a_marker_and_the_rest_parses() {
        let text = format!(r#"{{"keep":[[1]],"deep":{},"after":"[{{"}}"#, nested(300));
        let cut = cut_deep(&text, 3);
        let value: Value = serde_json::from_str(&cut).unwrap();
        assert_eq!(
            value,
            json!({
                "keep": [[1]],
                "deep": [["[cut by the runner: nested deeper than 3 levels]"]],
                "after": "[{"
            })
        );
    }

    #[test]
    fn a_message_nested_past_serde_json_s_limit_parses_once_cut() {
        let text = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{}}}"#, nested(5_000));
        assert!(serde_json::from_str::<Value>(&text).is_err());
        let cut = cut_deep(&text, MAX_MESSAGE_DEPTH);
        let value: Value = serde_json::from_str(&cut).unwrap();
        assert_eq!(value["id"], 1);
    }

    #[test]
    fn brackets_inside_strings_and_escapes_do_not_count() {
        let text = r#"[["\"[[[[", "\\"], "]]]]"]"#;
        assert_eq!(cut_deep(r#"["\"#, 1), r#"["\"#, "an escape at the very end");
        assert_eq!(cut_deep(r#"["[[[[["#, 1), r#"["[[[[["#, "an unended string");
        assert!(matches!(cut_deep(text, 2), Cow::Borrowed(_)));
        assert_eq!(
            cut_deep("[[[1]]", 1),
            "[\"[cut by the runner: nested deeper than 1 levels]\""
        );
    }

    #[test]
    fn a_budget_refuses_a_declared_length_and_stops_counting_past_the_limit() {
        let mut budget = ByteBudget::new(10);
        assert_eq!(budget.check_declared(Some("10")), Ok(()));
        assert_eq!(budget.check_declared(None), Ok(()));
        assert_eq!(budget.check_declared(Some("garbage")), Ok(()));
        assert_eq!(
            budget.check_declared(Some(" 60000000")),
            Err(UpstreamError::TooLarge {
                bytes: 60_000_000,
                declared: true,
                limit: 10
            })
        );
        assert_eq!(budget.take(6), Ok(()));
        assert_eq!(budget.take(4), Ok(()));
        assert_eq!(
            budget.take(1),
            Err(UpstreamError::TooLarge {
                bytes: 11,
                declared: false,
                limit: 10
            })
        );
    }

    #[test]
    fn the_size_error_says_how_large_and_what_the_limit_is() {
        let declared = ByteBudget::new(16)
            .check_declared(Some("62914560"))
            .unwrap_err();
        assert_eq!(
            declared.to_string(),
            "the answer is too large: 62914560 bytes (its declared length), over this upstream's \
             limit of 16 bytes (maxResultBytes); the runner did not read it"
        );
        let mut budget = ByteBudget::new(16);
        let streamed = budget.take(20).unwrap_err();
        assert_eq!(
            streamed.to_string(),
            "the answer is too large: more than 16 bytes (reading stopped at 20), over this \
             upstream's limit of 16 bytes (maxResultBytes); the runner did not read it"
        );
    }

    #[test]
    fn only_a_404_or_a_400_about_the_session_means_it_expired() {
        assert!(session_rejected(404, true, ""));
        let everything = r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#;
        assert!(session_rejected(400, true, everything));
        assert!(session_rejected(
            400,
            true,
            "Bad Request: Server not initialized"
        ));
        assert!(session_rejected(400, true, "Invalid or missing session ID"));
        let own_error = r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params: order 7 is locked"}}"#;
        assert!(!session_rejected(400, true, own_error));
        assert!(!session_rejected(400, true, ""));
        assert!(
            !session_rejected(404, false, ""),
            "without a session, 404 is just not found"
        );
        assert!(!session_rejected(500, true, "session not found"));
        assert!(!session_rejected(200, true, ""));
    }
}
