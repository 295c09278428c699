//! The Worker's `fetch`, timers, clock and `spawn_local` as an upstream session's [`Http`]
//! platform, with responses read in large pieces.
//!
//! A fetched body's default reader hands workerd's data over 4 KiB at a time, and each piece
//! costs a promise, a wake-up and a copy into wasm: a 10 MiB answer took 2,561 reads and 350 ms.
//! A BYOB ("bring your own buffer") reader with a large buffer takes whatever has arrived, up to
//! [`PIECE_BYTES`], in one read, while still returning as soon as anything is there (an SSE
//! stream's events are not held back). The buffer each read hands back is the next read's, so
//! a body costs one buffer, not one per piece; it starts small, since most answers are, and
//! grows when a read fills it. Dropping the reader cancels the body, so what is not read is not
//! received.

use std::future::Future;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use serde_json::json;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::{web_sys, Context};

use crate::shell::js::{call_method, describe, now_ms, to_js};
use crate::shell::timer::Sleep;
use crate::upstream::client::UpstreamError;
use crate::upstream::session::{self, Abort, Http, UpstreamRequest, UpstreamResponse};

/// The Worker's network. Work it starts in the background outlives the request that started it
/// where it `keeps` that request alive (a lessee's, whose request may answer first); an
/// object's lives as long as the object.
#[derive(Default)]
pub(crate) struct WorkerHttp {
    keeps: Option<Rc<Context>>,
}

impl WorkerHttp {
    /// The network of the request of `context`, which background work keeps alive.
    pub(crate) fn keeping(context: Rc<Context>) -> Self {
        Self {
            keeps: Some(context),
        }
    }
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

#[wasm_bindgen]
extern "C" {
    /// The runtime's `fetch`: `worker`'s `Request`, `Fetch` and `Response` wrappers are wasm
    /// every execution that calls an upstream would compile again.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn runtime_fetch(url: &str, init: &web_sys::RequestInit) -> Result<Promise, JsValue>;
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
        let headers = web_sys::Headers::new().map_err(js_error)?;
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(js_error)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(match request.method {
            session::Method::Get => "GET",
            session::Method::Post => "POST",
            session::Method::Delete => "DELETE",
        });
        init.set_headers(&headers);
        if let Some(body) = request.body {
            init.set_body(&JsValue::from(body));
        }
        if let Some(controller) = abort.and_then(|abort| abort.0.as_ref()) {
            init.set_signal(Some(&controller.signal()));
        }
        let sent = runtime_fetch(request.url, &init).map_err(js_error)?;
        let response = JsFuture::from(sent).await.map_err(js_error)?;
        Ok(WorkerResponse::new(response.unchecked_into()))
    }

    async fn sleep(&self, ms: u32) {
        Sleep::new(ms).await;
    }

    fn spawn(&self, work: impl Future<Output = ()> + 'static) {
        match &self.keeps {
            Some(context) => context.wait_until(work),
            None => spawn_local(work),
        }
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// The buffer of a body's first read.
const FIRST_PIECE_BYTES: u32 = 16 * 1024;
/// The most one read takes.
const PIECE_BYTES: u32 = 1024 * 1024;

#[wasm_bindgen]
extern "C" {
    /// A `ReadableStreamBYOBReader`.
    type ByobReader;

    #[wasm_bindgen(method)]
    fn read(this: &ByobReader, view: &Uint8Array) -> Promise;

    #[wasm_bindgen(method)]
    fn cancel(this: &ByobReader) -> Promise;
}

/// A fetched response, its body read piece by piece.
pub(crate) struct WorkerResponse {
    response: web_sys::Response,
    /// The body's reader, made at the first read.
    reader: Option<ByobReader>,
    /// The buffer the last read handed back, for the next read.
    spare: Option<ArrayBuffer>,
    /// Whether the body has been read to its end (or there was none).
    done: bool,
}

impl WorkerResponse {
    /// `response`, its body not read yet.
    pub(super) fn new(response: web_sys::Response) -> Self {
        Self {
            response,
            reader: None,
            spare: None,
            done: false,
        }
    }

    /// The body's reader, made at the first read; `None` when there is no body.
    fn reader(&mut self) -> Result<Option<&ByobReader>, UpstreamError> {
        if self.reader.is_none() {
            let Some(stream) = self.response.body() else {
                return Ok(None);
            };
            let options = to_js(&json!({"mode": "byob"})).map_err(UpstreamError::unreachable)?;
            let reader = call_method(&stream, "getReader", &[&options])
                .map_err(UpstreamError::unreachable)?;
            self.reader = Some(reader.unchecked_into());
        }
        Ok(self.reader.as_ref())
    }
}

impl UpstreamResponse for WorkerResponse {
    fn status(&self) -> u16 {
        self.response.status()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get(name).ok().flatten()
    }

    async fn next_piece(&mut self) -> Result<Option<Vec<u8>>, UpstreamError> {
        while !self.done {
            let view = match self.spare.take() {
                Some(buffer) => Uint8Array::new(&buffer),
                None => Uint8Array::new_with_length(FIRST_PIECE_BYTES),
            };
            let Some(reader) = self.reader()? else {
                self.done = true;
                break;
            };
            let result = JsFuture::from(reader.read(&view)).await.map_err(js_error)?;
            self.done = Reflect::get(&result, &"done".into())
                .map_err(js_error)?
                .is_truthy();
            let value = Reflect::get(&result, &"value".into()).map_err(js_error)?;
            if let Some(piece) = value.dyn_ref::<Uint8Array>() {
                let bytes = piece.to_vec();
                let buffer = piece.buffer();
                // A full buffer says more is waiting: the next read takes four times as much.
                let size = buffer.byte_length();
                self.spare = Some(match piece.length() == size && size < PIECE_BYTES {
                    true => ArrayBuffer::new((size * 4).min(PIECE_BYTES)),
                    false => buffer,
                });
                if !bytes.is_empty() {
                    return Ok(Some(bytes));
                }
            }
        }
        Ok(None)
    }
}

impl Drop for WorkerResponse {
    fn drop(&mut self) {
        if let (Some(reader), false) = (&self.reader, self.done) {
            // Best effort: the body is abandoned either way.
            drop(reader.cancel());
        }
    }
}

fn js_error(error: JsValue) -> UpstreamError {
    UpstreamError::unreachable(describe(&error))
}
