//! HTTP requests and responses as plain values, and the header names MCP gives meaning to: the
//! transports read and write these, and only the Worker shell turns them into `fetch` objects.

use std::fmt;

use futures::stream::LocalBoxStream;
use serde_json::Value;

/// The session header, as the spec spells it (names compare case-insensitively).
pub const SESSION_HEADER: &str = "Mcp-Session-Id";
/// The protocol version header clients send after `initialize`.
pub const PROTOCOL_VERSION_HEADER: &str = "MCP-Protocol-Version";
/// The header that declares a body's length in bytes.
pub const CONTENT_LENGTH: &str = "Content-Length";
/// The `Content-Type` of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The largest request body the runner reads, in bytes: an `execute` whose code is at
/// `maxCodeBytes`' ceiling (1 MiB) fits with every character escaped. A larger body is refused
/// unread, whoever sent it, so no request can make the runner hold more.
pub const MAX_REQUEST_BYTES: u64 = 8 << 20;

/// A response body delivered as it is produced.
pub type EventStream = LocalBoxStream<'static, Vec<u8>>;

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

    /// A response with no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Complete(Vec::new()),
        }
    }

    /// An SSE stream.
    pub fn events(stream: EventStream) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("Content-Type".into(), EVENT_STREAM.into()),
                ("Cache-Control".into(), "no-cache".into()),
            ],
            body: Body::Events(stream),
        }
    }

    /// This response with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
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
