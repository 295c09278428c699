//! What the transport and dispatch tests share: a backend of sessions in a set with one `echo`
//! tool, and requests and answers as a client writes and reads them.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use futures::executor::block_on;
use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    ProtocolVersion, RequestId, Resource, ResourceContents, Tool,
};
use serde_json::{json, Value};

use super::context::RequestContext;
use super::events;
use super::guard::RequestGuard;
use super::http::{handle, refused};
use super::{BackendError, Caller, ServerBackend};
use crate::protocol::http::{
    Body, EventStream, HttpRequest, HttpResponse, PROTOCOL_VERSION_HEADER, SESSION_HEADER,
};
use crate::protocol::log_level::LogLevel;

pub(super) const METRICS: &str = "runner://metrics";

/// Sessions in a set, and one `echo` tool that reports progress and can be cancelled:
/// enough to drive the transport.
#[derive(Default)]
pub(super) struct Sessions {
    pub(super) open: RefCell<HashSet<String>>,
    pub(super) cancelled: RefCell<Vec<RequestId>>,
}

impl ServerBackend for Sessions {
    const INSTRUCTIONS: &'static str = "Echoes.";

    async fn answered(&self, _: &str, _: &str, _: &Value) -> Result<(), BackendError> {
        Ok(())
    }

    async fn open_session(
        &self,
        _: &ProtocolVersion,
        _: &ClientCapabilities,
    ) -> Result<String, BackendError> {
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
    ) -> Result<Option<CallToolResponse>, BackendError> {
        match params.name.as_ref() {
            "echo" => {
                context.progress(1, "echoing");
                if self.cancelled.borrow().contains(context.id()) {
                    return Ok(None);
                }
                let said = CallToolResult::success(vec![ContentBlock::text("hi")]);
                Ok(Some(CallToolResponse::Complete(said)))
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
    async fn list_resources(&self, _caller: Caller<'_>) -> Result<Vec<Resource>, BackendError> {
        Ok(vec![
            Resource::new(METRICS, "metrics").with_mime_type("application/json")
        ])
    }
    async fn read_resource(
        &self,
        caller: Caller<'_>,
        uri: &str,
    ) -> Result<Option<ResourceContents>, BackendError> {
        let metrics = json!({ "executions": 0, "caller": caller.session_id() });
        Ok((uri == METRICS).then(|| {
            ResourceContents::text(serde_json::to_string_pretty(&metrics).unwrap(), METRICS)
                .with_mime_type("application/json")
        }))
    }
}

/// `request` served as the Worker serves it, under `guard`: refused, or handled.
pub(super) async fn serve_with(
    request: &HttpRequest,
    guard: &RequestGuard,
    backend: &Rc<Sessions>,
) -> HttpResponse {
    match refused(request, guard) {
        Some(refusal) => refusal,
        None => handle(request, backend).await,
    }
}

/// `request` served under the default guard.
pub(super) async fn serve(request: &HttpRequest, backend: &Rc<Sessions>) -> HttpResponse {
    serve_with(request, &RequestGuard::default(), backend).await
}

pub(super) fn post(session: Option<&str>, body: &str) -> HttpRequest {
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
pub(super) fn body(response: HttpResponse) -> Value {
    match response.body {
        Body::Complete(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Body::Events(_) => messages(response).pop().expect("an empty stream"),
    }
}

/// Every message of an event stream, in order.
pub(super) fn messages(response: HttpResponse) -> Vec<Value> {
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

pub(super) const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
    "protocolVersion":"2025-06-18","capabilities":{},
    "clientInfo":{"name":"test","version":"1"}}}"#;

pub(super) fn open(backend: &Rc<Sessions>) -> String {
    let response = block_on(serve(&post(None, INITIALIZE), backend));
    assert_eq!(response.status, 200);
    let (_, id) = response
        .headers
        .iter()
        .find(|(n, _)| n == SESSION_HEADER)
        .unwrap();
    id.clone()
}

pub(super) const CALL_WITH_PROGRESS: &str = r#"{"jsonrpc":"2.0","id":8,"method":"tools/call",
    "params":{"name":"echo","_meta":{"progressToken":"tok"}}}"#;

/// A 2026-07-28 POST: the envelope in `_meta` and the headers repeating it.
pub(super) fn stateless_post(method_name: &str, params: Value) -> HttpRequest {
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
