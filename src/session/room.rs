//! What a session's object holds in memory besides the record: the requests watching for their
//! cancellation, cancellations that came before their request, and the open GET streams.
//!
//! `notifications/cancelled` may reach another Worker isolate than the call it cancels, so the
//! two meet here: a running call watches, a cancellation is delivered to its watcher, or kept a
//! while when it overtook the call.

use std::collections::{HashMap, VecDeque};

use futures::channel::{mpsc, oneshot};

/// Cancellations kept for requests not yet watched (the notification overtook the request).
const EARLY_CANCELLATIONS: usize = 32;

/// GET streams kept open per session; a newer one closes the oldest. A client needs one.
const LISTENERS: usize = 4;

/// The session's watchers and streams.
#[derive(Debug, Default)]
pub struct Room {
    /// Running requests' watchers, by request key.
    watchers: HashMap<String, oneshot::Sender<String>>,
    /// Recent cancellations that found no watcher: request key and reason.
    early: VecDeque<(String, String)>,
    /// The open GET streams, oldest first.
    listeners: VecDeque<mpsc::UnboundedSender<Vec<u8>>>,
}

impl Room {
    /// Watches `request`: the receiver gets the reason once it is cancelled (at once, when
    /// its cancellation came first).
    pub fn watch(&mut self, request: String) -> oneshot::Receiver<String> {
        let (sender, receiver) = oneshot::channel();
        match self.early.iter().position(|(id, _)| *id == request) {
            Some(at) => {
                let (_, reason) = self.early.remove(at).unwrap_or_default();
                // The receiver is alive just below, so this cannot fail.
                let _ = sender.send(reason);
            }
            None => {
                // A finished request dropped its stream, and with it the receiver.
                self.watchers.retain(|_, watcher| !watcher.is_canceled());
                self.watchers.insert(request, sender);
            }
        }
        receiver
    }

    /// Delivers a cancellation to its watcher, or keeps it a while for a request not watched
    /// yet; returns whether a watcher got it.
    pub fn cancel(&mut self, request: String, reason: String) -> bool {
        match self.watchers.remove(&request) {
            Some(watcher) => watcher.send(reason).is_ok(),
            None => {
                if self.early.len() == EARLY_CANCELLATIONS {
                    self.early.pop_front();
                }
                self.early.push_back((request, reason));
                false
            }
        }
    }

    /// A new GET stream, starting with `first`; the oldest is closed past [`LISTENERS`].
    pub fn listen(&mut self, first: Vec<u8>) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let (sender, receiver) = mpsc::unbounded();
        let _ = sender.unbounded_send(first);
        self.listeners.retain(|listener| !listener.is_closed());
        if self.listeners.len() == LISTENERS {
            self.listeners.pop_front();
        }
        self.listeners.push_back(sender);
        receiver
    }

    /// Sends `frame` to every open GET stream; returns how many it went to.
    pub fn publish(&mut self, frame: &[u8]) -> usize {
        self.listeners
            .retain(|listener| listener.unbounded_send(frame.to_vec()).is_ok());
        self.listeners.len()
    }

    /// Closes every GET stream: the session has ended.
    pub fn close_streams(&mut self) {
        self.listeners.clear();
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_cancellation_reaches_the_request_watching_for_it() {
        let mut room = Room::default();
        let mut watching = room.watch("7".into());
        assert!(room.cancel("7".into(), "user stopped".into()));
        assert_eq!(
            watching.try_recv().unwrap().as_deref(),
            Some("user stopped")
        );
        assert!(!room.cancel("7".into(), "again".into()), "delivered once");
    }

    #[test]
    fn a_cancellation_that_overtakes_its_request_is_kept_for_it() {
        let mut room = Room::default();
        assert!(!room.cancel("8".into(), "too early".into()));
        let mut watching = room.watch("8".into());
        assert_eq!(watching.try_recv().unwrap().as_deref(), Some("too early"));
    }

    #[test]
    fn only_the_newest_early_cancellations_are_kept() {
        let mut room = Room::default();
        for n in 0..=EARLY_CANCELLATIONS {
            room.cancel(n.to_string(), "early".into());
        }
        assert_eq!(
            room.watch("0".into()).try_recv().unwrap(),
            None,
            "the oldest was dropped"
        );
        assert!(room.watch("1".into()).try_recv().unwrap().is_some());
    }

    #[test]
    fn a_fifth_stream_closes_the_oldest_and_events_reach_the_open_ones() {
        let mut room = Room::default();
        let mut streams: Vec<_> = (0..=LISTENERS)
            .map(|_| room.listen(b"open".to_vec()))
            .collect();
        assert_eq!(room.publish(b"event"), LISTENERS);
        let oldest = &mut streams[0];
        assert_eq!(oldest.try_recv().unwrap(), b"open".to_vec());
        assert!(oldest.try_recv().is_err(), "closed without the event");
        let newest = &mut streams[LISTENERS];
        assert_eq!(newest.try_recv().unwrap(), b"open".to_vec());
        assert_eq!(newest.try_recv().unwrap(), b"event".to_vec());
        room.close_streams();
        assert_eq!(room.publish(b"later"), 0);
    }
}
