//! Method dispatch: what the server answers to each JSON-RPC request inside a session.
//!
//! The stateful parts (sessions, the tool catalogue, running code) sit behind
//! [`ServerBackend`], which the Worker shell implements with Durable Objects and the Worker
//! Loader. Errors cross into JSON-RPC here and nowhere else.

use rmcp::model::{
    CallToolRequestParams, CallToolResult, CancelledNotificationParam, ErrorCode, ErrorData,
    Implementation, InitializeRequestParams, InitializeResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResult, RequestId, Resource, ResourceContents, ResourcesCapability,
    ServerCapabilities, Tool, ToolsCapability,
};
use serde::Serialize;
use serde_json::Value;

use super::context::{notification, RequestContext};
use super::events::EventStream;
use super::jsonrpc::{Notification, Reply, Request};
use crate::metrics::METRICS_URI;
use crate::session::LogLevel;

/// Protocol versions this server speaks over sessions, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
];

/// MCP method names this server handles.
pub mod method {
    /// Opens a session.
    pub const INITIALIZE: &str = "initialize";
    /// Liveness check.
    pub const PING: &str = "ping";
    /// Lists the code-mode tools.
    pub const TOOLS_LIST: &str = "tools/list";
    /// Calls `search` or `execute`.
    pub const TOOLS_CALL: &str = "tools/call";
    /// Sets the least severe log event the client wants.
    pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
    /// What a 2026-07-28 server speaks and can do, in place of `initialize`.
    pub const SERVER_DISCOVER: &str = "server/discover";
    /// Lists the resources: the runner's metrics.
    pub const RESOURCES_LIST: &str = "resources/list";
    /// Lists resource templates: none.
    pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
    /// Reads a resource.
    pub const RESOURCES_READ: &str = "resources/read";

    /// The methods answered for a caller, in a session or without one.
    pub const FOR_CALLER: &[&str] = &[
        TOOLS_LIST,
        TOOLS_CALL,
        RESOURCES_LIST,
        RESOURCES_TEMPLATES_LIST,
        RESOURCES_READ,
    ];
}

/// The JSON-RPC error code for a resource URI the server does not have (as the spec has it).
const RESOURCE_NOT_FOUND: i32 = -32002;

/// How the server introduces itself in `initialize` and `server/discover`.
pub const INSTRUCTIONS: &str =
    "This server exposes upstream MCP servers as a TypeScript API. Call \
`search` to find functions and their types, then `execute` to run TypeScript that calls them; \
only the program's return value and console output come back.";

/// Why a backend could not serve a request; becomes a JSON-RPC error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// `tools/call` named a tool this server does not have.
    #[error("Unknown tool `{0}`; this server has `search` and `execute`")]
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
    /// Creates a session that negotiated `protocol_version`; returns its id.
    async fn open_session(
        &self,
        protocol_version: &ProtocolVersion,
    ) -> Result<String, BackendError>;
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
    /// `None` means the client cancelled the call, which then gets no reply.
    async fn call_tool(
        &self,
        caller: Caller<'_>,
        params: CallToolRequestParams,
        context: &RequestContext,
    ) -> Result<Option<CallToolResult>, BackendError>;
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
    /// The runner's metrics as `caller` may see them (the `runner://metrics` resource).
    async fn metrics(&self, caller: Caller<'_>) -> Result<Value, BackendError>;
}

/// The version to answer `initialize` with: the client's if supported, else our newest.
pub fn negotiate(requested: &ProtocolVersion) -> ProtocolVersion {
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .find(|supported| *supported == requested)
        .unwrap_or(&SUPPORTED_PROTOCOL_VERSIONS[0])
        .clone()
}

/// Whether an `MCP-Protocol-Version` header value is one this server speaks.
pub fn is_supported(version: &str) -> bool {
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .any(|v| v.as_str() == version)
}

/// Reads `initialize` params and picks the version; `Err` is the reply to send instead.
pub fn read_initialize(request: &Request) -> Result<ProtocolVersion, Reply> {
    let params: InitializeRequestParams = typed_params(request)?;
    Ok(negotiate(&params.protocol_version))
}

/// What the server can do: tools, the metrics resource, and log events for clients that ask.
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
pub fn initialize_reply(request: &Request, version: ProtocolVersion) -> Reply {
    let result = InitializeResult::new(capabilities())
        .with_protocol_version(version)
        .with_server_info(implementation())
        .with_instructions(INSTRUCTIONS);
    result_reply(request, &result)
}

/// Answers one request inside an established session; `None` when it was cancelled.
pub async fn dispatch(
    backend: &impl ServerBackend,
    session_id: &str,
    request: &Request,
    context: &RequestContext,
) -> Option<Reply> {
    if method::FOR_CALLER.contains(&request.method.as_str()) {
        serve_caller(backend, Caller::Session(session_id), request, context).await
    } else {
        Some(answer(backend, session_id, request).await)
    }
}

/// Answers one of [`method::FOR_CALLER`] (any other method is not found); `None` when the
/// call was cancelled. Results carry no `resultType`: the caller adds it where the version
/// has it.
pub async fn serve_caller(
    backend: &impl ServerBackend,
    caller: Caller<'_>,
    request: &Request,
    context: &RequestContext,
) -> Option<Reply> {
    Some(match request.method.as_str() {
        method::TOOLS_LIST => match backend.list_tools(caller).await {
            Ok(tools) => result_reply(request, &list_tools_result(tools)),
            Err(err) => err.into_reply(Some(request.id.clone())),
        },
        method::TOOLS_CALL => {
            let params: CallToolRequestParams = match typed_params(request) {
                Ok(params) => params,
                Err(reply) => return Some(reply),
            };
            match backend.call_tool(caller, params, context).await {
                Ok(Some(mut result)) => {
                    result.result_type = None;
                    result_reply(request, &result)
                }
                Ok(None) => return None,
                Err(err) => err.into_reply(Some(request.id.clone())),
            }
        }
        method::RESOURCES_LIST => {
            let metrics = Resource::new(METRICS_URI, "metrics")
                .with_title("Runner metrics")
                .with_description(
                    "Executions, success rate, errors by class, latency (execution, isolate \
                     spawn, your upstreams' calls), tool calls and result sizes, and an \
                     estimate of the tokens code mode saved, for the whole runner.",
                )
                .with_mime_type("application/json");
            let mut result = ListResourcesResult::with_all_items(vec![metrics]);
            result.result_type = None;
            result_reply(request, &result)
        }
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
            if params.uri != METRICS_URI {
                return Some(resource_not_found(request, &params.uri));
            }
            match backend.metrics(caller).await {
                Ok(metrics) => {
                    let text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
                    let contents = ResourceContents::text(text, METRICS_URI)
                        .with_mime_type("application/json");
                    let mut result = ReadResourceResult::new(vec![contents]);
                    result.result_type = None;
                    result_reply(request, &result)
                }
                Err(err) => err.into_reply(Some(request.id.clone())),
            }
        }
        other => not_found(request, other),
    })
}

/// The reply to `resources/read` of a URI this server does not have.
fn resource_not_found(request: &Request, uri: &str) -> Reply {
    Reply::Error {
        id: Some(request.id.clone()),
        error: Box::new(ErrorData::new(
            ErrorCode(RESOURCE_NOT_FOUND),
            format!("Resource not found: `{uri}`; this server has `{METRICS_URI}`"),
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
