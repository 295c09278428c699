//! Requests to an upstream MCP server and reading its answers, as plain values.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! A server may answer a POST with `application/json` or with an SSE stream that carries the
//! response (perhaps after notifications); both are read here.

use rmcp::model::{ErrorData, ProtocolVersion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::bounds::{cut_deep, ByteBudget, MAX_MESSAGE_DEPTH};
use super::sse;
use crate::protocol::version::{UPSTREAM_REQUESTED, UPSTREAM_VERSIONS};
use crate::protocol::{method, notification};
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
    /// carrying it; see [`super::bounds::session_rejected`]). The request was not processed; the
    /// next one opens a new session.
    #[error("the upstream had ended the session, so the request was not processed; call again")]
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
}

impl UpstreamError {
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
            Self::Malformed { detail } => Self::Malformed {
                detail: clean(detail),
            },
            Self::Rpc { code, message } => Self::Rpc {
                code,
                message: clean(message),
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
        }
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
        method::INITIALIZE,
        json!({
            "protocolVersion": UPSTREAM_REQUESTED,
            "capabilities": {},
            "clientInfo": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}
        }),
    )
}

/// The version the upstream chose in its `initialize` result, if the runner speaks it.
pub fn negotiated_version(initialize_result: &Value) -> Result<String, UpstreamError> {
    let version = initialize_result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| UpstreamError::Malformed {
            detail: "the initialize result has no protocolVersion".into(),
        })?;
    if UPSTREAM_VERSIONS
        .iter()
        .any(|known| known.as_str() == version)
    {
        Ok(version.to_owned())
    } else {
        Err(UpstreamError::Malformed {
            detail: format!(
                "the upstream speaks protocol {version}; the runner speaks {}",
                UPSTREAM_VERSIONS
                    .iter()
                    .map(ProtocolVersion::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// Whether requests in a session of `version` carry the `MCP-Protocol-Version` header, which
/// protocol 2025-06-18 introduced.
pub fn sends_version_header(version: &str) -> bool {
    version >= "2025-06-18"
}

/// The notification that completes initialization.
pub fn initialized_notification() -> Value {
    json!({"jsonrpc": "2.0", "method": notification::INITIALIZED})
}

/// The notification telling the upstream the runner gave up on request `id`.
pub fn cancelled_notification(id: u64, reason: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": notification::CANCELLED,
        "params": {"requestId": id, "reason": reason}
    })
}

/// An empty result for request `id`: the answer to an upstream's `ping`.
pub fn empty_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {}})
}

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
        Some(error) => format!(
            "JSON-RPC error {} {}",
            error.code.0,
            quoted(&excerpt(&error.message))
        ),
        None => quoted(&excerpt(body)),
    };
    UpstreamError::HttpStatus { status, detail }
}

/// `text` as a JSON string literal: the upstream's words, in quotes, escapes and all.
fn quoted(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// Parses one JSON-RPC message from an upstream, with anything nested deeper than
/// [`MAX_MESSAGE_DEPTH`] replaced by a marker first, so one over-deep value cannot make the rest
/// of the message unreadable.
pub fn parse_message(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&cut_deep(text, MAX_MESSAGE_DEPTH))
}

/// What one JSON-RPC message from an upstream is.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The answer to the request with this id: its result, or its error as [`UpstreamError::Rpc`].
    Response {
        /// The request's id.
        id: Value,
        /// Its result or error.
        outcome: Result<Value, UpstreamError>,
    },
    /// A notification.
    Notification {
        /// Its method.
        method: String,
    },
    /// A request from the server to the runner (such as `ping`).
    Request {
        /// Its id, for the answer.
        id: Value,
        /// Its method.
        method: String,
    },
}

/// Classifies one message, or says what is wrong with it. The message is taken, so that a
/// result is moved out of it rather than copied.
pub fn classify(message: Value) -> Result<Incoming, UpstreamError> {
    let method = message.get("method").and_then(Value::as_str);
    let id = message.get("id").filter(|id| !id.is_null()).cloned();
    match (method, id) {
        (Some(method), Some(id)) => Ok(Incoming::Request {
            id,
            method: method.to_owned(),
        }),
        (Some(method), None) => Ok(Incoming::Notification {
            method: method.to_owned(),
        }),
        (None, Some(id)) => Ok(Incoming::Response {
            outcome: response_outcome(message, &id),
            id,
        }),
        (None, None) => Err(UpstreamError::Malformed {
            detail: format!(
                "a message is neither request, notification nor response: {}",
                excerpt(&message.to_string())
            ),
        }),
    }
}

fn response_outcome(mut response: Value, id: &Value) -> Result<Value, UpstreamError> {
    if let Some(error) = response.get_mut("error").map(Value::take) {
        let error: ErrorData =
            serde_json::from_value(error).map_err(|e| UpstreamError::Malformed {
                detail: format!("unreadable JSON-RPC error: {e}"),
            })?;
        return Err(UpstreamError::Rpc {
            code: error.code.0,
            message: one_line(&error.message),
        });
    }
    response
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| UpstreamError::Malformed {
            detail: format!("response {id} has neither result nor error"),
        })
}

/// Reads the result of request `id` from a 2xx `application/json` answer.
pub fn read_json_response(body: &str, id: u64) -> Result<Value, UpstreamError> {
    let value: Value = parse_message(body).map_err(|e| UpstreamError::Malformed {
        detail: format!("the body is not JSON ({e}): {}", excerpt(body)),
    })?;
    let messages = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    messages
        .into_iter()
        .find_map(|message| match classify(message) {
            Ok(Incoming::Response { id: got, outcome }) if got == json!(id) => Some(outcome),
            _ => None,
        })
        .unwrap_or_else(|| {
            Err(UpstreamError::Malformed {
                detail: format!("no response with id {id} in the answer: {}", excerpt(body)),
            })
        })
}

/// The answer to request `id` read from an SSE stream as it arrives; notifications sent before
/// the response are collected for the caller.
#[derive(Debug)]
pub struct StreamedResponse {
    id: Value,
    /// The stream's bytes so far, against the upstream's size limit.
    budget: ByteBudget,
    events: sse::EventParser,
    notifications: Vec<String>,
    /// The last event that was not a JSON-RPC message, to explain a stream that ends early.
    unreadable: Option<String>,
}

impl StreamedResponse {
    /// Waits for the response to request `id`, reading at most `max_bytes` of the stream.
    pub fn new(id: u64, max_bytes: u64) -> Self {
        Self {
            id: json!(id),
            budget: ByteBudget::new(max_bytes),
            events: sse::EventParser::default(),
            notifications: Vec::new(),
            unreadable: None,
        }
    }

    /// Reads a chunk; returns the outcome once the response has arrived, or once the stream has
    /// passed its size limit (then it must not be read further).
    pub fn feed(&mut self, chunk: &[u8]) -> Option<Result<Value, UpstreamError>> {
        if let Err(too_large) = self.budget.take(chunk.len()) {
            return Some(Err(too_large));
        }
        match self.events.feed(chunk) {
            Ok(events) => events.into_iter().find_map(|event| self.event(&event.data)),
            Err(_) => Some(Err(self.budget.exceeded())),
        }
    }

    /// The outcome when the stream has ended.
    pub fn finish(mut self) -> Result<Value, UpstreamError> {
        let last = std::mem::take(&mut self.events).finish();
        if let Some(outcome) = last.and_then(|event| self.event(&event.data)) {
            return outcome;
        }
        let why = match self.unreadable {
            Some(data) => format!("an event is not JSON-RPC: {}", excerpt(&data)),
            None => "no event carried it".to_owned(),
        };
        Err(UpstreamError::Malformed {
            detail: format!(
                "the event stream ended without the response to request {}: {why}",
                self.id
            ),
        })
    }

    /// The methods of the notifications that came before the response.
    pub fn notifications(&self) -> &[String] {
        &self.notifications
    }

    fn event(&mut self, data: &str) -> Option<Result<Value, UpstreamError>> {
        let message = parse_message(data).ok().and_then(|m| classify(m).ok());
        match message {
            Some(Incoming::Response { id, outcome }) if id == self.id => Some(outcome),
            Some(Incoming::Notification { method }) => {
                self.notifications.push(method);
                None
            }
            Some(_) => None,
            None => {
                self.unreadable = Some(data.to_owned());
                None
            }
        }
    }
}

/// The first characters of `text` on one line, cut at a character boundary.
fn excerpt(text: &str) -> String {
    let line = one_line(text);
    match line.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// `text` with its line breaks as spaces, so a cause stays one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn reads_a_json_response() {
        let body = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}"#;
        assert_eq!(read_json_response(body, 3).unwrap(), json!({"tools": []}));
    }

    fn streamed(body: &str, id: u64) -> (Result<Value, UpstreamError>, Vec<String>) {
        let mut reader = StreamedResponse::new(id, 1 << 20);
        match reader.feed(body.as_bytes()) {
            Some(outcome) => (outcome, reader.notifications().to_vec()),
            None => {
                let seen = reader.notifications().to_vec();
                (reader.finish(), seen)
            }
        }
    }

    #[test]
    fn reads_an_sse_response_after_a_priming_event_and_notifications() {
        let body = "id: a\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
                    data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n\
                    event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"ok\":true}}\n\n";
        let (outcome, notifications) = streamed(body, 9);
        assert_eq!(outcome.unwrap(), json!({"ok": true}));
        assert_eq!(
            notifications,
            ["notifications/progress", notification::TOOLS_LIST_CHANGED]
        );
    }

    #[test]
    fn an_sse_response_is_found_before_the_stream_ends() {
        let mut reader = StreamedResponse::new(1, 1 << 20);
        assert_eq!(reader.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,"), None);
        assert_eq!(
            reader.feed(b"\"result\":{}}\n\n"),
            Some(Ok(json!({}))),
            "the response is returned as soon as its event is complete"
        );
    }

    #[test]
    fn a_stream_that_ends_without_the_response_says_what_it_saw() {
        let (outcome, _) = streamed("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\n\n", 4);
        let Err(UpstreamError::Malformed { detail }) = outcome else {
            panic!("expected a malformed-response error, got {outcome:?}")
        };
        assert!(
            detail.contains("ended without the response to request 4")
                && detail.contains(r#"{"jsonrpc":"2.0","id":"#),
            "{detail}"
        );
    }

    #[test]
    fn each_failure_has_its_own_error() {
        assert!(matches!(
            http_failure(500, "boom"),
            UpstreamError::HttpStatus { status: 500, .. }
        ));
        assert!(matches!(
            read_json_response("<html>", 1),
            Err(UpstreamError::Malformed { .. })
        ));
        assert!(matches!(
            read_json_response(r#"{"jsonrpc":"2.0","id":2,"result":{}}"#, 1),
            Err(UpstreamError::Malformed { .. })
        ));
        let rpc = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad\nthing"}}"#;
        assert_eq!(
            read_json_response(rpc, 1),
            Err(UpstreamError::Rpc {
                code: -32602,
                message: "bad thing".into()
            })
        );
    }

    #[test]
    fn classifies_requests_notifications_and_responses() {
        assert_eq!(
            classify(json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})).unwrap(),
            Incoming::Request {
                id: json!(7),
                method: "ping".into()
            }
        );
        assert_eq!(
            classify(json!({"jsonrpc": "2.0", "method": notification::TOOLS_LIST_CHANGED}))
                .unwrap(),
            Incoming::Notification {
                method: notification::TOOLS_LIST_CHANGED.into()
            }
        );
        assert!(classify(json!({"jsonrpc": "2.0"})).is_err());
    }

    #[test]
    fn negotiates_down_to_2024_11_05_and_refuses_unknown_versions() {
        for version in UPSTREAM_VERSIONS.iter().map(ProtocolVersion::as_str) {
            assert_eq!(
                negotiated_version(&json!({"protocolVersion": version})).unwrap(),
                version
            );
        }
        let err = negotiated_version(&json!({"protocolVersion": "2023-01-01"})).unwrap_err();
        assert!(
            err.to_string().contains("speaks protocol 2023-01-01"),
            "{err}"
        );
        assert!(!sends_version_header("2025-03-26"));
        assert!(sends_version_header("2025-06-18"));
    }

    #[test]
    fn a_stream_past_its_size_limit_fails_without_waiting_for_the_response() {
        let mut reader = StreamedResponse::new(1, 64);
        assert_eq!(reader.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,"), None);
        assert_eq!(
            reader.feed(&[b' '; 40]),
            Some(Err(UpstreamError::TooLarge {
                bytes: 70,
                declared: false,
                limit: 64
            }))
        );
    }

    #[test]
    fn a_deeply_nested_result_is_read_with_the_deep_part_marked() {
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let body = format!(r#"{{"jsonrpc":"2.0","id":2,"result":{{"a":1,"b":{deep}}}}}"#);
        let result = read_json_response(&body, 2).unwrap();
        assert_eq!(result["a"], 1);
        assert!(result.to_string().contains("cut by the runner"));
    }

    #[test]
    fn an_http_error_quotes_the_upstream_and_reads_a_json_rpc_error_body() {
        assert_eq!(
            http_failure(500, "boom \"quoted\"").to_string(),
            r#"HTTP 500: "boom \"quoted\"""#
        );
        let body =
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"order 7 is locked"}}"#;
        assert_eq!(
            http_failure(400, body).to_string(),
            r#"HTTP 400: JSON-RPC error -32602 "order 7 is locked""#
        );
    }

    #[test]
    fn redaction_reaches_the_text_an_upstream_supplied() {
        let secrets = Secrets::new(["s3cr3t".to_owned()], []);
        assert_eq!(
            http_failure(500, "token s3cr3t refused").redacted(&secrets),
            UpstreamError::HttpStatus {
                status: 500,
                detail: "\"token [redacted] refused\"".into()
            }
        );
        let rpc = UpstreamError::Rpc {
            code: -32603,
            message: "bad s3cr3t".into(),
        };
        assert_eq!(
            rpc.redacted(&secrets).to_string(),
            "JSON-RPC error -32603: bad [redacted]"
        );
    }

    #[test]
    fn a_secret_at_the_cut_of_an_error_body_leaves_no_part_behind() {
        let secret = "tok/Echo+5f3a9c1e";
        let secrets = Secrets::new([secret.to_owned()], []);
        // The secret starts 8 characters before the excerpt ends.
        let body = format!("{}{secret} and more", "x".repeat(DETAIL_CHARS - 8));
        let UpstreamError::HttpStatus { detail, .. } = http_failure(503, &body).redacted(&secrets)
        else {
            panic!("expected an HTTP error")
        };
        assert!(detail.ends_with("x[redacted]…\""), "{detail}");
        assert!(!detail.contains("tok/Ec"), "{detail}");
    }

    #[test]
    fn long_error_bodies_are_cut_on_a_character_boundary_to_one_line() {
        let body = "é\n".repeat(500);
        let UpstreamError::HttpStatus { detail, .. } = http_failure(502, &body) else {
            panic!("expected an HTTP error")
        };
        assert_eq!(
            detail.chars().count(),
            DETAIL_CHARS + 3,
            "the excerpt, `…` and quotes"
        );
        assert!(!detail.contains('\n'));
    }
}
