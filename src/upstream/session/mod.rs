//! The MCP client session with one upstream: opening it (`initialize`, version negotiation,
//! `notifications/initialized`), sending requests within it, and what happens when it breaks.
//!
//! Streamable HTTP ([`streamable`]) sends each message as a POST and reads the answer from the
//! POST's response, JSON or an SSE stream (read only as far as the answer); the 2024-11-05
//! HTTP+SSE transport is in [`legacy`]. Every request has the upstream's timeout; past it the
//! request is aborted and `notifications/cancelled` tells the upstream to stop; so is a request
//! whose caller gives up (the runner's client cancelled the execution). The time an upstream
//! waits for the person it asked something is left out of the timeout ([`patience`]). When the
//! upstream has ended the session, the next request opens a new one: idempotent requests
//! (`tools/list`) are sent once more, `tools/call` never is.
//!
//! Opening is single-flight: every request that needs the session while it is being opened
//! waits for the same attempt. The network, timers and background work are the [`Http`]
//! platform's, which the upstream's Durable Object implements and the tests fake.

#[cfg(test)]
pub(crate) mod fake;
mod http;
mod input;
mod lease;
mod legacy;
mod patience;
mod streamable;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::{select, Either, LocalBoxFuture, Shared};
use futures::FutureExt;
use rmcp::model::ErrorData;
use serde_json::Value;

pub use http::{read_body, Abort, Http, Method, UpstreamRequest, UpstreamResponse};
pub use lease::{Lease, LeaseBook, Lessor, LEASE_VALID_MS};

use super::client::{self, cancelled_notification, UpstreamError};
use super::target::Target;
use crate::config::Transport;
use crate::protocol::http::EVENT_STREAM;
use crate::protocol::method::TOOLS_CALL;
use input::{InputRequired, MAX_INPUT_ROUNDS};
use legacy::Channel;
use patience::Timed;
use streamable::Session;

/// Resolves, with a reason, when the caller no longer wants the request's answer.
pub type Stop = LocalBoxFuture<'static, String>;

/// Whoever answers what an upstream asks while it works on a request (`elicitation/create`,
/// `sampling/createMessage`, `roots/list`): the person's client, through the runner. A request
/// made without one has each such question refused.
pub trait Asker {
    /// The answer to the upstream's request `method` with `params`: its result, or the
    /// JSON-RPC error the upstream gets.
    fn ask(&self, method: &str, params: Value) -> LocalBoxFuture<'_, Result<Value, ErrorData>>;
}

/// A [`Stop`] that never comes.
pub fn never() -> Stop {
    futures::future::pending().boxed_local()
}

/// A session being opened or open, shared by every request that needs it.
type SharedLink = Shared<LocalBoxFuture<'static, Result<Rc<Link>, UpstreamError>>>;

/// The session with one upstream, over the platform's `H`.
pub struct Connection<H: Http> {
    http: Rc<H>,
    /// Told when the upstream says its tool list changed.
    on_tools_changed: Rc<dyn Fn()>,
    /// Who opens the session: the connection itself, or the object that lends it.
    lessor: Option<Rc<dyn Lessor>>,
    link: RefCell<Option<SharedLink>>,
    next_id: Cell<u64>,
    /// How many leases of the session the connection gave.
    leases: Cell<u64>,
    /// Where the ids of the lent session's block end.
    ids_end: Cell<u64>,
    /// When the lease of the lent session ends (milliseconds since the Unix epoch).
    lease_ends: Cell<u64>,
    /// The lent session found ended last, for the next lease to name.
    gone: RefCell<Option<String>>,
}

/// An open session.
enum Link {
    /// Streamable HTTP.
    Streamable(Session),
    /// The 2024-11-05 HTTP+SSE transport.
    Legacy(Rc<Channel>),
}

/// One request as it goes out: the message, the headers mirroring a call's arguments, and who
/// answers what the upstream asks meanwhile.
struct Outgoing<'a> {
    message: &'a Value,
    mirrored: &'a [(String, String)],
    asker: Option<&'a dyn Asker>,
}

/// How one request went.
enum Exchange {
    /// The upstream answered (or failed to).
    Answered(Result<Value, UpstreamError>),
    /// The upstream had ended the session; the request was not processed.
    SessionGone,
}

impl<H: Http + 'static> Connection<H> {
    /// A connection that has no session yet; `on_tools_changed` is called whenever the
    /// upstream announces that its tool list changed.
    pub fn new(http: Rc<H>, on_tools_changed: Rc<dyn Fn()>) -> Rc<Self> {
        Self::opened_by(http, on_tools_changed, None)
    }

    /// A connection whose session `lessor` lends: it never opens one itself.
    pub fn leasing(
        http: Rc<H>,
        on_tools_changed: Rc<dyn Fn()>,
        lessor: Rc<dyn Lessor>,
    ) -> Rc<Self> {
        Self::opened_by(http, on_tools_changed, Some(lessor))
    }

    fn opened_by(
        http: Rc<H>,
        on_tools_changed: Rc<dyn Fn()>,
        lessor: Option<Rc<dyn Lessor>>,
    ) -> Rc<Self> {
        Rc::new(Self {
            http,
            on_tools_changed,
            lessor,
            link: RefCell::new(None),
            next_id: Cell::new(0),
            leases: Cell::new(0),
            ids_end: Cell::new(0),
            lease_ends: Cell::new(0),
            gone: RefCell::new(None),
        })
    }

    /// Whether the session is lent to this connection, not its own.
    pub fn is_leasing(&self) -> bool {
        self.lessor.is_some()
    }

    /// A fresh JSON-RPC id.
    fn next_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// Sends request `method` to `target` in the session (opening one if needed), with the
    /// `mirrored` headers of a call's arguments, and returns its result, unless `stop` comes
    /// first. What the upstream asks meanwhile goes to `asker`, whether it asks during the
    /// request or answers it with an `input_required` result ([`input`]), after which the
    /// request is sent again with the answers.
    pub async fn request(
        self: &Rc<Self>,
        target: &Rc<Target>,
        (method, mut params): (&str, Value),
        mirrored: &[(String, String)],
        asker: Option<&dyn Asker>,
        mut stop: Stop,
    ) -> Result<Value, UpstreamError> {
        for _ in 0..=MAX_INPUT_ROUNDS {
            let sent = (method, params.clone());
            let result = self.send(target, sent, mirrored, asker, &mut stop).await?;
            let Some(input) = InputRequired::of(&result) else {
                return Ok(result);
            };
            params = input?.answered(asker, params).await?;
        }
        Err(UpstreamError::Malformed {
            detail: format!(
                "it asked for input more than {MAX_INPUT_ROUNDS} times for one request"
            ),
        })
    }

    /// Sends request `method` once, as [`Connection::request`] does; a listing is sent again
    /// when the session had ended.
    async fn send(
        self: &Rc<Self>,
        target: &Rc<Target>,
        (method, params): (&str, Value),
        mirrored: &[(String, String)],
        asker: Option<&dyn Asker>,
        stop: &mut Stop,
    ) -> Result<Value, UpstreamError> {
        let attempts = if method == TOOLS_CALL { 1 } else { 2 };
        for _ in 0..attempts {
            self.return_spent_lease();
            let link = self.link(target).await?;
            let id = self.next_id();
            let message = client::request(id, method, params.clone());
            let sent = Outgoing {
                message: &message,
                mirrored,
                asker,
            };
            match self.exchange(target, &link, sent, id, stop).await {
                Exchange::Answered(outcome) => return outcome,
                Exchange::SessionGone => {
                    if let (Some(_), Link::Streamable(session)) = (&self.lessor, link.as_ref()) {
                        *self.gone.borrow_mut() = session.id().map(str::to_owned);
                    }
                    self.forget(&link);
                }
            }
        }
        Err(UpstreamError::SessionExpired)
    }

    /// The open session, or the one being opened; a new one when there is none, the last
    /// attempt failed, or the session's stream has closed.
    async fn link(self: &Rc<Self>, target: &Rc<Target>) -> Result<Rc<Link>, UpstreamError> {
        let current = self.link.borrow().clone();
        let usable = current.filter(|link| match link.peek() {
            None => true,
            Some(Ok(link)) => link.is_open(),
            Some(Err(_)) => false,
        });
        let link = usable.unwrap_or_else(|| {
            let (this, target) = (Rc::clone(self), Rc::clone(target));
            let opening = async move { this.open(&target).await }
                .boxed_local()
                .shared();
            *self.link.borrow_mut() = Some(opening.clone());
            opening
        });
        link.await
    }

    /// Drops the session, so the next request opens a new one.
    pub fn drop_session(&self) {
        self.link.borrow_mut().take();
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
    async fn open(self: &Rc<Self>, target: &Rc<Target>) -> Result<Rc<Link>, UpstreamError> {
        let opening = async {
            match (&self.lessor, target.config.transport) {
                (Some(lessor), _) => self.borrow_session(lessor.as_ref()).await,
                (None, Transport::StreamableHttp) => {
                    Session::open(self, target, self.next_id()).await
                }
                (None, Transport::Sse) => Channel::open(self, target, self.next_id()).await,
            }
        };
        let ms = target.config.timeout_ms;
        patience::within(self.http.as_ref(), ms, opening, None)
            .await
            .unwrap_or(Err(UpstreamError::Timeout { ms }))
            .map(Rc::new)
    }

    async fn exchange(
        self: &Rc<Self>,
        target: &Rc<Target>,
        link: &Rc<Link>,
        sent: Outgoing<'_>,
        id: u64,
        stop: &mut Stop,
    ) -> Exchange {
        let abort = self.http.abort();
        let timed = sent
            .asker
            .map(|asker| Timed::new(asker, self.http.as_ref()));
        let sent = Outgoing {
            asker: timed.as_ref().map(|timed| timed as &dyn Asker),
            ..sent
        };
        let work = async {
            match link.as_ref() {
                Link::Streamable(session) => {
                    session.exchange(self, target, &sent, id, &abort).await
                }
                Link::Legacy(channel) => channel.exchange(self, target, sent.message, id).await,
            }
        };
        let ms = target.config.timeout_ms;
        let patiently = patience::within(self.http.as_ref(), ms, work, timed.as_ref());
        let error = match select(Box::pin(patiently), stop).await {
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
        Exchange::Answered(Err(self.abandoned(target, link, id, error)))
    }

    /// `error`, for request `id` that the runner gave up on, after telling the upstream to stop
    /// working on it.
    fn abandoned(
        self: &Rc<Self>,
        target: &Rc<Target>,
        link: &Rc<Link>,
        id: u64,
        error: UpstreamError,
    ) -> UpstreamError {
        let (this, target, link) = (Rc::clone(self), Rc::clone(target), Rc::clone(link));
        let reason = error.to_string();
        self.http.spawn(async move {
            // Best effort: the request has failed whether or not the upstream hears this.
            let _ = link
                .notify(&this, &target, &cancelled_notification(id, &reason))
                .await;
        });
        error
    }

    /// POSTs `message` to `url` with the upstream's headers, `extra` ones, those repeating its
    /// method and tool, and the `mirrored` arguments of a call (SEP-2243).
    async fn post(
        &self,
        target: &Target,
        url: &str,
        extra: &[(&'static str, String)],
        mirrored: &[(String, String)],
        message: &Value,
        abort: Option<&H::Abort>,
    ) -> Result<H::Response, UpstreamError> {
        let mut headers = base_headers(target, "application/json, text/event-stream");
        headers.push(("Content-Type".into(), "application/json".into()));
        let named = client::method_headers(message);
        let extra = extra.iter().chain(&named);
        headers.extend(extra.map(|(n, v)| ((*n).to_owned(), v.clone())));
        headers.extend(mirrored.iter().cloned());
        let request = UpstreamRequest::post(url, headers, message.to_string());
        self.http.send(request, abort).await
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
    async fn notify<H: Http + 'static>(
        &self,
        connection: &Rc<Connection<H>>,
        target: &Target,
        message: &Value,
    ) -> Result<(), UpstreamError> {
        let (url, headers) = match self {
            Link::Streamable(session) => (target.config.url.as_str(), session.headers()),
            Link::Legacy(channel) => (channel.endpoint(), Vec::new()),
        };
        let response = connection
            .post(target, url, &headers, &[], message, None)
            .await?;
        match response.status() {
            200..=299 => Ok(()),
            status => Err(client::http_failure(
                status,
                "the upstream refused a notification",
            )),
        }
    }
}

impl<H: Http + 'static> Connection<H> {
    /// GETs the upstream's event stream with its headers and `extra` ones (resuming a stream).
    async fn get(
        &self,
        target: &Target,
        extra: &[(&'static str, String)],
    ) -> Result<H::Response, UpstreamError> {
        let mut headers = base_headers(target, EVENT_STREAM);
        headers.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
        let request = UpstreamRequest::get(&target.config.url, headers);
        self.http.send(request, None).await
    }
}

/// The upstream's configured headers (secrets resolved), its OAuth access token, and `Accept`.
fn base_headers(target: &Target, accept: &str) -> Vec<(String, String)> {
    let mut headers = vec![("Accept".to_owned(), accept.to_owned())];
    headers.extend(target.headers.iter().cloned());
    if let Some(token) = target.bearer() {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    headers
}
