//! The MCP session with one upstream: opening it (`initialize`, version negotiation,
//! `notifications/initialized`), sending requests within it, and what happens when it breaks.
//!
//! Streamable HTTP sends each message as a POST and reads the answer from the POST's response,
//! JSON or an SSE stream (read only as far as the answer). The 2024-11-05 HTTP+SSE transport is
//! in [`super::legacy_sse`]. Every request has the upstream's timeout; past it the request is
//! aborted and `notifications/cancelled` tells the upstream to stop; so is a request whose
//! caller gives up (the runner's client cancelled the execution). When the upstream has
//! ended the session, the next request opens a new one: idempotent requests (`tools/list`) are
//! sent once more, `tools/call` never is.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{select, Either, LocalBoxFuture, Shared};
use futures::FutureExt;
use serde_json::Value;
use wasm_bindgen_futures::spawn_local;
use worker::{AbortController, AbortSignal, Fetch, Headers, Method, RequestInit};

use super::body::BodyReader;
use super::legacy_sse::Channel;
use super::{Target, Upstream};
use crate::config::Transport;
use crate::protocol::http::{PROTOCOL_VERSION_HEADER, SESSION_HEADER};
use crate::protocol::method::TOOLS_CALL;
use crate::protocol::notification::TOOLS_LIST_CHANGED;
use crate::upstream::bounds::{session_rejected, ByteBudget, ERROR_BODY_BYTES};
use crate::upstream::client::{
    self, cancelled_notification, http_failure, initialize_request, initialized_notification,
    negotiated_version, read_json_response, sends_version_header, StreamedResponse, UpstreamError,
};

/// Resolves, with a reason, when the caller no longer wants the request's answer.
pub(super) type Stop = LocalBoxFuture<'static, String>;

/// A [`Stop`] that never comes.
pub(super) fn never() -> Stop {
    futures::future::pending().boxed_local()
}

/// A session being opened or open, shared by every request that needs it.
type SharedLink = Shared<LocalBoxFuture<'static, Result<Rc<Link>, UpstreamError>>>;

/// The session with the upstream.
#[derive(Default)]
pub(super) struct Connection {
    link: RefCell<Option<SharedLink>>,
    next_id: Cell<u64>,
}

/// An open session.
pub(super) enum Link {
    /// Streamable HTTP.
    Streamable(Session),
    /// The 2024-11-05 HTTP+SSE transport.
    Legacy(Rc<Channel>),
}

/// A streamable HTTP session.
pub(super) struct Session {
    /// `Mcp-Session-Id`, when the upstream issued one (stateless servers do not).
    id: Option<String>,
    /// The negotiated protocol version.
    version: String,
}

/// How one request went.
pub(super) enum Exchange {
    /// The upstream answered (or failed to).
    Answered(Result<Value, UpstreamError>),
    /// The upstream had ended the session; the request was not processed.
    SessionGone,
}

impl Connection {
    /// A fresh JSON-RPC id.
    pub(super) fn next_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// Sends request `method` in the session (opening one if needed) and returns its result,
    /// unless `stop` comes first.
    pub(super) async fn request(
        &self,
        upstream: &Rc<Upstream>,
        target: &Rc<Target>,
        method: &str,
        params: Value,
        mut stop: Stop,
    ) -> Result<Value, UpstreamError> {
        let attempts = if method == TOOLS_CALL { 1 } else { 2 };
        for _ in 0..attempts {
            let link = self.link(upstream, target).await?;
            let id = self.next_id();
            let message = client::request(id, method, params.clone());
            match self
                .exchange(upstream, target, &link, &message, id, &mut stop)
                .await
            {
                Exchange::Answered(outcome) => return outcome,
                Exchange::SessionGone => self.forget(&link),
            }
        }
        Err(UpstreamError::SessionExpired)
    }

    /// The open session, or the one being opened; a new one when there is none, the last
    /// attempt failed, or the session's stream has closed.
    async fn link(
        &self,
        upstream: &Rc<Upstream>,
        target: &Rc<Target>,
    ) -> Result<Rc<Link>, UpstreamError> {
        let current = self.link.borrow().clone();
        let usable = current.filter(|link| match link.peek() {
            None => true,
            Some(Ok(link)) => link.is_open(),
            Some(Err(_)) => false,
        });
        let link = usable.unwrap_or_else(|| {
            let (upstream, target) = (Rc::clone(upstream), Rc::clone(target));
            let opening = async move { upstream.connection.open(&upstream, &target).await }
                .boxed_local()
                .shared();
            *self.link.borrow_mut() = Some(opening.clone());
            opening
        });
        link.await
    }

    /// Drops `link` unless it has already been replaced.
    fn forget(&self, link: &Rc<Link>) {
        let mut current = self.link.borrow_mut();
        let is_current = current
            .as_ref()
            .and_then(|shared| shared.peek().cloned())
            .is_some_and(|open| open.is_ok_and(|open| Rc::ptr_eq(&open, link)));
        if is_current {
            current.take();
        }
    }

    /// Opens a session; no part of it may take longer than the upstream's timeout.
    async fn open(
        &self,
        upstream: &Rc<Upstream>,
        target: &Rc<Target>,
    ) -> Result<Rc<Link>, UpstreamError> {
        let opening = async {
            match target.config.transport {
                Transport::StreamableHttp => self.open_session(upstream, target).await,
                Transport::Sse => Channel::open(self, upstream, target).await,
            }
        };
        let ms = target.config.timeout_ms;
        within(ms, opening)
            .await
            .unwrap_or(Err(UpstreamError::Timeout { ms }))
            .map(Rc::new)
    }

    async fn open_session(
        &self,
        upstream: &Upstream,
        target: &Target,
    ) -> Result<Link, UpstreamError> {
        let id = self.next_id();
        // No session and no negotiated version yet, so no session headers.
        let mut response = post(
            target,
            &target.config.url,
            &[],
            &initialize_request(id),
            None,
        )
        .await?;
        let session_id = response.headers().get(SESSION_HEADER).ok().flatten();
        let result = read_answer(upstream, target, &mut response, id).await?;
        let link = Link::Streamable(Session {
            id: session_id,
            version: negotiated_version(&result)?,
        });
        link.notify(target, &initialized_notification()).await?;
        Ok(link)
    }

    async fn exchange(
        &self,
        upstream: &Rc<Upstream>,
        target: &Rc<Target>,
        link: &Rc<Link>,
        message: &Value,
        id: u64,
        stop: &mut Stop,
    ) -> Exchange {
        let abort = AbortController::default();
        let signal = abort.signal();
        let work = async {
            match link.as_ref() {
                Link::Streamable(session) => {
                    session
                        .exchange(upstream, target, message, id, &signal)
                        .await
                }
                Link::Legacy(channel) => channel.exchange(target, message, id).await,
            }
        };
        let ms = target.config.timeout_ms;
        let error = match select(Box::pin(within(ms, work)), stop).await {
            Either::Left((Some(exchange), _)) => {
                if matches!(
                    exchange,
                    Exchange::Answered(Err(UpstreamError::TooLarge { .. }))
                ) {
                    // Dropping the body cancelled it; aborting ends the request for certain.
                    abort.abort();
                }
                return exchange;
            }
            Either::Left((None, _)) => UpstreamError::Timeout { ms },
            Either::Right((reason, _)) => UpstreamError::Cancelled { reason },
        };
        abort.abort();
        Exchange::Answered(Err(abandoned(target, link, id, error)))
    }
}

impl Link {
    /// Whether requests can still be sent on it.
    fn is_open(&self) -> bool {
        match self {
            Link::Streamable(_) => true,
            Link::Legacy(channel) => channel.is_open(),
        }
    }

    /// Sends a message that has no answer (a notification, or an answer to the upstream).
    pub(super) async fn notify(
        &self,
        target: &Target,
        message: &Value,
    ) -> Result<(), UpstreamError> {
        let (url, headers) = match self {
            Link::Streamable(session) => (target.config.url.as_str(), session.headers()),
            Link::Legacy(channel) => (channel.endpoint(), Vec::new()),
        };
        let response = post(target, url, &headers, message, None).await?;
        match response.status_code() {
            200..=299 => Ok(()),
            status => Err(http_failure(status, "the upstream refused a notification")),
        }
    }
}

impl Session {
    async fn exchange(
        &self,
        upstream: &Upstream,
        target: &Target,
        message: &Value,
        id: u64,
        signal: &AbortSignal,
    ) -> Exchange {
        let response = post(
            target,
            &target.config.url,
            &self.headers(),
            message,
            Some(signal),
        )
        .await;
        let mut response = match response {
            Ok(response) => response,
            Err(error) => return Exchange::Answered(Err(error)),
        };
        let status = response.status_code();
        if self.id.is_some() && matches!(status, 400 | 404) {
            // Whether the session is gone depends on what the upstream says.
            let body = read_error_body(&mut response).await;
            if session_rejected(status, true, &body) {
                return Exchange::SessionGone;
            }
            return Exchange::Answered(Err(http_failure(status, &body)));
        }
        Exchange::Answered(read_answer(upstream, target, &mut response, id).await)
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if sends_version_header(&self.version) {
            headers.push((PROTOCOL_VERSION_HEADER, self.version.clone()));
        }
        if let Some(id) = &self.id {
            headers.push((SESSION_HEADER, id.clone()));
        }
        headers
    }
}

/// `error`, for request `id` that the runner gave up on, after telling the upstream to stop
/// working on it.
pub(super) fn abandoned(
    target: &Rc<Target>,
    link: &Rc<Link>,
    id: u64,
    error: UpstreamError,
) -> UpstreamError {
    let (target, link) = (Rc::clone(target), Rc::clone(link));
    let reason = error.to_string();
    spawn_local(async move {
        // Best effort: the request has failed whether or not the upstream hears this.
        let _ = link
            .notify(&target, &cancelled_notification(id, &reason))
            .await;
    });
    error
}

/// `work`'s output, or `None` when `ms` pass first.
pub(super) async fn within<T>(ms: u32, work: impl Future<Output = T>) -> Option<T> {
    let deadline = worker::Delay::from(Duration::from_millis(ms.into()));
    match select(Box::pin(work), deadline).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// POSTs `message` to `url` with the upstream's headers and `extra` ones.
pub(super) async fn post(
    target: &Target,
    url: &str,
    extra: &[(&str, String)],
    message: &Value,
    signal: Option<&AbortSignal>,
) -> Result<worker::Response, UpstreamError> {
    let headers = headers(target, "application/json, text/event-stream")?;
    let set = |name: &str, value: &str| headers.set(name, value).map_err(unreachable);
    set("Content-Type", "application/json")?;
    for (name, value) in extra {
        set(name, value)?;
    }
    send(
        url,
        Method::Post,
        headers,
        Some(message.to_string()),
        signal,
    )
    .await
}

/// The upstream's configured headers (secrets resolved) and `Accept`.
pub(super) fn headers(target: &Target, accept: &str) -> Result<Headers, UpstreamError> {
    let headers = Headers::new();
    headers.set("Accept", accept).map_err(unreachable)?;
    for (name, value) in &target.headers {
        headers.set(name, value).map_err(unreachable)?;
    }
    Ok(headers)
}

/// Sends one HTTP request.
pub(super) async fn send(
    url: &str,
    method: Method,
    headers: Headers,
    body: Option<String>,
    signal: Option<&AbortSignal>,
) -> Result<worker::Response, UpstreamError> {
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_body(body.map(Into::into));
    let request = worker::Request::new_with_init(url, &init).map_err(unreachable)?;
    let fetch = Fetch::Request(request);
    match signal {
        Some(signal) => fetch.send_with_signal(signal).await,
        None => fetch.send().await,
    }
    .map_err(unreachable)
}

/// Reads the result of request `id` from a POST's response: JSON, or an SSE stream read only as
/// far as the response. Notifications on the way are heeded. Neither is read past the upstream's
/// `maxResultBytes`: an answer that declares more is refused unread, one that streams more is
/// dropped (which cancels the rest) as soon as it passes the limit.
async fn read_answer(
    upstream: &Upstream,
    target: &Target,
    response: &mut worker::Response,
    id: u64,
) -> Result<Value, UpstreamError> {
    let status = response.status_code();
    if !(200..300).contains(&status) {
        return Err(http_failure(status, &read_error_body(response).await));
    }
    let limit = u64::from(target.config.max_result_bytes);
    let declared = response.headers().get("Content-Length").ok().flatten();
    ByteBudget::new(limit).check_declared(declared.as_deref())?;
    let content_type = response.headers().get("Content-Type").ok().flatten();
    if !content_type.is_some_and(|t| t.trim_start().starts_with("text/event-stream")) {
        let body = read_body(response, limit).await?;
        return read_json_response(&String::from_utf8_lossy(&body), id);
    }
    let mut reader = StreamedResponse::new(id, limit);
    let mut outcome = None;
    if let Some(mut body) = BodyReader::new(response)? {
        while let Some(chunk) = body.next().await? {
            outcome = reader.feed(&chunk);
            if outcome.is_some() {
                break;
            }
        }
    }
    if reader
        .notifications()
        .iter()
        .any(|m| m == TOOLS_LIST_CHANGED)
    {
        upstream.tools_changed();
    }
    outcome.unwrap_or_else(|| reader.finish())
}

/// The body of a response, read only while it stays within `limit` bytes.
pub(super) async fn read_body(
    response: &mut worker::Response,
    limit: u64,
) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    let Some(mut reader) = BodyReader::new(response)? else {
        return Ok(body);
    };
    let mut budget = ByteBudget::new(limit);
    while let Some(chunk) = reader.next().await? {
        budget.take(chunk.len())?;
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of an error answer's body, enough to quote and to judge; the rest is not read.
pub(super) async fn read_error_body(response: &mut worker::Response) -> String {
    let mut body = Vec::new();
    let Ok(Some(mut reader)) = BodyReader::new(response) else {
        return String::new();
    };
    while let Ok(Some(chunk)) = reader.next().await {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= ERROR_BODY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

pub(super) fn unreachable(error: impl ToString) -> UpstreamError {
    UpstreamError::Unreachable {
        detail: error.to_string(),
    }
}
