//! JSON-RPC 2.0 framing: turning a POST body into messages and replies into JSON.
//!
//! Only the envelope is checked here; each method's params are checked by the dispatcher with
//! rmcp's typed params, so a bad envelope is `-32600` and bad params are `-32602`.

use rmcp::model::{ErrorCode, ErrorData, JsonRpcError, RequestId};
use serde::Deserialize;
use serde_json::{json, Value};

/// One message a client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: it gets exactly one reply.
    Request(Request),
    /// A notification: it gets no reply.
    Notification(Notification),
    /// A response to a request the server sent (a question for the client's person).
    Response(Response),
}

/// A client's JSON-RPC response to one of the server's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the server's request.
    pub id: RequestId,
    /// The whole response, `result` or `error` included.
    pub message: Value,
}

/// A JSON-RPC request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id the reply must carry.
    pub id: RequestId,
    /// The method name, e.g. `tools/call`.
    pub method: String,
    /// The params, if any (always an object or array when present).
    pub params: Option<Value>,
}

/// A JSON-RPC notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method name, e.g. `notifications/initialized`.
    pub method: String,
    /// The params, if any.
    pub params: Option<Value>,
}

/// What one POST body held.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A single message.
    Single(Message),
    /// A JSON array of messages; an element that is not a valid message carries its error.
    Batch(Vec<Result<Message, Reply>>),
}

/// One reply to a request: a result or an error, ready to serialize.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A successful result.
    Result {
        /// The request's id.
        id: RequestId,
        /// The method's result object.
        result: Value,
    },
    /// An error; `id` is absent when the request's id could not be read.
    Error {
        /// The request's id, if it could be read.
        id: Option<RequestId>,
        /// Code, message and data (boxed: replies travel in `Result`s).
        error: Box<ErrorData>,
    },
}

impl Reply {
    /// An error reply.
    pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Reply::Error {
            id,
            error: Box::new(ErrorData::new(code, message.into(), None)),
        }
    }

    /// The reply as a JSON-RPC response object.
    pub fn to_json(&self) -> Value {
        match self {
            Reply::Result { id, result } => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Reply::Error { id, error } => serde_json::to_value(JsonRpcError::new(
                id.clone(),
                (**error).clone(),
            ))
            .unwrap_or_else(
                |_| json!({"jsonrpc": "2.0", "error": {"code": ErrorCode::INTERNAL_ERROR.0}}),
            ),
        }
    }
}

/// The envelope fields, all optional so that each problem gets its own message.
#[derive(Deserialize)]
struct Envelope {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Value>,
    result: Option<Value>,
    error: Option<Value>,
}

/// Parses a POST body. A body that is not JSON gives a `-32700` reply; an empty batch or a
/// single invalid message gives a `-32600` reply.
pub fn parse(body: &[u8]) -> Result<Payload, Reply> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Reply::error(
            None,
            ErrorCode::PARSE_ERROR,
            format!("Parse error: body is not JSON ({e})"),
        )
    })?;
    match value {
        Value::Array(items) if items.is_empty() => Err(Reply::error(
            None,
            ErrorCode::INVALID_REQUEST,
            "Invalid Request: empty batch",
        )),
        Value::Array(items) => Ok(Payload::Batch(
            items.into_iter().map(parse_message).collect(),
        )),
        other => parse_message(other).map(Payload::Single),
    }
}

fn parse_message(value: Value) -> Result<Message, Reply> {
    let invalid = |id: Option<RequestId>, why: &str| {
        Reply::error(
            id,
            ErrorCode::INVALID_REQUEST,
            format!("Invalid Request: {why}"),
        )
    };
    let envelope: Envelope =
        serde_json::from_value(value).map_err(|_| invalid(None, "expected a JSON object"))?;
    let id = match envelope.id {
        None => None,
        Some(raw) => Some(
            serde_json::from_value::<RequestId>(raw)
                .map_err(|_| invalid(None, "`id` must be a string or an integer"))?,
        ),
    };
    if envelope.jsonrpc != Some(Value::String("2.0".into())) {
        return Err(invalid(id, "`jsonrpc` must be \"2.0\""));
    }
    let method = match envelope.method {
        Some(Value::String(method)) => method,
        Some(_) => return Err(invalid(id, "`method` must be a string")),
        None if envelope.result.is_some() || envelope.error.is_some() => {
            let Some(id) = id else {
                return Err(invalid(None, "a response needs the `id` of its request"));
            };
            let (member, outcome) = match envelope.error {
                Some(error) => ("error", error),
                None => ("result", envelope.result.unwrap_or_default()),
            };
            let mut message = json!({"jsonrpc": "2.0", "id": id});
            message[member] = outcome;
            return Ok(Message::Response(Response { id, message }));
        }
        None => return Err(invalid(id, "`method` is missing")),
    };
    if let Some(params) = &envelope.params {
        if !params.is_object() && !params.is_array() {
            return Err(invalid(id, "`params` must be an object or an array"));
        }
    }
    Ok(match id {
        Some(id) => Message::Request(Request {
            id,
            method,
            params: envelope.params,
        }),
        None => Message::Notification(Notification {
            method,
            params: envelope.params,
        }),
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn error_code(result: Result<Payload, Reply>) -> i32 {
        match result {
            Err(Reply::Error { error, .. }) => error.code.0,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_request_with_params() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}"#;
        let Payload::Single(Message::Request(request)) = parse(body).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(request.id, RequestId::Number(7));
        assert_eq!(request.method, "tools/list");
    }

    #[test]
    fn a_message_without_id_is_a_notification() {
        let body = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert_eq!(
            parse(body).unwrap(),
            Payload::Single(Message::Notification(Notification {
                method: "notifications/initialized".into(),
                params: None,
            }))
        );
    }

    #[test]
    fn a_client_response_is_kept_whole_for_the_request_it_answers() {
        let body = br#"{"jsonrpc":"2.0","id":"s1","result":{"action":"accept"}}"#;
        let Payload::Single(Message::Response(response)) = parse(body).unwrap() else {
            panic!("not a response");
        };
        assert_eq!(response.id, RequestId::String("s1".into()));
        assert_eq!(
            response.message,
            json!({"jsonrpc": "2.0", "id": "s1", "result": {"action": "accept"}})
        );
        let failed = br#"{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"no"}}"#;
        let Payload::Single(Message::Response(response)) = parse(failed).unwrap() else {
            panic!("not a response");
        };
        assert_eq!(response.message["error"]["message"], "no");
        assert!(response.message.get("result").is_none());
        let anonymous = br#"{"jsonrpc":"2.0","result":{}}"#;
        assert!(parse(anonymous).is_err(), "a response names its request");
    }

    #[test]
    fn invalid_json_is_a_parse_error() {
        assert_eq!(error_code(parse(b"{not json")), -32700);
    }

    #[test]
    fn invalid_envelopes_are_invalid_requests() {
        for body in [
            &br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            br#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":3}"#,
            br#"{"jsonrpc":"2.0","id":1}"#,
            b"[]",
            b"42",
        ] {
            assert_eq!(
                error_code(parse(body)),
                -32600,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_batch_keeps_each_element_result() {
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#;
        let Payload::Batch(items) = parse(body).unwrap() else {
            panic!("not a batch")
        };
        assert!(matches!(items[0], Ok(Message::Request(_))));
        assert!(matches!(items[1], Err(Reply::Error { .. })));
    }

    #[test]
    fn error_reply_serializes_with_id_and_code() {
        let reply = Reply::error(
            Some(RequestId::Number(3)),
            ErrorCode::METHOD_NOT_FOUND,
            "nope",
        );
        assert_eq!(
            reply.to_json(),
            json!({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}})
        );
    }
}
