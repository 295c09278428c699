//! Streamable HTTP: each message a POST, each answer read from the POST's response, JSON or an
//! SSE stream read only as far as the answer.

use std::rc::Rc;

use serde_json::Value;

use super::{read_body, Connection, Exchange, Http, Link, UpstreamResponse};
use crate::protocol::http::{PROTOCOL_VERSION_HEADER, SESSION_HEADER};
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
            .post(target, url, &asked, &initialize_request(id), None)
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
        let result = match read_answer(connection, target, &mut response, id).await {
            Err(UpstreamError::Rpc { code: -32601, .. }) => return Ok(stateless),
            answered => answered?,
        };
        let link = Link::Streamable(Session {
            id: session_id,
            version: negotiated_version(&result)?,
            stateless: false,
        });
        link.notify(connection, target, &initialized_notification())
            .await?;
        Ok(link)
    }

    /// POSTs request `id` in the session and reads its answer.
    pub(super) async fn exchange<H: Http + 'static>(
        &self,
        connection: &Rc<Connection<H>>,
        target: &Target,
        message: &Value,
        id: u64,
        abort: &H::Abort,
    ) -> Exchange {
        let url = target.config.url.as_str();
        let stateless;
        let message = if self.stateless {
            stateless = with_stateless_meta(message);
            &stateless
        } else {
            message
        };
        let posted = connection
            .post(target, url, &self.headers(), message, Some(abort))
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
        Exchange::Answered(read_answer(connection, target, &mut response, id).await)
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

/// Reads the result of request `id` from a POST's response: JSON, or an SSE stream read only as
/// far as the response. Notifications on the way are heeded. Neither is read past the upstream's
/// `maxResultBytes`: an answer that declares more is refused unread, one that streams more is
/// dropped (which cancels the rest) as soon as it passes the limit.
async fn read_answer<H: Http>(
    connection: &Connection<H>,
    target: &Target,
    response: &mut H::Response,
    id: u64,
) -> Result<Value, UpstreamError> {
    let status = response.status();
    if let Some(refused) = refusal(status, response.header("WWW-Authenticate")) {
        return Err(refused);
    }
    if !(200..300).contains(&status) {
        return Err(http_failure(status, &read_error_body(response).await));
    }
    let limit = u64::from(target.config.max_result_bytes);
    let declared = response.header("Content-Length");
    ByteBudget::new(limit).check_declared(declared.as_deref())?;
    let content_type = response.header("Content-Type");
    if !content_type.is_some_and(|t| t.trim_start().starts_with("text/event-stream")) {
        let body = read_body(response, limit).await?;
        return read_json_response(&String::from_utf8_lossy(&body), id);
    }
    let mut reader = StreamedResponse::new(id, limit);
    let mut outcome = None;
    while let Some(piece) = response.next_piece().await? {
        outcome = reader.feed(&piece);
        if outcome.is_some() {
            break;
        }
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
