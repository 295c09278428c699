//! The Worker's `fetch`, timers, clock and `spawn_local` as an upstream session's [`Http`]
//! platform.

use std::future::Future;
use std::time::Duration;

use wasm_bindgen_futures::spawn_local;
use worker::{web_sys, AbortSignal, Delay, Fetch, Headers, Method, RequestInit};

use super::body::{unreachable, BodyReader};
use crate::shell::js::now_ms;
use crate::upstream::client::UpstreamError;
use crate::upstream::session::{self, Abort, Http, UpstreamRequest, UpstreamResponse};

/// The Worker's network.
pub(crate) struct WorkerHttp;

/// A fetched response, its body read in large pieces.
pub(crate) struct WorkerResponse {
    response: worker::Response,
    /// The body's reader, made at the first read.
    body: Option<BodyReader>,
    /// Whether the body has been read to its end (or there was none).
    ended: bool,
}

/// A request's `AbortController` (none where the runtime could not make one: then the
/// request runs to its end, unread).
pub(crate) struct WorkerAbort(Option<web_sys::AbortController>);

impl Abort for WorkerAbort {
    fn abort(&self) {
        if let Some(controller) = &self.0 {
            controller.abort();
        }
    }
}

impl UpstreamResponse for WorkerResponse {
    fn status(&self) -> u16 {
        self.response.status_code()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get(name).ok().flatten()
    }

    async fn next_piece(&mut self) -> Result<Option<Vec<u8>>, UpstreamError> {
        if self.ended {
            return Ok(None);
        }
        if self.body.is_none() {
            self.body = BodyReader::new(&self.response)?;
        }
        let piece = match self.body.as_mut() {
            Some(body) => body.next().await?,
            None => None,
        };
        self.ended = piece.is_none();
        Ok(piece)
    }
}

impl Http for WorkerHttp {
    type Response = WorkerResponse;
    type Abort = WorkerAbort;

    fn abort(&self) -> WorkerAbort {
        WorkerAbort(web_sys::AbortController::new().ok())
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_>,
        abort: Option<&WorkerAbort>,
    ) -> Result<WorkerResponse, UpstreamError> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(unreachable)?;
        }
        let method = match request.method {
            session::Method::Get => Method::Get,
            session::Method::Post => Method::Post,
        };
        let mut init = RequestInit::new();
        init.with_method(method)
            .with_headers(headers)
            .with_body(request.body.map(Into::into));
        let fetch = Fetch::Request(
            worker::Request::new_with_init(request.url, &init).map_err(unreachable)?,
        );
        let response = match abort.and_then(|abort| abort.0.as_ref()) {
            Some(controller) => {
                fetch
                    .send_with_signal(&AbortSignal::from(controller.signal()))
                    .await
            }
            None => fetch.send().await,
        }
        .map_err(unreachable)?;
        Ok(WorkerResponse {
            response,
            body: None,
            ended: false,
        })
    }

    async fn sleep(&self, ms: u32) {
        Delay::from(Duration::from_millis(ms.into())).await;
    }

    fn spawn(&self, work: impl Future<Output = ()> + 'static) {
        spawn_local(work);
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }
}
