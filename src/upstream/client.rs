//! Requests to an upstream MCP server and reading its answers, as plain values.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! A server may answer a POST with `application/json` or with an SSE stream that carries the
//! response (perhaps after notifications); both are read here.

use rmcp::model::{ErrorData, ProtocolVersion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::sse;

/// The version the runner asks upstreams for; they may answer with an older one.
pub const CLIENT_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The header that carries the upstream's session id.
pub const SESSION_HEADER: &str = "mcp-session-id";

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
    /// The server no longer knows the session (HTTP 404 after initialize).
    #[error("the upstream ended the session")]
    SessionExpired,
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
}

/// How long the runner waits for an upstream's answer to one request.
pub const UPSTREAM_TIMEOUT_MS: u32 = 30_000;

/// How much of an error body to quote.
const DETAIL_CHARS: usize = 200;

/// A JSON-RPC request.
pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The `initialize` request the runner sends.
pub fn initialize_request(id: u64) -> Value {
    request(
        id,
        "initialize",
        json!({
            "protocolVersion": CLIENT_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}
        }),
    )
}

/// The notification that completes initialization.
pub fn initialized_notification() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// `tools/call` for `name` with `arguments`.
pub fn call_tool_request(id: u64, name: &str, arguments: Option<Map<String, Value>>) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": name, "arguments": arguments.unwrap_or_default()}),
    )
}

/// Whether an answer says the upstream no longer knows the session the request carried. The
/// spec's answer is 404; some servers (server-everything) answer 400 "No valid session ID". Either
/// way the request was refused unprocessed, so a new session and one retry are safe, even for
/// `tools/call`.
pub fn session_rejected(status: u16, sent_session: bool) -> bool {
    sent_session && matches!(status, 400 | 404)
}

/// Reads the result of request `id` from an HTTP answer.
pub fn read_response(
    status: u16,
    content_type: Option<&str>,
    body: &str,
    id: u64,
) -> Result<Value, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(UpstreamError::HttpStatus {
            status,
            detail: excerpt(body),
        });
    }
    let is_sse = content_type.is_some_and(|t| t.trim_start().starts_with("text/event-stream"));
    let messages: Vec<Value> = if is_sse {
        sse::event_data(body)
            .iter()
            .filter_map(|data| serde_json::from_str(data).ok())
            .collect()
    } else {
        let value: Value = serde_json::from_str(body).map_err(|e| UpstreamError::Malformed {
            detail: format!("body is not JSON ({e}): {}", excerpt(body)),
        })?;
        match value {
            Value::Array(items) => items,
            single => vec![single],
        }
    };
    let response = messages
        .into_iter()
        .find(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
        .ok_or_else(|| UpstreamError::Malformed {
            detail: format!("no response with id {id} in the answer: {}", excerpt(body)),
        })?;
    if let Some(error) = response.get("error") {
        let error: ErrorData =
            serde_json::from_value(error.clone()).map_err(|e| UpstreamError::Malformed {
                detail: format!("unreadable JSON-RPC error: {e}"),
            })?;
        return Err(UpstreamError::Rpc {
            code: error.code.0,
            message: error.message.into_owned(),
        });
    }
    response
        .get("result")
        .cloned()
        .ok_or_else(|| UpstreamError::Malformed {
            detail: format!("response {id} has neither result nor error"),
        })
}

/// The first characters of `text`, cut at a character boundary.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn reads_a_json_response() {
        let body = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}"#;
        assert_eq!(
            read_response(200, Some("application/json"), body, 3).unwrap(),
            json!({"tools": []})
        );
    }

    #[test]
    fn reads_an_sse_response_after_a_priming_event_and_a_notification() {
        let body = "id: a\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
                    event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"ok\":true}}\n\n";
        assert_eq!(
            read_response(200, Some("text/event-stream"), body, 9).unwrap(),
            json!({"ok": true})
        );
    }

    #[test]
    fn each_failure_has_its_own_error() {
        assert!(matches!(
            read_response(404, None, "", 1),
            Err(UpstreamError::HttpStatus { status: 404, .. })
        ));
        assert!(matches!(
            read_response(500, None, "boom", 1),
            Err(UpstreamError::HttpStatus { status: 500, .. })
        ));
        assert!(matches!(
            read_response(200, Some("application/json"), "<html>", 1),
            Err(UpstreamError::Malformed { .. })
        ));
        assert!(matches!(
            read_response(
                200,
                Some("application/json"),
                r#"{"jsonrpc":"2.0","id":2,"result":{}}"#,
                1
            ),
            Err(UpstreamError::Malformed { .. })
        ));
        let rpc = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#;
        assert_eq!(
            read_response(200, Some("application/json"), rpc, 1),
            Err(UpstreamError::Rpc {
                code: -32602,
                message: "bad".into()
            })
        );
    }

    #[test]
    fn a_400_or_404_to_a_request_with_a_session_means_the_session_is_gone() {
        assert!(session_rejected(404, true));
        assert!(session_rejected(400, true));
        assert!(
            !session_rejected(404, false),
            "without a session, 404 is just not found"
        );
        assert!(!session_rejected(500, true));
        assert!(!session_rejected(200, true));
    }

    #[test]
    fn long_error_bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(500);
        let Err(UpstreamError::HttpStatus { detail, .. }) = read_response(502, None, &body, 1)
        else {
            panic!("expected an HTTP error")
        };
        assert_eq!(detail.chars().count(), DETAIL_CHARS + 1);
    }
}
