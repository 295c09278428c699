//! The streamable HTTP transport, as plain values: one [`HttpRequest`] in, one
//! [`HttpResponse`] out.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! POST carries JSON-RPC; `initialize` opens a session whose id travels in `Mcp-Session-Id`;
//! requests without a live session get 400 (no header) or 404 (unknown or ended); DELETE ends
//! a session. This server answers every request with `application/json` and offers no
//! server-to-client GET stream, so GET is 405.

use rmcp::model::ErrorCode;
use serde_json::Value;

use super::guard::{Refusal, RequestGuard};
use super::jsonrpc::{self, Message, Payload, Reply, Request};
use super::server::{self, method, ServerBackend};

/// The session header, as the spec spells it.
pub const SESSION_HEADER: &str = "Mcp-Session-Id";
/// The protocol version header clients send after `initialize`.
pub const PROTOCOL_VERSION_HEADER: &str = "MCP-Protocol-Version";

/// An HTTP request, reduced to what the transport reads.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: String,
    /// The URL's authority (`host[:port]`), used when there is no `Host` header.
    pub authority: String,
    /// Header names and values; names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The body (JSON, or empty).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn reply(status: u16, reply: &Reply) -> Self {
        Self::json(status, &reply.to_json())
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// The refusal response when `guard` turns `request` away (Host, Origin or token).
pub fn refused(request: &HttpRequest, guard: &RequestGuard) -> Option<HttpResponse> {
    let host = request.header("Host").unwrap_or(&request.authority);
    let refusal = guard
        .check(
            host,
            request.header("Origin"),
            request.header("Authorization"),
        )
        .err()?;
    let response = transport_error(refusal.status(), &refusal.to_string());
    Some(match refusal {
        Refusal::Token => {
            response.with_header("WWW-Authenticate", r#"Bearer realm="mcp-isolate-runner""#)
        }
        _ => response,
    })
}

/// Serves one request to the MCP endpoint, after the Host/Origin check.
pub async fn handle(
    request: &HttpRequest,
    guard: &RequestGuard,
    backend: &impl ServerBackend,
) -> HttpResponse {
    if let Some(refusal) = refused(request, guard) {
        return refusal;
    }
    match request.method.as_str() {
        "POST" => handle_post(request, backend).await,
        "DELETE" => handle_delete(request, backend).await,
        "GET" => transport_error(405, "Method Not Allowed: this server offers no GET stream")
            .with_header("Allow", "POST, DELETE"),
        _ => transport_error(405, "Method Not Allowed").with_header("Allow", "POST, DELETE"),
    }
}

async fn handle_post(request: &HttpRequest, backend: &impl ServerBackend) -> HttpResponse {
    if !request
        .header("Content-Type")
        .is_some_and(|t| media_type_is(t, "application/json"))
    {
        return transport_error(
            415,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    if let Some(accept) = request.header("Accept") {
        if !accepts_json(accept) {
            return transport_error(406, "Not Acceptable: Accept must allow application/json");
        }
    }
    let payload = match jsonrpc::parse(&request.body) {
        Ok(payload) => payload,
        Err(reply) => return HttpResponse::reply(400, &reply),
    };
    if let Payload::Single(Message::Request(req)) = &payload {
        match req.method.as_str() {
            method::INITIALIZE => return initialize(req, backend).await,
            method::SERVER_DISCOVER => {
                let reply = Reply::error(
                    Some(req.id.clone()),
                    ErrorCode::METHOD_NOT_FOUND,
                    "Method not found: this server speaks the session-based protocol; send \
                     `initialize`",
                );
                return HttpResponse::reply(404, &reply);
            }
            _ => {}
        }
    }
    if let Some(version) = request.header(PROTOCOL_VERSION_HEADER) {
        if !server::is_supported(version) {
            return transport_error(
                400,
                &format!("Bad Request: unsupported {PROTOCOL_VERSION_HEADER} `{version}`"),
            );
        }
    }
    let session_id = match live_session(request, backend).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match payload {
        Payload::Single(message) => match answer(backend, &session_id, message).await {
            Some(reply) => HttpResponse::reply(200, &reply),
            None => HttpResponse::empty(202),
        },
        Payload::Batch(items) => {
            let mut replies = Vec::new();
            for item in items {
                let reply = match item {
                    Ok(message) => answer(backend, &session_id, message).await,
                    Err(reply) => Some(reply),
                };
                replies.extend(reply.map(|r| r.to_json()));
            }
            if replies.is_empty() {
                HttpResponse::empty(202)
            } else {
                HttpResponse::json(200, &Value::Array(replies))
            }
        }
    }
}

async fn initialize(request: &Request, backend: &impl ServerBackend) -> HttpResponse {
    let version = match server::read_initialize(request) {
        Ok(version) => version,
        Err(reply) => return HttpResponse::reply(400, &reply),
    };
    match backend.open_session(&version).await {
        Ok(session_id) => HttpResponse::reply(200, &server::initialize_reply(request, version))
            .with_header(SESSION_HEADER, session_id),
        Err(err) => HttpResponse::reply(500, &err.into_reply(Some(request.id.clone()))),
    }
}

async fn answer(backend: &impl ServerBackend, session_id: &str, message: Message) -> Option<Reply> {
    match message {
        Message::Request(request) => Some(server::dispatch(backend, session_id, &request).await),
        Message::Notification(_) | Message::Response => None,
    }
}

async fn handle_delete(request: &HttpRequest, backend: &impl ServerBackend) -> HttpResponse {
    let session_id = match live_session(request, backend).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match backend.close_session(&session_id).await {
        Ok(true) => HttpResponse::empty(200),
        Ok(false) => session_not_found(),
        Err(err) => HttpResponse::reply(500, &err.into_reply(None)),
    }
}

/// The request's session id if it names a live session, else the response to send.
async fn live_session(
    request: &HttpRequest,
    backend: &impl ServerBackend,
) -> Result<String, HttpResponse> {
    let Some(session_id) = request.header(SESSION_HEADER) else {
        return Err(transport_error(
            400,
            &format!("Bad Request: {SESSION_HEADER} header is required; send `initialize` first"),
        ));
    };
    match backend.session_exists(session_id).await {
        Ok(true) => Ok(session_id.to_owned()),
        Ok(false) => Err(session_not_found()),
        Err(err) => Err(HttpResponse::reply(500, &err.into_reply(None))),
    }
}

fn session_not_found() -> HttpResponse {
    // -32001 is what the reference SDKs send with this 404.
    let reply = Reply::error(
        None,
        ErrorCode(-32001),
        "Session not found: it expired or was deleted; send `initialize` to start a new one",
    );
    HttpResponse::reply(404, &reply)
}

fn transport_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::reply(
        status,
        &Reply::error(None, ErrorCode::INVALID_REQUEST, message),
    )
}

fn media_type_is(header: &str, expected: &str) -> bool {
    header
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
}

fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let range = range.split(';').next().unwrap_or("").trim();
        ["application/json", "application/*", "*/*"]
            .iter()
            .any(|ok| range.eq_ignore_ascii_case(ok))
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::RefCell;
    use std::collections::HashSet;

    use futures::executor::block_on;
    use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ProtocolVersion, Tool};
    use serde_json::json;

    use super::*;
    use crate::mcp::BackendError;
    use crate::session::LogLevel;

    /// Sessions in a set, and one `echo` tool: enough to drive the transport.
    #[derive(Default)]
    struct Sessions(RefCell<HashSet<String>>);

    impl ServerBackend for Sessions {
        async fn open_session(&self, _: &ProtocolVersion) -> Result<String, BackendError> {
            let id = format!("s{}", self.0.borrow().len() + 1);
            self.0.borrow_mut().insert(id.clone());
            Ok(id)
        }
        async fn session_exists(&self, id: &str) -> Result<bool, BackendError> {
            Ok(self.0.borrow().contains(id))
        }
        async fn close_session(&self, id: &str) -> Result<bool, BackendError> {
            Ok(self.0.borrow_mut().remove(id))
        }
        async fn list_tools(&self, _: &str) -> Result<Vec<Tool>, BackendError> {
            Ok(vec![Tool::new("echo", "Echoes.", serde_json::Map::new())])
        }
        async fn set_log_level(&self, _: &str, _: LogLevel) -> Result<(), BackendError> {
            Ok(())
        }
        async fn call_tool(
            &self,
            _: &str,
            params: CallToolRequestParams,
        ) -> Result<CallToolResult, BackendError> {
            match params.name.as_ref() {
                "echo" => Ok(CallToolResult::success(vec![ContentBlock::text("hi")])),
                other => Err(BackendError::UnknownTool(other.into())),
            }
        }
    }

    /// `handle` with the default guard.
    async fn handle_(request: &HttpRequest, backend: &Sessions) -> HttpResponse {
        handle(request, &RequestGuard::default(), backend).await
    }

    fn post(session: Option<&str>, body: &str) -> HttpRequest {
        let mut headers = vec![
            ("content-type".into(), "application/json".into()),
            (
                "accept".into(),
                "application/json, text/event-stream".into(),
            ),
        ];
        if let Some(id) = session {
            headers.push(("mcp-session-id".into(), id.into()));
        }
        HttpRequest {
            method: "POST".into(),
            authority: "127.0.0.1:8787".into(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn body(response: &HttpResponse) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"test","version":"1"}}}"#;

    fn open(backend: &Sessions) -> String {
        let response = block_on(handle_(&post(None, INITIALIZE), backend));
        assert_eq!(response.status, 200);
        let (_, id) = response
            .headers
            .iter()
            .find(|(n, _)| n == SESSION_HEADER)
            .unwrap();
        id.clone()
    }

    #[test]
    fn initialize_echoes_a_supported_version_and_issues_a_session() {
        let backend = Sessions::default();
        let response = block_on(handle_(&post(None, INITIALIZE), &backend));
        let result = &body(&response)["result"];
        assert_eq!(result["protocolVersion"], "2025-06-18");
        assert_eq!(result["serverInfo"]["name"], "mcp-isolate-runner");
        assert!(result["capabilities"]["tools"].is_object());
        assert!(response
            .headers
            .iter()
            .any(|(n, v)| n == SESSION_HEADER && v == "s1"));
    }

    #[test]
    fn initialize_answers_an_unknown_version_with_the_newest_supported() {
        let body_text = INITIALIZE.replace("2025-06-18", "2099-01-01");
        let response = block_on(handle_(&post(None, &body_text), &Sessions::default()));
        assert_eq!(body(&response)["result"]["protocolVersion"], "2025-11-25");
    }

    #[test]
    fn initialize_with_bad_params_is_invalid_params() {
        let bad = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":1}}"#;
        let response = block_on(handle_(&post(None, bad), &Sessions::default()));
        assert_eq!(body(&response)["error"]["code"], -32602);
    }

    #[test]
    fn notifications_get_202_with_an_empty_body() {
        let backend = Sessions::default();
        let id = open(&backend);
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let response = block_on(handle_(&post(Some(&id), note), &backend));
        assert_eq!((response.status, response.body.len()), (202, 0));
    }

    #[test]
    fn ping_and_tools_list_answer_inside_a_session() {
        let backend = Sessions::default();
        let id = open(&backend);
        let ping = block_on(handle_(
            &post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#),
            &backend,
        ));
        assert_eq!(body(&ping), json!({"jsonrpc":"2.0","id":2,"result":{}}));
        let list = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        let tools = body(&block_on(handle_(&post(Some(&id), list), &backend)));
        assert_eq!(tools["result"]["tools"][0]["name"], "echo");
    }

    #[test]
    fn logging_set_level_accepts_rfc_5424_levels_and_refuses_others() {
        let backend = Sessions::default();
        let id = open(&backend);
        let set = |level: &str| {
            let request = format!(
                r#"{{"jsonrpc":"2.0","id":7,"method":"logging/setLevel","params":{{"level":"{level}"}}}}"#
            );
            body(&block_on(handle_(&post(Some(&id), &request), &backend)))
        };
        assert_eq!(set("warning"), json!({"jsonrpc":"2.0","id":7,"result":{}}));
        let refused = set("loud");
        assert_eq!(refused["error"]["code"], -32602);
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `loud`"));
    }

    #[test]
    fn tools_call_results_carry_no_result_type_for_session_versions() {
        let backend = Sessions::default();
        let id = open(&backend);
        let call = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"}}"#;
        let result = body(&block_on(handle_(&post(Some(&id), call), &backend)));
        assert_eq!(
            result["result"],
            json!({"content":[{"type":"text","text":"hi"}],"isError":false})
        );
    }

    #[test]
    fn unknown_tool_and_unknown_method_have_their_codes() {
        let backend = Sessions::default();
        let id = open(&backend);
        let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope"}}"#;
        assert_eq!(
            body(&block_on(handle_(&post(Some(&id), call), &backend)))["error"]["code"],
            -32602
        );
        let other = r#"{"jsonrpc":"2.0","id":6,"method":"resources/list"}"#;
        assert_eq!(
            body(&block_on(handle_(&post(Some(&id), other), &backend)))["error"]["code"],
            -32601
        );
    }

    #[test]
    fn requests_without_a_session_header_are_400_and_unknown_sessions_404() {
        let backend = Sessions::default();
        let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        assert_eq!(block_on(handle_(&post(None, ping), &backend)).status, 400);
        assert_eq!(
            block_on(handle_(&post(Some("nope"), ping), &backend)).status,
            404
        );
    }

    #[test]
    fn delete_ends_the_session_and_later_requests_get_404() {
        let backend = Sessions::default();
        let id = open(&backend);
        let mut delete = post(Some(&id), "");
        delete.method = "DELETE".into();
        assert_eq!(block_on(handle_(&delete, &backend)).status, 200);
        let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        assert_eq!(
            block_on(handle_(&post(Some(&id), ping), &backend)).status,
            404
        );
        assert_eq!(block_on(handle_(&delete, &backend)).status, 404);
    }

    #[test]
    fn server_discover_is_refused_at_once_with_404_and_method_not_found() {
        let probe = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#;
        let response = block_on(handle_(&post(None, probe), &Sessions::default()));
        assert_eq!(response.status, 404);
        assert_eq!(body(&response)["error"]["code"], -32601);
    }

    #[test]
    fn a_foreign_host_or_origin_is_403_before_anything_else() {
        let backend = Sessions::default();
        let mut rebound = post(None, INITIALIZE);
        rebound.authority = "evil.example.com".into();
        assert_eq!(block_on(handle_(&rebound, &backend)).status, 403);
        let mut cross_site = post(None, INITIALIZE);
        cross_site
            .headers
            .push(("origin".into(), "https://evil.example.com".into()));
        let response = block_on(handle_(&cross_site, &backend));
        assert_eq!(
            (response.status, body(&response)["error"]["code"].clone()),
            (403, json!(-32600))
        );
        assert!(backend.0.borrow().is_empty(), "no session was opened");
    }

    #[test]
    fn a_missing_token_is_401_with_www_authenticate() {
        let guard = RequestGuard::new(None, None, Some("t0ken".into()));
        let backend = Sessions::default();
        let response = block_on(handle(&post(None, INITIALIZE), &guard, &backend));
        assert_eq!(response.status, 401);
        assert!(response
            .headers
            .iter()
            .any(|(n, v)| n == "WWW-Authenticate" && v.starts_with("Bearer")));
        let mut authorized = post(None, INITIALIZE);
        authorized
            .headers
            .push(("authorization".into(), "Bearer t0ken".into()));
        assert_eq!(block_on(handle(&authorized, &guard, &backend)).status, 200);
    }

    #[test]
    fn get_is_405_and_names_the_allowed_methods() {
        let get = HttpRequest {
            method: "GET".into(),
            authority: "localhost:8787".into(),
            ..Default::default()
        };
        let response = block_on(handle_(&get, &Sessions::default()));
        assert_eq!(response.status, 405);
        assert!(response
            .headers
            .contains(&("Allow".into(), "POST, DELETE".into())));
    }

    #[test]
    fn wrong_content_type_accept_and_body_have_their_statuses() {
        let backend = Sessions::default();
        let mut wrong_type = post(None, INITIALIZE);
        wrong_type.headers[0].1 = "text/plain".into();
        assert_eq!(block_on(handle_(&wrong_type, &backend)).status, 415);
        let mut wrong_accept = post(None, INITIALIZE);
        wrong_accept.headers[1].1 = "text/html".into();
        assert_eq!(block_on(handle_(&wrong_accept, &backend)).status, 406);
        let garbage = block_on(handle_(&post(None, "{oops"), &backend));
        assert_eq!(
            (garbage.status, body(&garbage)["error"]["code"].clone()),
            (400, json!(-32700))
        );
    }

    #[test]
    fn an_unsupported_protocol_version_header_is_400() {
        let backend = Sessions::default();
        let id = open(&backend);
        let mut ping = post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
        ping.headers
            .push(("mcp-protocol-version".into(), "1999-01-01".into()));
        assert_eq!(block_on(handle_(&ping, &backend)).status, 400);
    }

    #[test]
    fn a_batch_answers_each_request_in_order() {
        let backend = Sessions::default();
        let id = open(&backend);
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
                        {"jsonrpc":"2.0","method":"notifications/initialized"},
                        {"jsonrpc":"2.0","id":2,"method":"nope"}]"#;
        let replies = body(&block_on(handle_(&post(Some(&id), batch), &backend)));
        assert_eq!(replies[0]["id"], 1);
        assert_eq!(replies[1]["error"]["code"], -32601);
        assert_eq!(replies.as_array().unwrap().len(), 2);
    }
}
