//! Requests to an upstream MCP server and reading its answers, as plain values.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! A server may answer a POST with `application/json` or with an SSE stream that carries the
//! response (perhaps after notifications); both are read here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rmcp::model::{ErrorData, ProtocolVersion};
use serde_json::{json, Value};

use super::error::{excerpt, one_line};
pub use super::error::{http_failure, refusal, UpstreamError};

use super::bounds::{cut_deep, ByteBudget, MAX_MESSAGE_DEPTH};
use super::sse;
use crate::protocol::meta::{
    CAPABILITIES_KEY, CLIENT_INFO_KEY, METHOD_HEADER, NAME_HEADER, VERSION_KEY,
};
use crate::protocol::version::{STATELESS_VERSIONS, UPSTREAM_REQUESTED, UPSTREAM_VERSIONS};
use crate::protocol::{method, notification};

/// A JSON-RPC request.
pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The `initialize` request the runner sends. Its `_meta` repeats the version it asks for, so
/// that an upstream that speaks only the stateless protocol answers with the version it wants
/// (-32022) rather than with a malformed-request error.
pub fn initialize_request(id: u64) -> Value {
    request(
        id,
        method::INITIALIZE,
        json!({
            "protocolVersion": UPSTREAM_REQUESTED,
            "capabilities": client_capabilities(),
            "clientInfo": client_info(),
            "_meta": {
                VERSION_KEY: UPSTREAM_REQUESTED,
                CAPABILITIES_KEY: client_capabilities(),
                CLIENT_INFO_KEY: client_info(),
            }
        }),
    )
}

/// What the runner tells upstreams it can do as their client: pass their questions on to the
/// person (`elicitation/create` forms, `sampling/createMessage`) during a call, asked in the
/// session or, on the stateless protocol, with an `input_required` result. The person's client may not answer every kind; then the upstream gets an error saying
/// so. Not `roots`: servers ask for roots outside any call, on a stream the runner does not
/// hold open.
pub fn client_capabilities() -> Value {
    json!({"elicitation": {"form": {}}, "sampling": {}})
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

/// Whether an error answer to `initialize` (its `body`) says the upstream speaks only the
/// stateless protocol: `initialize` is an unknown method there (-32601), or its version is
/// refused (-32022) with the stateless one among those supported.
pub fn speaks_only_stateless(body: &str) -> bool {
    let Ok(message) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let stateless = STATELESS_VERSIONS[0].as_str();
    let supported = message
        .pointer("/error/data/supported")
        .and_then(Value::as_array);
    match message.pointer("/error/code").and_then(Value::as_i64) {
        Some(-32601) => true,
        Some(-32022) => supported.is_some_and(|s| s.iter().any(|v| v == stateless)),
        _ => false,
    }
}

/// `message` with the `_meta` every request of the stateless protocol carries: its version,
/// the runner's capabilities and its name.
pub fn with_stateless_meta(message: &Value) -> Value {
    let mut message = message.clone();
    if let Some(object) = message.as_object_mut() {
        let params = object.entry("params").or_insert_with(|| json!({}));
        if let Some(params) = params.as_object_mut() {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(VERSION_KEY.into(), json!(STATELESS_VERSIONS[0]));
                meta.insert(CAPABILITIES_KEY.into(), client_capabilities());
                meta.insert(CLIENT_INFO_KEY.into(), client_info());
            }
        }
    }
    message
}

/// The headers that repeat a message's method and the tool it calls (2026-07-28's `Mcp-Method`
/// and `Mcp-Name`); a name that is not plain visible ASCII is sent as base64.
pub fn method_headers(message: &Value) -> Vec<(&'static str, String)> {
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut headers = vec![(METHOD_HEADER, method.to_owned())];
    let called = (method == method::TOOLS_CALL).then(|| message.pointer("/params/name"));
    if let Some(name) = called.flatten().and_then(Value::as_str) {
        let plain = name.bytes().all(|b| (0x21..0x7f).contains(&b));
        let value = if plain {
            name.to_owned()
        } else {
            format!("=?base64?{}?=", STANDARD.encode(name))
        };
        headers.push((NAME_HEADER, value));
    }
    headers
}

/// The runner, as it names itself to upstreams.
fn client_info() -> Value {
    json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")})
}

/// Whether requests in a session of `version` carry the `MCP-Protocol-Version` header, which
/// protocol 2025-06-18 introduced.
pub fn sends_version_header(version: &str) -> bool {
    version >= ProtocolVersion::V_2025_06_18.as_str()
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
    /// A request from the server to the runner (such as `ping`, or a question for the person).
    Request {
        /// Its id, for the answer.
        id: Value,
        /// Its method.
        method: String,
        /// Its params (`null` when it has none).
        params: Value,
    },
}

/// Classifies one message, or says what is wrong with it. The message is taken, so that a
/// result is moved out of it rather than copied.
pub fn classify(mut message: Value) -> Result<Incoming, UpstreamError> {
    let method = message.get("method").and_then(Value::as_str);
    let id = message.get("id").filter(|id| !id.is_null()).cloned();
    match (method, id) {
        (Some(method), Some(id)) => Ok(Incoming::Request {
            id,
            method: method.to_owned(),
            params: message
                .get_mut("params")
                .map(Value::take)
                .unwrap_or_default(),
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
    /// Requests the upstream sent before the response, not yet answered: id, method, params.
    requests: Vec<(Value, String, Value)>,
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
            requests: Vec::new(),
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

    /// Where a reconnection would resume the stream, and after how long (its `id:` and
    /// `retry:`), once it set an id.
    pub fn resumption(&self) -> Option<(&str, Option<u32>)> {
        let id = self.events.last_event_id()?;
        Some((id, self.events.retry_ms()))
    }

    /// The methods of the notifications that came before the response.
    pub fn notifications(&self) -> &[String] {
        &self.notifications
    }

    /// The upstream's requests read so far and not yet taken, to be answered before the
    /// response can come.
    pub fn take_requests(&mut self) -> Vec<(Value, String, Value)> {
        std::mem::take(&mut self.requests)
    }

    fn event(&mut self, data: &str) -> Option<Result<Value, UpstreamError>> {
        let message = parse_message(data).ok().and_then(|m| classify(m).ok());
        match message {
            Some(Incoming::Response { id, outcome }) if id == self.id => Some(outcome),
            Some(Incoming::Notification { method }) => {
                self.notifications.push(method);
                None
            }
            Some(Incoming::Request { id, method, params }) => {
                self.requests.push((id, method, params));
                None
            }
            Some(Incoming::Response { .. }) => None,
            None => {
                self.unreadable = Some(data.to_owned());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
