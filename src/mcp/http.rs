//! The streamable HTTP transport: one [`HttpRequest`] value in, one [`HttpResponse`] out.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http>.
//! POST carries JSON-RPC; `initialize` opens a session whose id travels in `Mcp-Session-Id`;
//! requests without a live session get 400 (no header) or 404 (unknown or ended); DELETE ends
//! a session. The 2026-07-28 protocol, which has no sessions, shares the endpoint
//! ([`super::stateless`]). `tools/call` is answered with an SSE stream when the client accepts
//! one, so that progress and log notifications can precede the result; everything else is
//! answered with JSON. GET opens the session's stream of messages that belong to no request.

use std::future::Future;
use std::rc::Rc;

use futures::channel::mpsc;
use rmcp::model::{CallToolRequestParams, ErrorCode, ProtocolVersion};
use serde_json::Value;

use super::context::RequestContext;
use super::events;
use super::guard::{Refusal, RequestGuard};
use super::jsonrpc::{self, Message, Payload, Reply, Request};
use super::server::{self, Caller, ServerBackend};
use super::stateless;
use crate::cold::cold;
use crate::protocol::error_code::{REQUEST_CANCELLED, SESSION_NOT_FOUND};
use crate::protocol::http::{
    HttpRequest, HttpResponse, EVENT_STREAM, MAX_REQUEST_BYTES, PROTOCOL_VERSION_HEADER,
    SESSION_HEADER,
};
use crate::protocol::meta::VERSION_KEY;
use crate::protocol::method;
use crate::protocol::version::STATELESS_VERSIONS;

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
        Refusal::Token => response.with_header("WWW-Authenticate", guard.challenge()),
        _ => response,
    })
}

/// The answer to a request whose body is past [`MAX_REQUEST_BYTES`], which was not read.
pub fn body_too_large() -> HttpResponse {
    transport_error(
        413,
        &format!(
            "Payload Too Large: a request's body may be at most {MAX_REQUEST_BYTES} bytes; it \
             was not read"
        ),
    )
}

/// Serves one request to the MCP endpoint that [`refused`] let through.
pub async fn handle<B: ServerBackend + 'static>(
    request: &HttpRequest,
    backend: &Rc<B>,
) -> HttpResponse {
    match request.method.as_str() {
        "POST" => handle_post(request, backend).await,
        "GET" | "DELETE" if stateless::names_stateless_version(request) => transport_error(
            405,
            "Method Not Allowed: protocol 2026-07-28 has no sessions and no GET stream; POST each \
             request",
        )
        .with_header("Allow", "POST"),
        "DELETE" => cold(handle_delete(request, backend.as_ref())).await,
        "GET" => cold(handle_get(request, backend.as_ref())).await,
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
        Err(reply) => return reply_response(400, &reply),
    };
    if stateless::is_stateless(request, &payload) {
        return cold(handle_stateless(request, payload, backend, accept)).await;
    }
    if let Payload::Single(Message::Request(req)) = &payload {
        match req.method.as_str() {
            method::INITIALIZE => return cold(initialize(req, backend.as_ref())).await,
            method::SERVER_DISCOVER => {
                let reply = Reply::error(
                    Some(req.id.clone()),
                    ErrorCode::METHOD_NOT_FOUND,
                    format!(
                        "Method not found: `server/discover` belongs to protocol {}, whose \
                         requests carry _meta[\"{}\"] and the {PROTOCOL_VERSION_HEADER} header; \
                         or send `initialize` to open a session",
                        STATELESS_VERSIONS[0].as_str(),
                        VERSION_KEY
                    ),
                );
                return reply_response(404, &reply);
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
        Payload::Single(message) => {
            match cold(answer(backend.as_ref(), &session_id, message)).await {
                Some(reply) => reply_response(200, &reply),
                None => HttpResponse::empty(202),
            }
        }
        Payload::Batch(_) if version != ProtocolVersion::V_2025_03_26.as_str() => reply_response(
            400,
            &Reply::error(
                None,
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Invalid Request: JSON-RPC batches were removed in protocol version \
                         2025-06-18; this session speaks {version}, so send one message per POST"
                ),
            ),
        ),
        Payload::Batch(items) => {
            let mut replies = Vec::new();
            for item in items {
                let reply = match item {
                    Ok(message) => cold(answer(backend.as_ref(), &session_id, message)).await,
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
                    STATELESS_VERSIONS[0]
                ),
            );
            return reply_response(400, &reply);
        }
    };
    let envelope = match stateless::check(request, &req) {
        Ok(envelope) => envelope,
        Err(refused) => return reply_response(refused.status, &refused.reply),
    };
    if req.method == method::SERVER_DISCOVER {
        return reply_response(200, &stateless::discover_result(&req, B::INSTRUCTIONS));
    }
    // A call's params are read here, once, so that bad ones get a 400 rather than a stream.
    let call = if req.method == method::TOOLS_CALL {
        match server::typed_params::<CallToolRequestParams>(&req) {
            Ok(params) => Some(params),
            Err(reply) => return reply_response(400, &reply),
        }
    } else {
        None
    };
    let backend = Rc::clone(backend);
    respond(req, accept, |req, context| async move {
        context.set_log_level(envelope.log_level);
        let backend = backend.as_ref();
        let reply = match call {
            Some(params) => {
                server::call_tool(backend, Caller::Stateless, &req, params, &context).await
            }
            None => server::serve_caller(backend, Caller::Stateless, &req, &context).await,
        };
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
    reply_response(200, &reply.unwrap_or_else(|| cancelled(&id)))
}

/// The JSON answer to a request its client cancelled: a JSON answer cannot be withheld, so
/// this one says why there is no result.
fn cancelled(id: &rmcp::model::RequestId) -> Reply {
    Reply::error(
        Some(id.clone()),
        REQUEST_CANCELLED,
        "Request cancelled: the client sent notifications/cancelled for it",
    )
}

async fn initialize<B: ServerBackend>(request: &Request, backend: &B) -> HttpResponse {
    let (version, client) = match server::read_initialize(request) {
        Ok(read) => read,
        Err(reply) => return reply_response(400, &reply),
    };
    match backend.open_session(&version, &client).await {
        Ok(session_id) => reply_response(
            200,
            &server::initialize_reply(request, version, B::INSTRUCTIONS),
        )
        .with_header(SESSION_HEADER, session_id),
        Err(err) => reply_response(err.http_status(), &err.into_reply(Some(request.id.clone()))),
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
        Message::Response(response) => {
            server::answered(backend, session_id, &response).await;
            None
        }
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
        Err(err) => reply_response(500, &err.into_reply(None)),
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
        Err(err) => reply_response(500, &err.into_reply(None)),
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
        Err(err) => Err(reply_response(500, &err.into_reply(None))),
    }
}

fn session_not_found() -> HttpResponse {
    let reply = Reply::error(
        None,
        SESSION_NOT_FOUND,
        "Session not found: it expired or was deleted; send `initialize` to start a new one",
    );
    reply_response(404, &reply)
}

/// The JSON response carrying `reply`.
fn reply_response(status: u16, reply: &Reply) -> HttpResponse {
    HttpResponse::json(status, &reply.to_json())
}

fn transport_error(status: u16, message: &str) -> HttpResponse {
    reply_response(
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
mod tests;
