//! What a request's handler may tell the client before it answers: progress and the runner's
//! own log events, sent as notifications on the request's SSE stream; and the runner's own
//! requests to the client (asking its person something), whose answers come back in POSTs.
//!
//! A request answered with plain JSON has nowhere to put them, so its context drops them; so
//! does one whose client gave no `progressToken` (for progress) or asked for no log level
//! (for log events). Handlers therefore report freely and never check the transport.

use std::cell::Cell;

use futures::channel::mpsc::UnboundedSender;
use rmcp::model::{ProgressNotificationParam, ProgressToken, RequestId};
use serde_json::{json, Value};

use super::jsonrpc::Request;
use crate::protocol::log_level::LogLevel;
use crate::protocol::notification;

/// The logger name on every `notifications/message` the runner sends.
pub const LOGGER: &str = env!("CARGO_PKG_NAME");

/// One request, as its handler sees it. Clones report for the same request.
#[derive(Clone)]
pub struct RequestContext {
    id: RequestId,
    progress_token: Option<ProgressToken>,
    log_level: Cell<Option<LogLevel>>,
    /// Where notifications go; `None` when the answer is plain JSON.
    sink: Option<UnboundedSender<Value>>,
}

impl RequestContext {
    /// The context of `request`, whose notifications go to `sink` (if it has a stream).
    pub fn new(request: &Request, sink: Option<UnboundedSender<Value>>) -> Self {
        let progress_token = request
            .params
            .as_ref()
            .and_then(|params| params.pointer("/_meta/progressToken"))
            .and_then(|token| serde_json::from_value(token.clone()).ok());
        Self {
            id: request.id.clone(),
            progress_token,
            log_level: Cell::new(None),
            sink,
        }
    }

    /// The request's JSON-RPC id, which `notifications/cancelled` names.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// Whether progress reports reach the client, so a handler can skip the work of making them.
    pub fn wants_progress(&self) -> bool {
        self.sink.is_some() && self.progress_token.is_some()
    }

    /// Sets the least severe log event the client wants (from its session, or the request).
    pub fn set_log_level(&self, level: Option<LogLevel>) {
        self.log_level.set(level);
    }

    /// Reports `progress` so far (it must grow with each report), with a short message.
    pub fn progress(&self, progress: u32, message: impl Into<String>) {
        let Some(token) = self.progress_token.clone() else {
            return;
        };
        let mut params = ProgressNotificationParam::new(token, progress.into());
        params.message = Some(message.into());
        self.send(jsonrpc_notification(notification::PROGRESS, json!(params)));
    }

    /// Sends a runner log event if the client asked for events this severe.
    pub fn log(&self, level: LogLevel, data: Value) {
        if level.is_wanted(self.log_level.get()) {
            self.send(log_message(level, data));
        }
    }

    /// Whether the request has a stream the runner's own requests can go on.
    pub fn can_ask(&self) -> bool {
        self.sink.is_some()
    }

    /// Sends the client the runner's request `id` (which its answer names); returns whether
    /// it went out.
    pub fn ask(&self, id: &str, method: &str, params: Value) -> bool {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.sink
            .as_ref()
            .is_some_and(|sink| sink.unbounded_send(request).is_ok())
    }

    /// Tells the client the runner no longer wants the answer to its request `id`.
    pub fn withdraw(&self, id: &str, reason: &str) {
        let params = json!({"requestId": id, "reason": reason});
        self.send(jsonrpc_notification(notification::CANCELLED, params));
    }

    fn send(&self, message: Value) {
        if let Some(sink) = &self.sink {
            // A closed stream means the client left; there is no one left to tell.
            let _ = sink.unbounded_send(message);
        }
    }
}

/// The `notifications/message` carrying one runner log event.
pub fn log_message(level: LogLevel, data: Value) -> Value {
    jsonrpc_notification(
        notification::MESSAGE,
        json!({"level": level, "logger": LOGGER, "data": data}),
    )
}

fn jsonrpc_notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::channel::mpsc;
    use futures::StreamExt;

    use super::*;

    fn request(params: Value) -> Request {
        Request {
            id: RequestId::Number(9),
            method: "tools/call".into(),
            params: Some(params),
        }
    }

    fn sent(context: RequestContext, mut rx: mpsc::UnboundedReceiver<Value>) -> Vec<Value> {
        drop(context);
        futures::executor::block_on(async {
            let mut all = Vec::new();
            while let Some(message) = rx.next().await {
                all.push(message);
            }
            all
        })
    }

    #[test]
    fn progress_echoes_the_clients_token() {
        let (tx, rx) = mpsc::unbounded();
        let context = RequestContext::new(
            &request(json!({"_meta": {"progressToken": "p1"}})),
            Some(tx),
        );
        assert!(context.wants_progress());
        context.progress(1, "fs.read finished");
        let sent = sent(context, rx);
        assert_eq!(
            sent,
            vec![json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": "p1", "progress": 1.0, "message": "fs.read finished"}})]
        );
    }

    #[test]
    fn progress_without_a_token_or_a_stream_goes_nowhere() {
        let (tx, rx) = mpsc::unbounded();
        let context = RequestContext::new(&request(json!({})), Some(tx));
        assert!(!context.wants_progress());
        context.progress(1, "x");
        assert!(sent(context, rx).is_empty());
        let json_only = RequestContext::new(&request(json!({"_meta": {"progressToken": 1}})), None);
        assert!(!json_only.wants_progress());
        json_only.progress(1, "x");
    }

    #[test]
    fn log_events_below_the_clients_level_are_dropped() {
        let (tx, rx) = mpsc::unbounded();
        let context = RequestContext::new(&request(json!({})), Some(tx));
        context.log(LogLevel::Error, json!("before any level"));
        context.set_log_level(Some(LogLevel::Warning));
        context.log(LogLevel::Info, json!("too quiet"));
        context.log(LogLevel::Error, json!({"event": "loud"}));
        let sent = sent(context, rx);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0]["params"],
            json!({"level": "error", "logger": LOGGER, "data": {"event": "loud"}})
        );
    }
}
