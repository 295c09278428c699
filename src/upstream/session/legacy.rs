//! The HTTP+SSE transport of protocol 2024-11-05, for upstreams that predate streamable HTTP.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse>.
//! The runner holds a GET event stream open; the server's first event (`endpoint`) names the
//! URL messages are POSTed to, and every answer arrives on the stream, matched to its request
//! by id. The endpoint must be on the upstream's own origin: the upstream's headers, secrets
//! included, go wherever it points.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use serde_json::Value;
use url::Url;

use super::streamable::read_error_body;
use super::{base_headers, Connection, Exchange, Http, Link, UpstreamRequest, UpstreamResponse};
use crate::protocol::method::PING;
use crate::protocol::notification::TOOLS_LIST_CHANGED;
use crate::upstream::bounds::session_rejected;
use crate::upstream::client::{
    classify, empty_result, http_failure, initialize_request, initialized_notification,
    negotiated_version, parse_message, Incoming, UpstreamError,
};
use crate::upstream::sse::{Event, EventParser, EventTooLarge};
use crate::upstream::target::Target;

/// An open event stream and the requests waiting for answers on it.
pub(super) struct Channel {
    /// Where messages are POSTed.
    endpoint: String,
    /// Requests sent and not yet answered, by id.
    pending: RefCell<HashMap<u64, oneshot::Sender<Result<Value, UpstreamError>>>>,
    /// Cleared when the stream ends.
    open: Cell<bool>,
    /// Why the stream was given up, when the runner did so: passed to every waiting request.
    failure: RefCell<Option<UpstreamError>>,
}

/// Removes a request from the waiting list however its exchange ends (answer, error, timeout).
struct Waiting<'a> {
    channel: &'a Channel,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.channel.pending.borrow_mut().remove(&self.id);
    }
}

impl Channel {
    /// Opens the event stream, learns the endpoint and initializes the session with request
    /// `id`.
    pub(super) async fn open<H: Http + 'static>(
        connection: &Rc<Connection<H>>,
        target: &Rc<Target>,
        id: u64,
    ) -> Result<Link, UpstreamError> {
        let headers = base_headers(target, "text/event-stream");
        let request = UpstreamRequest::get(&target.config.url, headers);
        let mut stream = connection.http.send(request, None).await?;
        let status = stream.status();
        if !(200..300).contains(&status) {
            return Err(http_failure(status, &read_error_body(&mut stream).await));
        }
        let limit = target.config.max_result_bytes;
        let mut parser =
            EventParser::with_event_limit(usize::try_from(limit).unwrap_or(usize::MAX));
        let (endpoint, early) = loop {
            let Some(piece) = stream.next_piece().await? else {
                return Err(UpstreamError::Malformed {
                    detail: "the event stream ended before naming its message endpoint".into(),
                });
            };
            let mut events = parser.feed(&piece).map_err(|e| too_large(&e))?;
            if let Some(at) = events.iter().position(|e| e.name == "endpoint") {
                let early = events.split_off(at + 1);
                break (events.pop().map(|e| e.data).unwrap_or_default(), early);
            }
        };
        let channel = Rc::new(Channel {
            endpoint: same_origin(&target.config.url, &endpoint)?,
            pending: RefCell::new(HashMap::new()),
            open: Cell::new(true),
            failure: RefCell::new(None),
        });
        connection.http.spawn(read_events(
            Rc::clone(connection),
            Rc::clone(target),
            Rc::clone(&channel),
            (stream, parser, early),
        ));
        let result = match channel
            .exchange(connection, target, &initialize_request(id), id)
            .await
        {
            Exchange::Answered(outcome) => outcome?,
            Exchange::SessionGone => return Err(closed()),
        };
        negotiated_version(&result)?;
        let link = Link::Legacy(channel);
        link.notify(connection, target, &initialized_notification())
            .await?;
        Ok(link)
    }

    /// The URL messages are POSTed to.
    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the event stream is still open.
    pub(super) fn is_open(&self) -> bool {
        self.open.get()
    }

    /// POSTs request `id` and waits for its answer on the stream.
    pub(super) async fn exchange<H: Http + 'static>(
        &self,
        connection: &Rc<Connection<H>>,
        target: &Target,
        message: &Value,
        id: u64,
    ) -> Exchange {
        if !self.is_open() {
            return Exchange::SessionGone;
        }
        let (sender, answer) = oneshot::channel();
        self.pending.borrow_mut().insert(id, sender);
        let _waiting = Waiting { channel: self, id };
        let posted = connection
            .post(target, &self.endpoint, &[], &[], message, None)
            .await;
        let mut response = match posted {
            Ok(response) => response,
            Err(error) => return Exchange::Answered(Err(error)),
        };
        match response.status() {
            200..=299 => {}
            status => {
                let body = read_error_body(&mut response).await;
                // The session is in the endpoint's URL, so every POST carries it.
                if session_rejected(status, true, &body) {
                    return Exchange::SessionGone;
                }
                return Exchange::Answered(Err(http_failure(status, &body)));
            }
        }
        Exchange::Answered(answer.await.unwrap_or_else(|_| Err(self.ended())))
    }

    /// Why no answer will come: the runner gave the stream up, or the upstream closed it.
    fn ended(&self) -> UpstreamError {
        self.failure.borrow().clone().unwrap_or_else(closed)
    }
}

/// The error for an event past the upstream's `maxResultBytes`.
fn too_large(error: &EventTooLarge) -> UpstreamError {
    let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    UpstreamError::TooLarge {
        bytes: bytes(error.bytes),
        declared: false,
        limit: bytes(error.limit),
    }
}

fn closed() -> UpstreamError {
    UpstreamError::unreachable("the upstream closed its event stream before answering")
}

/// The endpoint an `endpoint` event names, resolved against the stream's URL; refused when it
/// points at another origin.
pub(super) fn same_origin(stream_url: &str, endpoint: &str) -> Result<String, UpstreamError> {
    let malformed = |detail: String| UpstreamError::Malformed { detail };
    let base = Url::parse(stream_url).map_err(|e| malformed(format!("the URL: {e}")))?;
    let resolved = base
        .join(endpoint.trim())
        .map_err(|e| malformed(format!("the endpoint `{endpoint}`: {e}")))?;
    if resolved.origin() != base.origin() {
        return Err(malformed(format!(
            "the endpoint `{endpoint}` is on another origin; the runner sends messages only to the \
             upstream's own"
        )));
    }
    Ok(resolved.into())
}

/// Reads the event stream until it ends: answers go to their waiting requests, a tool-list
/// change is reported, a `ping` is answered.
async fn read_events<H: Http + 'static>(
    connection: Rc<Connection<H>>,
    target: Rc<Target>,
    channel: Rc<Channel>,
    (mut stream, mut parser, early): (H::Response, EventParser, Vec<Event>),
) {
    let heed = |event: Event| {
        if event.name != "message" {
            return;
        }
        let Ok(message) = parse_message(&event.data) else {
            return;
        };
        match classify(message) {
            Ok(Incoming::Response { id, outcome }) => {
                let waiting = id
                    .as_u64()
                    .and_then(|id| channel.pending.borrow_mut().remove(&id));
                if let Some(waiting) = waiting {
                    // The requester may have given up already; then nobody needs the answer.
                    let _ = waiting.send(outcome);
                }
            }
            Ok(Incoming::Notification { method }) if method == TOOLS_LIST_CHANGED => {
                (connection.on_tools_changed)();
            }
            Ok(Incoming::Request { id, method, .. }) if method == PING => {
                let (this, target) = (Rc::clone(&connection), Rc::clone(&target));
                let endpoint = channel.endpoint.clone();
                connection.http.spawn(async move {
                    let answer = empty_result(&id);
                    let _ = this.post(&target, &endpoint, &[], &[], &answer, None).await;
                });
            }
            _ => {}
        }
    };
    early.into_iter().for_each(heed);
    while let Ok(Some(piece)) = stream.next_piece().await {
        match parser.feed(&piece) {
            Ok(events) => events.into_iter().for_each(heed),
            Err(error) => {
                // An event past the limit cannot be matched to its request without reading it
                // all, so the stream is given up (dropping it cancels it) and every request
                // waiting on it fails with the size error; the next request opens a new one.
                *channel.failure.borrow_mut() = Some(too_large(&error));
                break;
            }
        }
    }
    channel.open.set(false);
    // Dropping the senders tells every waiting request that no answer will come.
    channel.pending.borrow_mut().clear();
}
