//! What a session's object holds in memory besides the record: the requests watching for their
//! cancellation (and executions for the client's answers to the runner's questions), what was
//! delivered before anyone watched, and the open GET streams.
//!
//! `notifications/cancelled` may reach another Worker isolate than the call it cancels, and a
//! client's answer another isolate than the execution that asked, so they meet here: the one
//! waiting watches a key, and what comes for it is delivered to the watcher, or kept a while
//! when it came first.

use std::collections::{HashMap, VecDeque};

use futures::channel::{mpsc, oneshot};

/// Deliveries kept for keys not yet watched (a cancellation overtook its request).
const EARLY_DELIVERIES: usize = 32;

/// GET streams kept open per session; a newer one closes the oldest. A client needs one.
const LISTENERS: usize = 4;

/// The session's watchers and streams.
#[derive(Debug, Default)]
pub struct Room {
    /// Watchers, by key.
    watchers: HashMap<String, oneshot::Sender<String>>,
    /// Recent deliveries that found no watcher: key and text.
    early: VecDeque<(String, String)>,
    /// The open GET streams, oldest first.
    listeners: VecDeque<mpsc::UnboundedSender<Vec<u8>>>,
}

impl Room {
    /// Watches `key`: the receiver gets what is delivered for it (at once, when it came
    /// first).
    pub fn watch(&mut self, key: String) -> oneshot::Receiver<String> {
        let (sender, receiver) = oneshot::channel();
        match self.early.iter().position(|(id, _)| *id == key) {
            Some(at) => {
                let (_, reason) = self.early.remove(at).unwrap_or_default();
                // The receiver is alive just below, so this cannot fail.
                let _ = sender.send(reason);
            }
            None => {
                // A finished request dropped its stream, and with it the receiver.
                self.watchers.retain(|_, watcher| !watcher.is_canceled());
                self.watchers.insert(key, sender);
            }
        }
        receiver
    }

    /// Delivers `text` to the watcher of `key`, or keeps it a while for a key not watched
    /// yet; returns whether a watcher got it.
    pub fn deliver(&mut self, key: String, text: String) -> bool {
        match self.watchers.remove(&key) {
            Some(watcher) => watcher.send(text).is_ok(),
            None => {
                if self.early.len() == EARLY_DELIVERIES {
                    self.early.pop_front();
                }
                self.early.push_back((key, text));
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
        assert!(room.deliver("7".into(), "user stopped".into()));
        assert_eq!(
            watching.try_recv().unwrap().as_deref(),
            Some("user stopped")
        );
        assert!(!room.deliver("7".into(), "again".into()), "delivered once");
    }

    #[test]
    fn a_cancellation_that_overtakes_its_request_is_kept_for_it() {
        let mut room = Room::default();
        assert!(!room.deliver("8".into(), "too early".into()));
        let mut watching = room.watch("8".into());
        assert_eq!(watching.try_recv().unwrap().as_deref(), Some("too early"));
    }

    #[test]
    fn only_the_newest_early_cancellations_are_kept() {
        let mut room = Room::default();
        for n in 0..=EARLY_DELIVERIES {
            room.deliver(n.to_string(), "early".into());
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
