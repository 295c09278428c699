//! Answering one request as a Server-Sent Events stream: the notifications its handler sends
//! while it works, in order, then its reply, then the end of the stream.
//!
//! The stream drives the handler: nothing runs until the runtime reads the response body, and
//! a client that goes away drops the handler with the stream.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use futures::channel::mpsc::UnboundedReceiver;
use futures::stream;
use futures::{FutureExt, StreamExt};
use serde_json::Value;

use super::jsonrpc::Reply;
use crate::protocol::http::EventStream;

/// One SSE `message` event carrying a JSON-RPC message.
pub fn frame(message: &Value) -> Vec<u8> {
    format!("event: message\ndata: {message}\n\n").into_bytes()
}

/// An SSE comment line: ignored by clients, it opens a stream at once and keeps idle
/// connections from being closed by proxies.
pub fn comment(text: &str) -> Vec<u8> {
    format!(": {text}\n\n").into_bytes()
}

/// The events of a request whose handler is `reply` and whose notifications arrive on
/// `notifications`: every notification sent before the reply, then the reply (none when the
/// request was cancelled).
pub fn answer(
    reply: impl Future<Output = Option<Reply>> + 'static,
    mut notifications: UnboundedReceiver<Value>,
) -> EventStream {
    let mut reply: Option<Pin<Box<dyn Future<Output = Option<Reply>>>>> = Some(Box::pin(reply));
    let mut finished: Option<Reply> = None;
    stream::poll_fn(move |cx| loop {
        if let Poll::Ready(Some(message)) = notifications.poll_next_unpin(cx) {
            return Poll::Ready(Some(frame(&message)));
        }
        if let Some(pending) = reply.as_mut() {
            match pending.poll_unpin(cx) {
                // Notifications sent in the handler's last step may still be queued: go round.
                Poll::Ready(done) => {
                    reply = None;
                    finished = done;
                    continue;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        return Poll::Ready(finished.take().map(|done| frame(&done.to_json())));
    })
    .boxed_local()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::channel::mpsc;
    use rmcp::model::RequestId;
    use serde_json::json;

    use super::*;

    #[test]
    fn notifications_come_before_the_reply_and_the_stream_ends() {
        let (tx, rx) = mpsc::unbounded();
        let handler = async move {
            tx.unbounded_send(json!({"n": 1})).unwrap();
            futures::future::ready(()).await;
            // Still queued when the handler returns, and still delivered first.
            tx.unbounded_send(json!({"n": 2})).unwrap();
            Some(Reply::Result {
                id: RequestId::Number(1),
                result: json!({}),
            })
        };
        let frames: Vec<String> =
            futures::executor::block_on(answer(handler, rx).collect::<Vec<_>>())
                .into_iter()
                .map(|f| String::from_utf8(f).unwrap())
                .collect();
        assert_eq!(
            frames,
            [
                "event: message\ndata: {\"n\":1}\n\n",
                "event: message\ndata: {\"n\":2}\n\n",
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
            ]
        );
    }

    #[test]
    fn a_sender_that_outlives_the_handler_does_not_hold_the_stream_open() {
        let (tx, rx) = mpsc::unbounded::<Value>();
        let handler = async {
            Some(Reply::Result {
                id: RequestId::Number(2),
                result: json!({}),
            })
        };
        let frames = futures::executor::block_on(answer(handler, rx).collect::<Vec<_>>());
        assert_eq!(frames.len(), 1);
        drop(tx);
    }
}
