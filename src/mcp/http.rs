//! The streamable HTTP transport: one [`HttpRequest`] value in, one [`HttpResponse`] out.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! POST carries JSON-RPC; `initialize` opens a session whose id travels in `Mcp-Session-Id`;
//! requests without a live session get 400 (no header) or 404 (unknown or ended); DELETE ends
//! a session. The 2026-07-28 protocol, which has no sessions, shares the endpoint
//! ([`super::stateless`]). `tools/call` is answered with an SSE stream when the client accepts
//! one, so that progress and log notifications can precede the result; everything else is
//! answered with JSON. GET opens the session's stream of messages that belong to no request.

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use futures::channel::mpsc;
use rmcp::model::{ErrorCode, ProtocolVersion};
use serde_json::Value;

use super::context::RequestContext;
use super::events::{self, EventStream, EVENT_STREAM};
use super::guard::{Refusal, RequestGuard};
use super::jsonrpc::{self, Message, Payload, Reply, Request};
use super::server::{self, method, Caller, ServerBackend};
use super::stateless;

/// The session header, as the spec spells it.
pub const SESSION_HEADER: &str = "Mcp-Session-Id";
/// The protocol version header clients send after `initialize`.
pub const PROTOCOL_VERSION_HEADER: &str = "MCP-Protocol-Version";
/// The error code of a JSON answer to a request its client cancelled (as in LSP; MCP clients
/// discard answers to cancelled requests).
const REQUEST_CANCELLED: i32 = -32800;

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
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// A response body: complete, or produced while the client reads it.
pub enum Body {
    /// JSON, or empty.
    Complete(Vec<u8>),
    /// Server-Sent Events.
    Events(EventStream),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Complete(bytes) => write!(f, "Complete({})", String::from_utf8_lossy(bytes)),
            Body::Events(_) => f.write_str("Events(..)"),
        }
    }
}

impl HttpResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Complete(body.to_string().into_bytes()),
        }
    }

    /// A text response of `content_type`.
    pub fn text(status: u16, content_type: &str, body: String) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Complete(body.into_bytes()),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Complete(Vec::new()),
        }
    }

    fn events(stream: EventStream) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("Content-Type".into(), EVENT_STREAM.into()),
                ("Cache-Control".into(), "no-cache".into()),
            ],
            body: Body::Events(stream),
        }
    }

    fn reply(status: u16, reply: &Reply) -> Self {
        Self::json(status, &reply.to_json())
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The complete body (empty for a stream), for tests reading small answers.
    #[cfg(test)]
    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            Body::Complete(bytes) => bytes,
            Body::Events(_) => &[],
        }
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
pub async fn handle<B: ServerBackend + 'static>(
    request: &HttpRequest,
    guard: &RequestGuard,
    backend: &Rc<B>,
) -> HttpResponse {
    if let Some(refusal) = refused(request, guard) {
        return refusal;
    }
    match request.method.as_str() {
        "POST" => handle_post(request, backend).await,
        "GET" | "DELETE" if stateless::names_stateless_version(request) => transport_error(
            405,
            "Method Not Allowed: protocol 2026-07-28 has no sessions and no GET stream; POST each \
             request",
        )
        .with_header("Allow", "POST"),
        "DELETE" => handle_delete(request, backend.as_ref()).await,
        "GET" => handle_get(request, backend.as_ref()).await,
        _ => transport_error(405, "Method Not Allowed").with_header("Allow", "GET, POST, DELETE"),
    }
}

async fn handle_post<B: ServerBackend + 'static>(
    request: &HttpRequest,
    backend: &Rc<B>,
) -> HttpResponse {
    if !request
        .header("Content-Type")
        .is_some_and(|t| media_type_is(t, "application/json"))
    {
        return transport_error(
            415,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let accept = request.header("Accept").unwrap_or("*/*");
    if !accepts(accept, "application/json") {
        return transport_error(406, "Not Acceptable: Accept must allow application/json");
    }
    let payload = match jsonrpc::parse(&request.body) {
        Ok(payload) => payload,
        Err(reply) => return HttpResponse::reply(400, &reply),
    };
    if stateless::is_stateless(request, &payload) {
        return handle_stateless(request, payload, backend, accept).await;
    }
    if let Payload::Single(Message::Request(req)) = &payload {
        match req.method.as_str() {
            method::INITIALIZE => return initialize(req, backend.as_ref()).await,
            method::SERVER_DISCOVER => {
                let reply = Reply::error(
                    Some(req.id.clone()),
                    ErrorCode::METHOD_NOT_FOUND,
                    format!(
                        "Method not found: `server/discover` belongs to protocol {}, whose \
                         requests carry _meta[\"{}\"] and the {PROTOCOL_VERSION_HEADER} header; \
                         or send `initialize` to open a session",
                        stateless::VERSIONS[0].as_str(),
                        stateless::VERSION_KEY
                    ),
                );
                return HttpResponse::reply(404, &reply);
            }
            _ => {}
        }
    }
    // Clients send the header on every request after `initialize`; without it the spec says
    // to assume 2025-03-26.
    let version = request
        .header(PROTOCOL_VERSION_HEADER)
        .unwrap_or(ProtocolVersion::V_2025_03_26.as_str());
    if !server::is_supported(version) {
        return transport_error(
            400,
            &format!("Bad Request: unsupported {PROTOCOL_VERSION_HEADER} `{version}`"),
        );
    }
    let session_id = match live_session(request, backend.as_ref()).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match payload {
        Payload::Single(Message::Request(req)) => {
            let backend = Rc::clone(backend);
            respond(req, accept, |req, context| async move {
                server::dispatch(backend.as_ref(), &session_id, &req, &context).await
            })
            .await
        }
        Payload::Single(message) => match answer(backend.as_ref(), &session_id, message).await {
            Some(reply) => HttpResponse::reply(200, &reply),
            None => HttpResponse::empty(202),
        },
        Payload::Batch(_) if version != ProtocolVersion::V_2025_03_26.as_str() => {
            HttpResponse::reply(
                400,
                &Reply::error(
                    None,
                    ErrorCode::INVALID_REQUEST,
                    format!(
                        "Invalid Request: JSON-RPC batches were removed in protocol version \
                         2025-06-18; this session speaks {version}, so send one message per POST"
                    ),
                ),
            )
        }
        Payload::Batch(items) => {
            let mut replies = Vec::new();
            for item in items {
                let reply = match item {
                    Ok(message) => answer(backend.as_ref(), &session_id, message).await,
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

/// Serves a 2026-07-28 request: checked, then answered without a session.
async fn handle_stateless<B: ServerBackend + 'static>(
    request: &HttpRequest,
    payload: Payload,
    backend: &Rc<B>,
    accept: &str,
) -> HttpResponse {
    let req = match payload {
        Payload::Single(Message::Request(req)) => req,
        // Cancelling is closing the response stream; by request id, one caller could cancel
        // another's request. Nothing else a client sends needs acting on.
        Payload::Single(Message::Notification(_)) => return HttpResponse::empty(202),
        _ => {
            let reply = Reply::error(
                None,
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Invalid Request: in protocol {} a POST carries one JSON-RPC request or \
                     notification, never a batch or a response",
                    stateless::VERSIONS[0]
                ),
            );
            return HttpResponse::reply(400, &reply);
        }
    };
    let envelope = match stateless::check(request, &req) {
        Ok(envelope) => envelope,
        Err(refused) => return HttpResponse::reply(refused.status, &refused.reply),
    };
    if req.method == method::SERVER_DISCOVER {
        return HttpResponse::reply(200, &stateless::discover_result(&req));
    }
    if req.method == method::TOOLS_CALL {
        if let Err(reply) = server::typed_params::<rmcp::model::CallToolRequestParams>(&req) {
            return HttpResponse::reply(400, &reply);
        }
    }
    let backend = Rc::clone(backend);
    respond(req, accept, |req, context| async move {
        context.set_log_level(envelope.log_level);
        let reply = server::serve_caller(backend.as_ref(), Caller::Stateless, &req, &context).await;
        reply.map(|reply| stateless::complete(reply, &req.method))
    })
    .await
}

/// Answers `request` with `handler`'s reply: as an SSE stream carrying the notifications it
/// sends first when the request is a `tools/call` and the client accepts one, else as JSON.
async fn respond<Handler, Answer>(request: Request, accept: &str, handler: Handler) -> HttpResponse
where
    Handler: FnOnce(Request, RequestContext) -> Answer,
    Answer: Future<Output = Option<Reply>> + 'static,
{
    if request.method == method::TOOLS_CALL && accepts(accept, EVENT_STREAM) {
        let (sink, notifications) = mpsc::unbounded();
        let context = RequestContext::new(&request, Some(sink));
        return HttpResponse::events(events::answer(handler(request, context), notifications));
    }
    let id = request.id.clone();
    let context = RequestContext::new(&request, None);
    let reply = handler(request, context).await;
    HttpResponse::reply(200, &reply.unwrap_or_else(|| cancelled(&id)))
}

/// The JSON answer to a request its client cancelled: a JSON answer cannot be withheld, so
/// this one says why there is no result.
fn cancelled(id: &rmcp::model::RequestId) -> Reply {
    Reply::error(
        Some(id.clone()),
        ErrorCode(REQUEST_CANCELLED),
        "Request cancelled: the client sent notifications/cancelled for it",
    )
}

async fn initialize(request: &Request, backend: &impl ServerBackend) -> HttpResponse {
    let version = match server::read_initialize(request) {
        Ok(version) => version,
        Err(reply) => return HttpResponse::reply(400, &reply),
    };
    match backend.open_session(&version).await {
        Ok(session_id) => HttpResponse::reply(200, &server::initialize_reply(request, version))
            .with_header(SESSION_HEADER, session_id),
        Err(err) => {
            HttpResponse::reply(err.http_status(), &err.into_reply(Some(request.id.clone())))
        }
    }
}

/// The JSON reply to one message, if it gets one.
async fn answer(backend: &impl ServerBackend, session_id: &str, message: Message) -> Option<Reply> {
    match message {
        Message::Request(request) => {
            let context = RequestContext::new(&request, None);
            let reply = server::dispatch(backend, session_id, &request, &context).await;
            Some(reply.unwrap_or_else(|| cancelled(&request.id)))
        }
        Message::Notification(notification) => {
            server::notified(backend, session_id, &notification).await;
            None
        }
        Message::Response => None,
    }
}

/// Opens the session's GET stream, which carries what the runner says outside any request.
/// Event ids are not issued, so a `Last-Event-ID` has nothing to resume and is ignored.
async fn handle_get(request: &HttpRequest, backend: &impl ServerBackend) -> HttpResponse {
    if !accepts(request.header("Accept").unwrap_or("*/*"), EVENT_STREAM) {
        return transport_error(406, "Not Acceptable: Accept must allow text/event-stream");
    }
    let session_id = match live_session(request, backend).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    match backend.listen(&session_id).await {
        Ok(stream) => HttpResponse::events(stream),
        Err(err) => HttpResponse::reply(500, &err.into_reply(None)),
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

/// Whether an `Accept` header allows `media_type` (`type/subtype`).
fn accepts(accept: &str, media_type: &str) -> bool {
    let main_type = media_type.split('/').next().unwrap_or(media_type);
    accept.split(',').any(|range| {
        let range = range.split(';').next().unwrap_or("").trim();
        range.eq_ignore_ascii_case(media_type)
            || range.eq_ignore_ascii_case("*/*")
            || range
                .strip_suffix("/*")
                .is_some_and(|t| t.eq_ignore_ascii_case(main_type))
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::RefCell;
    use std::collections::HashSet;

    use futures::executor::block_on;
    use futures::StreamExt;
    use rmcp::model::{
        CallToolRequestParams, CallToolResult, ContentBlock, ProtocolVersion, RequestId, Tool,
    };
    use serde_json::json;

    use super::*;
    use crate::mcp::{BackendError, Caller};
    use crate::session::LogLevel;

    /// Sessions in a set, and one `echo` tool that reports progress and can be cancelled:
    /// enough to drive the transport.
    #[derive(Default)]
    struct Sessions {
        open: RefCell<HashSet<String>>,
        cancelled: RefCell<Vec<RequestId>>,
    }

    impl ServerBackend for Sessions {
        async fn open_session(&self, _: &ProtocolVersion) -> Result<String, BackendError> {
            let id = format!("s{}", self.open.borrow().len() + 1);
            self.open.borrow_mut().insert(id.clone());
            Ok(id)
        }
        async fn session_exists(&self, id: &str) -> Result<bool, BackendError> {
            Ok(self.open.borrow().contains(id))
        }
        async fn close_session(&self, id: &str) -> Result<bool, BackendError> {
            Ok(self.open.borrow_mut().remove(id))
        }
        async fn list_tools(&self, _: Caller<'_>) -> Result<Vec<Tool>, BackendError> {
            Ok(vec![Tool::new("echo", "Echoes.", serde_json::Map::new())])
        }
        async fn set_log_level(&self, _: &str, _: LogLevel) -> Result<(), BackendError> {
            Ok(())
        }
        async fn call_tool(
            &self,
            _: Caller<'_>,
            params: CallToolRequestParams,
            context: &RequestContext,
        ) -> Result<Option<CallToolResult>, BackendError> {
            match params.name.as_ref() {
                "echo" => {
                    context.progress(1, "echoing");
                    if self.cancelled.borrow().contains(context.id()) {
                        return Ok(None);
                    }
                    Ok(Some(CallToolResult::success(vec![ContentBlock::text(
                        "hi",
                    )])))
                }
                other => Err(BackendError::UnknownTool(other.into())),
            }
        }
        async fn cancel(&self, _: &str, id: &RequestId, _: &str) -> Result<(), BackendError> {
            self.cancelled.borrow_mut().push(id.clone());
            Ok(())
        }
        async fn listen(&self, session_id: &str) -> Result<EventStream, BackendError> {
            let opened = events::comment(&format!("listening to {session_id}"));
            Ok(futures::stream::once(async { opened }).boxed_local())
        }
        async fn metrics(&self, caller: Caller<'_>) -> Result<Value, BackendError> {
            Ok(json!({ "executions": 0, "caller": caller.session_id() }))
        }
    }

    /// `handle` with the default guard.
    async fn handle_(request: &HttpRequest, backend: &Rc<Sessions>) -> HttpResponse {
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

    /// The reply: the JSON body, or the last message of an event stream.
    fn body(response: HttpResponse) -> Value {
        match response.body {
            Body::Complete(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Body::Events(_) => messages(response).pop().expect("an empty stream"),
        }
    }

    /// Every message of an event stream, in order.
    fn messages(response: HttpResponse) -> Vec<Value> {
        let Body::Events(stream) = response.body else {
            panic!("not an event stream: {response:?}")
        };
        block_on(stream.collect::<Vec<_>>())
            .iter()
            .map(|frame| {
                let text = std::str::from_utf8(frame).unwrap();
                let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                serde_json::from_str(data).unwrap()
            })
            .collect()
    }

    const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"test","version":"1"}}}"#;

    fn open(backend: &Rc<Sessions>) -> String {
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
        let backend = Rc::new(Sessions::default());
        let response = block_on(handle_(&post(None, INITIALIZE), &backend));
        assert!(response
            .headers
            .iter()
            .any(|(n, v)| n == SESSION_HEADER && v == "s1"));
        let result = &body(response)["result"];
        assert_eq!(result["protocolVersion"], "2025-06-18");
        assert_eq!(result["serverInfo"]["name"], "mcp-isolate-runner");
        assert!(result["capabilities"]["tools"].is_object());
    }

    #[test]
    fn initialize_answers_an_unknown_version_with_the_newest_supported() {
        let body_text = INITIALIZE.replace("2025-06-18", "2099-01-01");
        let response = block_on(handle_(
            &post(None, &body_text),
            &Rc::new(Sessions::default()),
        ));
        assert_eq!(body(response)["result"]["protocolVersion"], "2025-11-25");
    }

    #[test]
    fn initialize_with_bad_params_is_invalid_params() {
        let bad = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":1}}"#;
        let response = block_on(handle_(&post(None, bad), &Rc::new(Sessions::default())));
        assert_eq!(body(response)["error"]["code"], -32602);
    }

    #[test]
    fn notifications_get_202_with_an_empty_body() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let response = block_on(handle_(&post(Some(&id), note), &backend));
        assert_eq!((response.status, response.bytes().len()), (202, 0));
    }

    #[test]
    fn ping_and_tools_list_answer_inside_a_session() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let ping = block_on(handle_(
            &post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#),
            &backend,
        ));
        assert_eq!(body(ping), json!({"jsonrpc":"2.0","id":2,"result":{}}));
        let list = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        let tools = body(block_on(handle_(&post(Some(&id), list), &backend)));
        assert_eq!(tools["result"]["tools"][0]["name"], "echo");
    }

    #[test]
    fn logging_set_level_accepts_rfc_5424_levels_and_refuses_others() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let set = |level: &str| {
            let request = format!(
                r#"{{"jsonrpc":"2.0","id":7,"method":"logging/setLevel","params":{{"level":"{level}"}}}}"#
            );
            body(block_on(handle_(&post(Some(&id), &request), &backend)))
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
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let call = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"}}"#;
        let result = body(block_on(handle_(&post(Some(&id), call), &backend)));
        assert_eq!(
            result["result"],
            json!({"content":[{"type":"text","text":"hi"}],"isError":false})
        );
    }

    #[test]
    fn unknown_tool_and_unknown_method_have_their_codes() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope"}}"#;
        assert_eq!(
            body(block_on(handle_(&post(Some(&id), call), &backend)))["error"]["code"],
            -32602
        );
        let other = r#"{"jsonrpc":"2.0","id":6,"method":"prompts/list"}"#;
        assert_eq!(
            body(block_on(handle_(&post(Some(&id), other), &backend)))["error"]["code"],
            -32601
        );
    }

    #[test]
    fn requests_without_a_session_header_are_400_and_unknown_sessions_404() {
        let backend = Rc::new(Sessions::default());
        let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        assert_eq!(block_on(handle_(&post(None, ping), &backend)).status, 400);
        assert_eq!(
            block_on(handle_(&post(Some("nope"), ping), &backend)).status,
            404
        );
    }

    #[test]
    fn delete_ends_the_session_and_later_requests_get_404() {
        let backend = Rc::new(Sessions::default());
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
        let response = block_on(handle_(&post(None, probe), &Rc::new(Sessions::default())));
        assert_eq!(response.status, 404);
        assert_eq!(body(response)["error"]["code"], -32601);
    }

    #[test]
    fn a_foreign_host_or_origin_is_403_before_anything_else() {
        let backend = Rc::new(Sessions::default());
        let mut rebound = post(None, INITIALIZE);
        rebound.authority = "evil.example.com".into();
        assert_eq!(block_on(handle_(&rebound, &backend)).status, 403);
        let mut cross_site = post(None, INITIALIZE);
        cross_site
            .headers
            .push(("origin".into(), "https://evil.example.com".into()));
        let response = block_on(handle_(&cross_site, &backend));
        assert_eq!(response.status, 403);
        assert_eq!(body(response)["error"]["code"], -32600);
        assert!(backend.open.borrow().is_empty(), "no session was opened");
    }

    #[test]
    fn a_missing_token_is_401_with_www_authenticate() {
        let guard = RequestGuard::new(None, None, Some("t0ken".into()));
        let backend = Rc::new(Sessions::default());
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

    fn get(session: Option<&str>, accept: &str) -> HttpRequest {
        let mut headers = vec![("accept".into(), accept.into())];
        if let Some(id) = session {
            headers.push(("mcp-session-id".into(), id.into()));
        }
        HttpRequest {
            method: "GET".into(),
            authority: "localhost:8787".into(),
            headers,
            ..Default::default()
        }
    }

    #[test]
    fn get_opens_the_sessions_event_stream() {
        let backend = Rc::new(Sessions::default());
        let session = open(&backend);
        let response = block_on(handle_(&get(Some(&session), EVENT_STREAM), &backend));
        assert_eq!(response.status, 200);
        assert!(response
            .headers
            .contains(&("Content-Type".into(), EVENT_STREAM.into())));
        let Body::Events(stream) = response.body else {
            panic!("expected an event stream, got {:?}", response.body);
        };
        let frames: Vec<String> = block_on(stream.collect::<Vec<_>>())
            .into_iter()
            .map(|f| String::from_utf8(f).unwrap())
            .collect();
        assert_eq!(frames, [format!(": listening to {session}\n\n")]);
    }

    #[test]
    fn get_needs_a_live_session_and_an_event_stream_accept() {
        let backend = Rc::new(Sessions::default());
        let session = open(&backend);
        let status = |request: HttpRequest| block_on(handle_(&request, &backend)).status;
        assert_eq!(status(get(None, EVENT_STREAM)), 400);
        assert_eq!(status(get(Some("never-issued"), EVENT_STREAM)), 404);
        assert_eq!(status(get(Some(&session), "application/json")), 406);
    }

    #[test]
    fn other_methods_are_405_and_name_the_allowed_ones() {
        let put = HttpRequest {
            method: "PUT".into(),
            authority: "localhost:8787".into(),
            ..Default::default()
        };
        let response = block_on(handle_(&put, &Rc::new(Sessions::default())));
        assert_eq!(response.status, 405);
        assert!(response
            .headers
            .contains(&("Allow".into(), "GET, POST, DELETE".into())));
    }

    #[test]
    fn wrong_content_type_accept_and_body_have_their_statuses() {
        let backend = Rc::new(Sessions::default());
        let mut wrong_type = post(None, INITIALIZE);
        wrong_type.headers[0].1 = "text/plain".into();
        assert_eq!(block_on(handle_(&wrong_type, &backend)).status, 415);
        let mut wrong_accept = post(None, INITIALIZE);
        wrong_accept.headers[1].1 = "text/html".into();
        assert_eq!(block_on(handle_(&wrong_accept, &backend)).status, 406);
        let garbage = block_on(handle_(&post(None, "{oops"), &backend));
        assert_eq!(garbage.status, 400);
        assert_eq!(body(garbage)["error"]["code"], -32700);
    }

    #[test]
    fn an_unsupported_protocol_version_header_is_400() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let mut ping = post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
        ping.headers
            .push(("mcp-protocol-version".into(), "1999-01-01".into()));
        assert_eq!(block_on(handle_(&ping, &backend)).status, 400);
    }

    #[test]
    fn a_batch_answers_each_request_in_order() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
                        {"jsonrpc":"2.0","method":"notifications/initialized"},
                        {"jsonrpc":"2.0","id":2,"method":"nope"}]"#;
        let replies = body(block_on(handle_(&post(Some(&id), batch), &backend)));
        assert_eq!(replies[0]["id"], 1);
        assert_eq!(replies[1]["error"]["code"], -32601);
        assert_eq!(replies.as_array().unwrap().len(), 2);
    }

    fn with_header(mut request: HttpRequest, name: &str, value: &str) -> HttpRequest {
        request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        request.headers.push((name.into(), value.into()));
        request
    }

    const CALL_WITH_PROGRESS: &str = r#"{"jsonrpc":"2.0","id":8,"method":"tools/call",
        "params":{"name":"echo","_meta":{"progressToken":"tok"}}}"#;

    #[test]
    fn tools_call_streams_progress_before_the_result_when_the_client_accepts_sse() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let response = block_on(handle_(&post(Some(&id), CALL_WITH_PROGRESS), &backend));
        assert!(response
            .headers
            .contains(&("Content-Type".into(), "text/event-stream".into())));
        let sent = messages(response);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0]["method"], "notifications/progress");
        assert_eq!(sent[0]["params"]["progressToken"], "tok");
        assert_eq!(sent[1]["id"], 8);
        assert_eq!(sent[1]["result"]["content"][0]["text"], "hi");
    }

    #[test]
    fn a_json_only_client_gets_the_result_as_json() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let request = with_header(
            post(Some(&id), CALL_WITH_PROGRESS),
            "accept",
            "application/json",
        );
        let response = block_on(handle_(&request, &backend));
        assert_eq!(body(response)["result"]["content"][0]["text"], "hi");
    }

    #[test]
    fn a_cancelled_call_gets_no_reply() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled",
            "params":{"requestId":8,"reason":"user pressed stop"}}"#;
        let response = block_on(handle_(&post(Some(&id), cancel), &backend));
        assert_eq!(response.status, 202);
        assert_eq!(*backend.cancelled.borrow(), vec![RequestId::Number(8)]);
        let sent = messages(block_on(handle_(
            &post(Some(&id), CALL_WITH_PROGRESS),
            &backend,
        )));
        assert!(sent.iter().all(|m| m.get("id").is_none()), "{sent:?}");
    }

    #[test]
    fn batches_are_refused_from_2025_06_18_on() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let request = with_header(
            post(Some(&id), batch),
            PROTOCOL_VERSION_HEADER,
            "2025-06-18",
        );
        let response = block_on(handle_(&request, &backend));
        assert_eq!(response.status, 400);
        let reply = body(response);
        assert_eq!(reply["error"]["code"], -32600);
        assert!(reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("batches"));
    }

    /// A 2026-07-28 POST: the envelope in `_meta` and the headers repeating it.
    fn stateless_post(method_name: &str, params: Value) -> HttpRequest {
        let mut params = params;
        params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2026-07-28");
        params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": method_name, "params": params});
        let mut request = post(None, &body.to_string());
        request
            .headers
            .push((PROTOCOL_VERSION_HEADER.into(), "2026-07-28".into()));
        request
            .headers
            .push(("Mcp-Method".into(), method_name.into()));
        if let Some(name) = params["name"].as_str() {
            request.headers.push(("Mcp-Name".into(), name.into()));
        }
        request
    }

    #[test]
    fn stateless_requests_need_no_session_and_say_their_results_are_complete() {
        let backend = Rc::new(Sessions::default());
        let discover = body(block_on(handle_(
            &stateless_post("server/discover", json!({})),
            &backend,
        )));
        assert_eq!(
            discover["result"]["supportedVersions"],
            json!(["2026-07-28"])
        );
        let list = block_on(handle_(&stateless_post("tools/list", json!({})), &backend));
        assert!(list.headers.iter().all(|(n, _)| n != SESSION_HEADER));
        let list = body(list);
        assert_eq!(list["result"]["resultType"], "complete");
        assert_eq!(list["result"]["tools"][0]["name"], "echo");
        let call = stateless_post(
            "tools/call",
            json!({"name": "echo", "_meta": {"progressToken": 1}}),
        );
        let sent = messages(block_on(handle_(&call, &backend)));
        assert_eq!(sent[0]["method"], "notifications/progress");
        assert_eq!(sent[1]["result"]["resultType"], "complete");
        assert!(backend.open.borrow().is_empty(), "no session was opened");
    }

    #[test]
    fn the_metrics_resource_is_listed_and_read_for_its_caller() {
        let backend = Rc::new(Sessions::default());
        let id = open(&backend);
        let send = |text: &str| body(block_on(handle_(&post(Some(&id), text), &backend)));
        let listed = send(r#"{"jsonrpc":"2.0","id":2,"method":"resources/list"}"#);
        assert_eq!(listed["result"]["resources"][0]["uri"], "runner://metrics");
        assert_eq!(
            listed["result"]["resources"][0]["mimeType"],
            "application/json"
        );
        let templates = send(r#"{"jsonrpc":"2.0","id":3,"method":"resources/templates/list"}"#);
        assert_eq!(templates["result"]["resourceTemplates"], json!([]));
        let read = send(
            r#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"runner://metrics"}}"#,
        );
        let contents = &read["result"]["contents"][0];
        assert_eq!(contents["mimeType"], "application/json");
        let metrics: Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
        assert_eq!(metrics["caller"], json!(id));
        let missing = send(
            r#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#,
        );
        assert_eq!(missing["error"]["code"], -32002);
        assert_eq!(missing["error"]["data"]["uri"], "file:///etc/passwd");
        let stateless = body(block_on(handle_(
            &stateless_post("resources/read", json!({"uri": "runner://metrics"})),
            &backend,
        )));
        assert_eq!(stateless["result"]["resultType"], "complete");
        assert!(stateless["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"caller\": null"));
    }

    #[test]
    fn a_stateless_get_is_405_allowing_only_post() {
        let get = HttpRequest {
            method: "GET".into(),
            authority: "localhost:8787".into(),
            headers: vec![(PROTOCOL_VERSION_HEADER.into(), "2026-07-28".into())],
            ..Default::default()
        };
        let response = block_on(handle_(&get, &Rc::new(Sessions::default())));
        assert_eq!(response.status, 405);
        assert!(response.headers.contains(&("Allow".into(), "POST".into())));
    }
}
