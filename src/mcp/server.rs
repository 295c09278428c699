//! Method dispatch: what the server answers to each JSON-RPC request inside a session.
//!
//! The stateful parts (sessions, the tool catalogue, running code) sit behind
//! [`ServerBackend`], which the Worker shell implements with Durable Objects and the Worker
//! Loader. Errors cross into JSON-RPC here and nowhere else.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelledNotificationParam, ClientCapabilities,
    ErrorCode, ErrorData, Implementation, InitializeRequestParams, InitializeResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResult, RequestId, Resource, ResourceContents,
    ResourcesCapability, ServerCapabilities, Tool, ToolsCapability,
};
use serde::Serialize;
use serde_json::Value;

use super::context::RequestContext;
use super::jsonrpc::{Notification, Reply, Request, Response};
use crate::cold::cold;
use crate::protocol::http::EventStream;
use crate::protocol::log_level::LogLevel;
use crate::protocol::version::SESSION_VERSIONS;
use crate::protocol::{method, notification};

/// The methods answered for a caller, in a session or without one.
pub const FOR_CALLER: &[&str] = &[
    method::TOOLS_LIST,
    method::TOOLS_CALL,
    method::RESOURCES_LIST,
    method::RESOURCES_TEMPLATES_LIST,
    method::RESOURCES_READ,
];

/// Why a backend could not serve a request; becomes a JSON-RPC error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// `tools/call` named a tool this server does not have.
    #[error("Unknown tool `{0}`; tools/list names the tools this server has")]
    UnknownTool(String),
    /// The request's params were not what the method needs.
    #[error("Invalid params: {0}")]
    InvalidParams(String),
    /// The runner itself failed (storage, a binding); the message is safe to show.
    #[error("Internal error: {0}")]
    Internal(String),
}

impl BackendError {
    fn code(&self) -> ErrorCode {
        match self {
            BackendError::UnknownTool(_) | BackendError::InvalidParams(_) => {
                ErrorCode::INVALID_PARAMS
            }
            BackendError::Internal(_) => ErrorCode::INTERNAL_ERROR,
        }
    }

    /// The HTTP status of an answer that is only this error: 400 for the client's mistakes,
    /// 500 for the runner's.
    pub fn http_status(&self) -> u16 {
        match self {
            BackendError::UnknownTool(_) | BackendError::InvalidParams(_) => 400,
            BackendError::Internal(_) => 500,
        }
    }

    /// This error as the reply to the request with `id`.
    pub fn into_reply(self, id: Option<RequestId>) -> Reply {
        Reply::error(id, self.code(), self.to_string())
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// A session of a handshake-era protocol version, by id.
    Session(&'a str),
    /// A 2026-07-28 request, which belongs to no session and carries what it needs.
    Stateless,
}

impl<'a> Caller<'a> {
    /// The session's id; none for a stateless request.
    pub fn session_id(self) -> Option<&'a str> {
        match self {
            Caller::Session(session_id) => Some(session_id),
            Caller::Stateless => None,
        }
    }
}

/// Sessions and tools, as the dispatcher needs them.
///
/// Workers run each request on one thread, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait ServerBackend {
    /// How the server introduces itself in `initialize` and `server/discover`: what it is
    /// for is the product's to say.
    const INSTRUCTIONS: &'static str;
    /// Creates a session that negotiated `protocol_version` with a client that can do what
    /// `client` says; returns its id.
    async fn open_session(
        &self,
        protocol_version: &ProtocolVersion,
        client: &ClientCapabilities,
    ) -> Result<String, BackendError>;
    /// Delivers the client's `response` to the server's request `id` in `session_id` to
    /// whoever is waiting for it.
    async fn answered(
        &self,
        session_id: &str,
        id: &str,
        response: &Value,
    ) -> Result<(), BackendError>;
    /// Whether `session_id` names a live session.
    async fn session_exists(&self, session_id: &str) -> Result<bool, BackendError>;
    /// Ends a session; returns whether it existed.
    async fn close_session(&self, session_id: &str) -> Result<bool, BackendError>;
    /// The tools `caller` sees.
    async fn list_tools(&self, caller: Caller<'_>) -> Result<Vec<Tool>, BackendError>;
    /// Records the least severe runner log event the session wants to receive.
    async fn set_log_level(&self, session_id: &str, level: LogLevel) -> Result<(), BackendError>;
    /// Runs one tool call, reporting progress and log events through `context`. Failures of
    /// the tool itself belong in the result (`isError`); `Err` is for calls that cannot start.
    /// `None` means the client cancelled the call, which then gets no reply. A stateless call
    /// may be answered `input_required` (SEP-2322).
    async fn call_tool(
        &self,
        caller: Caller<'_>,
        params: CallToolRequestParams,
        context: &RequestContext,
    ) -> Result<Option<CallToolResponse>, BackendError>;
    /// Tells the call with `request_id` in the session, if it is still running, that its client
    /// no longer wants it (`notifications/cancelled`).
    async fn cancel(
        &self,
        session_id: &str,
        request_id: &RequestId,
        reason: &str,
    ) -> Result<(), BackendError>;
    /// The session's stream of messages unrelated to any request (the GET stream): SSE bytes,
    /// open until the session ends or the client goes away.
    async fn listen(&self, session_id: &str) -> Result<EventStream, BackendError>;
    /// The resources `caller` may read; what they are is the product's business, not the
    /// protocol's.
    async fn list_resources(&self, caller: Caller<'_>) -> Result<Vec<Resource>, BackendError>;
    /// The contents of the resource at `uri` as `caller` may see them; `None` when there is no
    /// such resource.
    async fn read_resource(
        &self,
        caller: Caller<'_>,
        uri: &str,
    ) -> Result<Option<ResourceContents>, BackendError>;
}

/// The version to answer `initialize` with: the client's if supported, else our newest.
pub fn negotiate(requested: &ProtocolVersion) -> ProtocolVersion {
    SESSION_VERSIONS
        .iter()
        .find(|supported| *supported == requested)
        .unwrap_or(&SESSION_VERSIONS[0])
        .clone()
}

/// Whether an `MCP-Protocol-Version` header value is one this server speaks.
pub fn is_supported(version: &str) -> bool {
    SESSION_VERSIONS.iter().any(|v| v.as_str() == version)
}

/// Reads `initialize` params and picks the version; `Err` is the reply to send instead.
pub fn read_initialize(request: &Request) -> Result<(ProtocolVersion, ClientCapabilities), Reply> {
    let params: InitializeRequestParams = typed_params(request)?;
    Ok((negotiate(&params.protocol_version), params.capabilities))
}

/// What the server can do: tools, resources, and log events for clients that ask.
pub fn capabilities() -> ServerCapabilities {
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(ToolsCapability::default());
    capabilities.resources = Some(ResourcesCapability::default());
    capabilities.logging = Some(Default::default());
    capabilities
}

/// The server's name and version.
pub fn implementation() -> Implementation {
    Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}

/// The `initialize` result for a negotiated version.
pub fn initialize_reply(request: &Request, version: ProtocolVersion, instructions: &str) -> Reply {
    let result = InitializeResult::new(capabilities())
        .with_protocol_version(version)
        .with_server_info(implementation())
        .with_instructions(instructions);
    result_reply(request, &result)
}

/// Answers one request inside an established session; `None` when it was cancelled.
pub async fn dispatch(
    backend: &impl ServerBackend,
    session_id: &str,
    request: &Request,
    context: &RequestContext,
) -> Option<Reply> {
    if FOR_CALLER.contains(&request.method.as_str()) {
        serve_caller(backend, Caller::Session(session_id), request, context).await
    } else {
        Some(answer(backend, session_id, request).await)
    }
}

/// Answers one of [`FOR_CALLER`] (any other method is not found); `None` when the
/// call was cancelled. Results carry no `resultType`: the caller adds it where the version
/// has it.
pub async fn serve_caller(
    backend: &impl ServerBackend,
    caller: Caller<'_>,
    request: &Request,
    context: &RequestContext,
) -> Option<Reply> {
    Some(match request.method.as_str() {
        method::TOOLS_LIST => match cold(backend.list_tools(caller)).await {
            Ok(tools) => result_reply(request, &list_tools_result(tools)),
            Err(err) => err.into_reply(Some(request.id.clone())),
        },
        method::TOOLS_CALL => {
            return match typed_params(request) {
                Ok(params) => call_tool(backend, caller, request, params, context).await,
                Err(reply) => Some(reply),
            };
        }
        method::RESOURCES_LIST => match cold(backend.list_resources(caller)).await {
            Ok(resources) => {
                let mut result = ListResourcesResult::with_all_items(resources);
                result.result_type = None;
                result_reply(request, &result)
            }
            Err(err) => err.into_reply(Some(request.id.clone())),
        },
        method::RESOURCES_TEMPLATES_LIST => {
            let mut result = ListResourceTemplatesResult::with_all_items(Vec::new());
            result.result_type = None;
            result_reply(request, &result)
        }
        method::RESOURCES_READ => {
            let params: ReadResourceRequestParams = match typed_params(request) {
                Ok(params) => params,
                Err(reply) => return Some(reply),
            };
            match cold(backend.read_resource(caller, &params.uri)).await {
                Ok(Some(contents)) => {
                    let mut result = ReadResourceResult::new(vec![contents]);
                    result.result_type = None;
                    result_reply(request, &result)
                }
                Ok(None) => resource_not_found(request, &params.uri),
                Err(err) => err.into_reply(Some(request.id.clone())),
            }
        }
        other => not_found(request, other),
    })
}

/// Runs the `tools/call` `request`, whose `params` are already read; `None` when the call was
/// cancelled. The result carries no `resultType`, as with [`serve_caller`].
pub async fn call_tool(
    backend: &impl ServerBackend,
    caller: Caller<'_>,
    request: &Request,
    params: CallToolRequestParams,
    context: &RequestContext,
) -> Option<Reply> {
    Some(match backend.call_tool(caller, params, context).await {
        Ok(Some(CallToolResponse::Complete(mut result))) => {
            result.result_type = None;
            result_reply(request, &result)
        }
        Ok(Some(CallToolResponse::InputRequired(asked))) => result_reply(request, &asked),
        Ok(Some(_)) => BackendError::Internal("the tool answered with a task".into())
            .into_reply(Some(request.id.clone())),
        Ok(None) => return None,
        Err(err) => err.into_reply(Some(request.id.clone())),
    })
}

/// The reply to `resources/read` of a URI this server does not have.
fn resource_not_found(request: &Request, uri: &str) -> Reply {
    Reply::Error {
        id: Some(request.id.clone()),
        error: Box::new(ErrorData::new(
            ErrorCode::RESOURCE_NOT_FOUND,
            format!(
                "Resource not found: `{uri}`; resources/list names the resources this server has"
            ),
            Some(serde_json::json!({ "uri": uri })),
        )),
    }
}

/// Acts on a notification inside a session; only `notifications/cancelled` needs anything.
pub async fn notified(backend: &impl ServerBackend, session_id: &str, message: &Notification) {
    if message.method != notification::CANCELLED {
        return;
    }
    let Some(Ok(params)) = message
        .params
        .clone()
        .map(serde_json::from_value::<CancelledNotificationParam>)
    else {
        return;
    };
    if let Some(request_id) = params.request_id {
        let reason = params.reason.as_deref().unwrap_or("no reason given");
        // A notification has no reply: a cancellation that cannot be delivered is moot.
        let _ = backend.cancel(session_id, &request_id, reason).await;
    }
}

/// Hands a client's response to the server's request over to whoever asked. A response no one
/// is waiting for has nowhere to go, and a response has no reply, so it is dropped.
pub async fn answered(backend: &impl ServerBackend, session_id: &str, response: &Response) {
    if let RequestId::String(id) = &response.id {
        let _ = backend.answered(session_id, id, &response.message).await;
    }
}

/// Answers the requests that always get a reply.
async fn answer(backend: &impl ServerBackend, session_id: &str, request: &Request) -> Reply {
    match request.method.as_str() {
        method::PING => result_reply(request, &serde_json::json!({})),
        method::LOGGING_SET_LEVEL => {
            let params: SetLevelParams = match typed_params(request) {
                Ok(params) => params,
                Err(reply) => return reply,
            };
            match backend.set_log_level(session_id, params.level).await {
                Ok(()) => result_reply(request, &serde_json::json!({})),
                Err(err) => err.into_reply(Some(request.id.clone())),
            }
        }
        method::INITIALIZE => Reply::error(
            Some(request.id.clone()),
            ErrorCode::INVALID_REQUEST,
            "Invalid Request: this session is already initialized",
        ),
        other => not_found(request, other),
    }
}

/// The reply to a method this server does not have.
pub fn not_found(request: &Request, method: &str) -> Reply {
    Reply::error(
        Some(request.id.clone()),
        ErrorCode::METHOD_NOT_FOUND,
        format!("Method not found: `{method}`"),
    )
}

/// `logging/setLevel` params.
#[derive(serde::Deserialize)]
struct SetLevelParams {
    level: LogLevel,
}

fn list_tools_result(tools: Vec<Tool>) -> ListToolsResult {
    ListToolsResult {
        result_type: None,
        meta: None,
        next_cursor: None,
        ttl_ms: None,
        cache_scope: None,
        tools,
    }
}

/// The request's params as `T`, or the `-32602` reply naming what does not fit.
pub fn typed_params<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Reply> {
    let params = request
        .params
        .clone()
        .unwrap_or(Value::Object(Default::default()));
    serde_json::from_value(params).map_err(|e| {
        BackendError::InvalidParams(format!("{} params: {e}", request.method))
            .into_reply(Some(request.id.clone()))
    })
}

fn result_reply(request: &Request, result: &impl Serialize) -> Reply {
    match serde_json::to_value(result) {
        Ok(result) => Reply::Result {
            id: request.id.clone(),
            result,
        },
        Err(e) => BackendError::Internal(format!("could not encode the result: {e}"))
            .into_reply(Some(request.id.clone())),
    }
}

#[cfg(test)]
mod tests;
