//! Streamable HTTP: each message a POST, each answer read from the POST's response, JSON or an
//! SSE stream read only as far as the answer.

use std::rc::Rc;

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{json, Value};

use super::{
    read_body, Asker, Connection, Exchange, Http, Lease, Link, Outgoing, UpstreamResponse,
    LEASE_VALID_MS,
};
use crate::protocol::http::{
    CONTENT_LENGTH, EVENT_STREAM, PROTOCOL_VERSION_HEADER, SESSION_HEADER,
};
use crate::protocol::method::PING;
use crate::protocol::notification::TOOLS_LIST_CHANGED;
use crate::protocol::version::{STATELESS_VERSIONS, UPSTREAM_REQUESTED};
use crate::upstream::bounds::{session_rejected, ByteBudget, ERROR_BODY_BYTES};
use crate::upstream::client::{
    http_failure, initialize_request, initialized_notification, negotiated_version,
    read_json_response, refusal, sends_version_header, speaks_only_stateless, with_stateless_meta,
    StreamedResponse, UpstreamError,
};
use crate::upstream::target::Target;

/// A streamable HTTP session, or the stateless protocol's stand-in for one.
pub(super) struct Session {
    /// `Mcp-Session-Id`, when the upstream issued one (stateless servers do not).
    id: Option<String>,
    /// The negotiated protocol version.
    version: String,
    /// Whether the upstream speaks only the stateless protocol (2026-07-28): there is no
    /// session, and every request carries its version and the runner's capabilities in `_meta`.
    stateless: bool,
}

impl Session {
    /// The session `lease` lends.
    pub(super) fn leased(lease: Lease) -> Self {
        Self {
            id: lease.session,
            version: lease.version,
            stateless: lease.stateless,
        }
    }

    /// A lease of this session, of the `ids` from `first_id`, for the usual time.
    pub(super) fn lease(&self, first_id: u64, ids: u64) -> Lease {
        Lease {
            session: self.id.clone(),
            version: self.version.clone(),
            stateless: self.stateless,
            first_id,
            ids,
            valid_ms: LEASE_VALID_MS,
        }
    }

    /// `Mcp-Session-Id`, when the upstream issued one.
    pub(super) fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Initializes a session with request `id`.
    pub(super) async fn open<H: Http + 'static>(
        connection: &Rc<Connection<H>>,
        target: &Target,
        id: u64,
    ) -> Result<Link, UpstreamError> {
        let url = target.config.url.as_str();
        // The version header too, for the same reason as the request's `_meta`.
        let asked = [(
            PROTOCOL_VERSION_HEADER,
            UPSTREAM_REQUESTED.as_str().to_owned(),
        )];
        let mut response = connection
            .post(target, url, &asked, &[], &initialize_request(id), None)
            .await?;
        let session_id = response.header(SESSION_HEADER);
        let status = response.status();
        let stateless = Link::Streamable(Session {
            id: None,
            version: STATELESS_VERSIONS[0].as_str().to_owned(),
            stateless: true,
        });
        if matches!(status, 400 | 404) {
            let body = read_error_body(&mut response).await;
            if speaks_only_stateless(&body) {
                return Ok(stateless);
            }
            return Err(http_failure(status, &body));
        }
        let replies = Replies {
            connection,
            target,
            session: None,
            asker: None,
        };
        let result = match read_answer(&replies, &mut response, id).await {
            Err(UpstreamError::Rpc { code: -32601, .. }) => return Ok(stateless),
            answered => answered?,
        };
        // An upstream may also answer `initialize` by naming the stateless version.
        let named = result.get("protocolVersion").and_then(Value::as_str);
        if named.is_some_and(|version| STATELESS_VERSIONS.iter().any(|v| v.as_str() == version)) {
            return Ok(stateless);
        }
        let link = Link::Streamable(Session {
            id: session_id,
            version: negotiated_version(&result)?,
            stateless: false,
        });
        link.notify(connection, target, &initialized_notification())
            .await?;
        Ok(link)
    }

    /// POSTs request `id` in the session and reads its answer; what the upstream asks meanwhile
    /// goes to `asker`.
    pub(super) async fn exchange<H: Http + 'static>(
        &self,
        connection: &Rc<Connection<H>>,
        target: &Target,
        sent: &Outgoing<'_>,
        id: u64,
        abort: &H::Abort,
    ) -> Exchange {
        let Outgoing {
            message,
            mirrored,
            asker,
        } = *sent;
        let url = target.config.url.as_str();
        let stateless;
        let message = if self.stateless {
            stateless = with_stateless_meta(message);
            &stateless
        } else {
            message
        };
        let posted = connection
            .post(target, url, &self.headers(), mirrored, message, Some(abort))
            .await;
        let mut response = match posted {
            Ok(response) => response,
            Err(error) => return Exchange::Answered(Err(error)),
        };
        let status = response.status();
        if self.id.is_some() && matches!(status, 400 | 404) {
            // Whether the session is gone depends on what the upstream says.
            let body = read_error_body(&mut response).await;
            if session_rejected(status, true, &body) {
                return Exchange::SessionGone;
            }
            return Exchange::Answered(Err(http_failure(status, &body)));
        }
        let headers = (!self.stateless).then(|| self.headers());
        let replies = Replies {
            connection,
            target,
            session: headers.as_deref(),
            asker,
        };
        Exchange::Answered(read_answer(&replies, &mut response, id).await)
    }

    /// The headers of every message after `initialize`.
    pub(super) fn headers(&self) -> Vec<(&'static str, String)> {
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

/// Where the upstream's own requests during an exchange are answered: the session they belong
/// to (none before it is open, or without one), and who answers its questions.
struct Replies<'a, H: Http> {
    connection: &'a Connection<H>,
    target: &'a Target,
    /// The session's headers, when there is a session.
    session: Option<&'a [(&'static str, String)]>,
    asker: Option<&'a dyn Asker>,
}

impl<H: Http + 'static> Replies<'_, H> {
    /// Answers the upstream's request `id`: a `ping` at once, a question by the asker (refused
    /// without one), POSTed back in the session.
    async fn answer(&self, id: Value, method: &str, params: Value) {
        let outcome = match (method, self.asker) {
            (PING, _) => Ok(json!({})),
            (_, Some(asker)) => asker.ask(method, params).await,
            (_, None) => Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("{method} cannot be answered here: no person is waiting on this request"),
                None,
            )),
        };
        let message = match outcome {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        let url = self.target.config.url.as_str();
        let headers = self.session.unwrap_or_default();
        // Best effort: an upstream that does not take the answer fails its own request.
        let _ = (self.connection)
            .post(self.target, url, headers, &[], &message, None)
            .await;
    }
}

/// Reads the result of request `id` from a POST's response: JSON, or an SSE stream read only as
/// far as the response. Notifications on the way are heeded, and the upstream's own requests
/// answered through `replies`. Neither is read past the upstream's `maxResultBytes`: an answer
/// that declares more is refused unread, one that streams more is dropped (which cancels the
/// rest) as soon as it passes the limit. A stream that ends before the response, having set an
/// event id, is resumed with a GET carrying `Last-Event-ID` and the session's headers (when
/// there is a session), after the stream's `retry` time.
async fn read_answer<H: Http + 'static>(
    replies: &Replies<'_, H>,
    response: &mut H::Response,
    id: u64,
) -> Result<Value, UpstreamError> {
    let Replies {
        connection,
        target,
        session,
        ..
    } = *replies;
    let status = response.status();
    if let Some(refused) = refusal(status, response.header("WWW-Authenticate")) {
        return Err(refused);
    }
    if !(200..300).contains(&status) {
        return Err(http_failure(status, &read_error_body(response).await));
    }
    let limit = u64::from(target.config.max_result_bytes);
    let declared = response.header(CONTENT_LENGTH);
    ByteBudget::new(limit).check_declared(declared.as_deref())?;
    if !is_event_stream(response) {
        let body = read_body(response, limit).await?;
        return read_json_response(&String::from_utf8_lossy(&body), id);
    }
    let mut reader = StreamedResponse::new(id, limit);
    let mut outcome = read_events(response, &mut reader, replies).await?;
    let mut resumptions = 0;
    while let (None, Some(session), Some((last, retry))) = (&outcome, session, reader.resumption())
    {
        if resumptions == MAX_RESUMPTIONS {
            break;
        }
        resumptions += 1;
        let wait = retry.unwrap_or(DEFAULT_RETRY_MS).min(MAX_RETRY_MS);
        let mut headers = session.to_vec();
        headers.push((LAST_EVENT_ID_HEADER, last.to_owned()));
        connection.http.sleep(wait).await;
        let mut resumed = connection.get(target, &headers).await?;
        if !(200..300).contains(&resumed.status()) || !is_event_stream(&resumed) {
            break;
        }
        outcome = read_events(&mut resumed, &mut reader, replies).await?;
    }
    if reader
        .notifications()
        .iter()
        .any(|m| m == TOOLS_LIST_CHANGED)
    {
        (connection.on_tools_changed)();
    }
    outcome.unwrap_or_else(|| reader.finish())
}

/// How many times a stream that ended before its response is resumed.
const MAX_RESUMPTIONS: u32 = 3;
/// How long to wait before resuming when the stream set no `retry`.
const DEFAULT_RETRY_MS: u32 = 1_000;
/// The longest `retry` honoured; the request's timeout bounds the whole anyway.
const MAX_RETRY_MS: u32 = 5_000;
/// The header that resumes an event stream after the event it names.
const LAST_EVENT_ID_HEADER: &str = "Last-Event-ID";

/// Whether `response` is an event stream.
fn is_event_stream(response: &impl UpstreamResponse) -> bool {
    let content_type = response.header("Content-Type");
    content_type.is_some_and(|t| t.trim_start().starts_with(EVENT_STREAM))
}

/// Feeds `response`'s events to `reader` until the response arrives (its outcome) or the stream
/// ends (`None`), answering the upstream's requests on the way through `replies`.
async fn read_events<H: Http + 'static>(
    response: &mut impl UpstreamResponse,
    reader: &mut StreamedResponse,
    replies: &Replies<'_, H>,
) -> Result<Option<Result<Value, UpstreamError>>, UpstreamError> {
    while let Some(piece) = response.next_piece().await? {
        if let Some(outcome) = reader.feed(&piece) {
            return Ok(Some(outcome));
        }
        for (id, method, params) in reader.take_requests() {
            replies.answer(id, &method, params).await;
        }
    }
    Ok(None)
}

/// The start of an error answer's body, enough to quote and to judge; the rest is not read.
pub(super) async fn read_error_body(response: &mut impl UpstreamResponse) -> String {
    let mut body = Vec::new();
    while let Ok(Some(piece)) = response.next_piece().await {
        body.extend_from_slice(&piece);
        if body.len() as u64 >= ERROR_BODY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}
