//! The requests a Worker isolate is running that their clients may cancel, so that a
//! `notifications/cancelled` reaching the same isolate stops its request at once, without the
//! session's object.
//!
//! A cancellation may also reach another isolate than its request. For that case a request
//! that runs long watches its session's object as well (see `execution::lifecycle`), and a
//! cancellation this isolate cannot deliver here goes to the object, which hands it to that
//! watch or keeps it for a while ([`super::Room`]).

use std::cell::RefCell;
use std::collections::HashMap;

use futures::channel::oneshot;
use futures::future::{pending, Either};
use futures::{Future, FutureExt};

/// Session id and [`request_key`](super::request_key) → where the client's reason goes.
#[derive(Debug, Default)]
pub struct WaitingRequests {
    waiting: RefCell<HashMap<(String, String), oneshot::Sender<String>>>,
}

impl WaitingRequests {
    /// Registers request `key` of `session` now; the future resolves with the client's reason
    /// once [`deliver`](Self::deliver) is called for it, and never otherwise. Dropping the
    /// future (the request ended) makes a later delivery find no one.
    pub fn wait(&self, session: &str, key: String) -> impl Future<Output = String> + use<> {
        let (sender, receiver) = oneshot::channel();
        let mut waiting = self.waiting.borrow_mut();
        // Requests that ended dropped their receivers.
        waiting.retain(|_, sender| !sender.is_canceled());
        waiting.insert((session.to_owned(), key), sender);
        receiver.then(|delivered| match delivered {
            Ok(reason) => Either::Left(async { reason }),
            // Another request of the session registered the same id: only it can be cancelled.
            Err(oneshot::Canceled) => Either::Right(pending()),
        })
    }

    /// Hands `reason` to request `key` of `session` if it runs in this isolate; answers
    /// whether it did.
    pub fn deliver(&self, session: &str, key: &str, reason: &str) -> bool {
        let sender = (self.waiting.borrow_mut()).remove(&(session.to_owned(), key.to_owned()));
        sender.is_some_and(|sender| sender.send(reason.to_owned()).is_ok())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_cancellation_reaches_its_request_in_this_isolate_once() {
        let waiting = WaitingRequests::default();
        let request = waiting.wait("session-1", "7".into());
        assert!(waiting.deliver("session-1", "7", "user stopped"));
        assert_eq!(request.now_or_never().as_deref(), Some("user stopped"));
        assert!(
            !waiting.deliver("session-1", "7", "again"),
            "delivered once"
        );
    }

    #[test]
    fn a_cancellation_reaches_only_the_request_of_its_own_session() {
        let waiting = WaitingRequests::default();
        let mine = waiting.wait("session-1", "7".into());
        assert!(!waiting.deliver("session-2", "7", "not yours"));
        assert!(!waiting.deliver("session-1", "\"7\"", "another id"));
        assert_eq!(mine.now_or_never(), None);
    }

    #[test]
    fn a_request_that_ended_is_not_delivered_to() {
        let waiting = WaitingRequests::default();
        drop(waiting.wait("session-1", "7".into()));
        assert!(!waiting.deliver("session-1", "7", "too late"));
    }

    #[test]
    fn a_request_whose_id_was_reused_is_never_cancelled_for_the_newer_one() {
        let waiting = WaitingRequests::default();
        let first = waiting.wait("session-1", "7".into());
        let second = waiting.wait("session-1", "7".into());
        assert!(waiting.deliver("session-1", "7", "stop"));
        assert_eq!(second.now_or_never().as_deref(), Some("stop"));
        assert_eq!(first.now_or_never(), None);
    }
}
