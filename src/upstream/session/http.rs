//! What a session needs of the platform: HTTP requests whose responses are read piece by
//! piece, aborting them, timers, a clock and background work.

use std::future::Future;

use crate::upstream::bounds::ByteBudget;
use crate::upstream::client::UpstreamError;

/// The two methods a session sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The 2024-11-05 transport's event stream.
    Get,
    /// Every message.
    Post,
    /// Ending a session.
    Delete,
}

/// One HTTP request to an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRequest<'a> {
    /// `GET`, `POST` or `DELETE`.
    pub method: Method,
    /// Where.
    pub url: &'a str,
    /// Every header, in order.
    pub headers: Vec<(String, String)>,
    /// The body, for a POST.
    pub body: Option<String>,
}

impl<'a> UpstreamRequest<'a> {
    /// A POST of `body` to `url`.
    pub fn post(url: &'a str, headers: Vec<(String, String)>, body: String) -> Self {
        Self {
            method: Method::Post,
            url,
            headers,
            body: Some(body),
        }
    }

    /// A DELETE of `url`, which ends the session its headers name.
    pub fn delete(url: &'a str, headers: Vec<(String, String)>) -> Self {
        Self {
            method: Method::Delete,
            url,
            headers,
            body: None,
        }
    }

    /// A GET of `url`.
    pub fn get(url: &'a str, headers: Vec<(String, String)>) -> Self {
        Self {
            method: Method::Get,
            url,
            headers,
            body: None,
        }
    }
}

/// A response whose body is read as it arrives.
pub trait UpstreamResponse {
    /// The status code.
    fn status(&self) -> u16;
    /// A header's value.
    fn header(&self, name: &str) -> Option<String>;
    /// The next piece of the body, or `None` at its end. Dropping the response cancels the
    /// rest of the body.
    fn next_piece(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, UpstreamError>>;
}

/// Ends a request that is still under way.
pub trait Abort {
    /// Aborts the request this handle was sent with.
    fn abort(&self);
}

/// The network, timers and background work of the platform.
pub trait Http {
    /// A response.
    type Response: UpstreamResponse + 'static;
    /// An abort handle.
    type Abort: Abort;

    /// A handle that aborts the requests sent with it.
    fn abort(&self) -> Self::Abort;
    /// Sends `request`; the response once its headers have arrived.
    fn send(
        &self,
        request: UpstreamRequest<'_>,
        abort: Option<&Self::Abort>,
    ) -> impl Future<Output = Result<Self::Response, UpstreamError>>;
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Runs `work` to its end, whoever waits for it.
    fn spawn(&self, work: impl Future<Output = ()> + 'static);
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The body of a response, read only while it stays within `limit` bytes.
pub async fn read_body(
    response: &mut impl UpstreamResponse,
    limit: u64,
) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    let mut budget = ByteBudget::new(limit);
    while let Some(piece) = response.next_piece().await? {
        budget.take(piece.len())?;
        body.extend_from_slice(&piece);
    }
    Ok(body)
}
