//! The calls to one upstream that may be in flight at once, for servers that are not safe
//! under parallel calls (server-memory loses writes when two arrive together). Calls past the
//! upstream's `maxConcurrentCalls` wait their turn in arrival order; a call whose caller stops
//! waiting (cancelled, timed out, disconnected) leaves the queue, so it never holds up the ones
//! behind it.
//!
//! Single-threaded by design, like the Durable Object that holds it: shared through `Rc`,
//! state in `RefCell`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A first-in, first-out gate: at most `limit` holders of a [`Permit`] at a time.
#[derive(Debug)]
pub struct CallQueue {
    state: RefCell<State>,
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Tickets waiting, oldest first, with the waker of their last poll.
    waiting: VecDeque<(u64, Option<Waker>)>,
    next_ticket: u64,
}

/// Waiting for a turn: resolves to a [`Permit`]. Dropping it before then leaves the queue.
#[derive(Debug)]
pub struct Turn {
    queue: Rc<CallQueue>,
    /// The ticket while waiting; `None` once the permit has been handed out.
    ticket: Option<u64>,
}

/// A call's place among those in flight; dropping it lets the next waiting call go.
#[derive(Debug)]
pub struct Permit {
    queue: Rc<CallQueue>,
}

impl CallQueue {
    /// A queue letting `limit` calls through at once (at least one).
    pub fn new(limit: usize) -> Rc<Self> {
        Rc::new(Self {
            state: RefCell::new(State {
                limit: limit.max(1),
                in_flight: 0,
                waiting: VecDeque::new(),
                next_ticket: 0,
            }),
        })
    }

    /// Changes the limit (the configuration is read per request); a higher one lets waiting
    /// calls go at once.
    pub fn set_limit(&self, limit: usize) {
        self.state.borrow_mut().limit = limit.max(1);
        self.wake_next();
    }

    /// Joins the end of the queue. The turn is taken in the order of these calls, whatever the
    /// order the turns are polled in.
    pub fn turn(self: &Rc<Self>) -> Turn {
        let mut state = self.state.borrow_mut();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back((ticket, None));
        Turn {
            queue: Rc::clone(self),
            ticket: Some(ticket),
        }
    }

    /// Calls holding a permit.
    pub fn in_flight(&self) -> usize {
        self.state.borrow().in_flight
    }

    /// Calls waiting for one.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    /// Wakes the oldest waiting call when there is room for it.
    fn wake_next(&self) {
        let state = self.state.borrow();
        if state.in_flight < state.limit {
            if let Some((_, Some(waker))) = state.waiting.front() {
                waker.wake_by_ref();
            }
        }
    }
}

impl Future for Turn {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let Some(ticket) = self.ticket else {
            panic!("a Turn was polled after it completed");
        };
        let queue = Rc::clone(&self.queue);
        let mut state = queue.state.borrow_mut();
        let first = state.waiting.front().map(|(t, _)| *t) == Some(ticket);
        if first && state.in_flight < state.limit {
            state.waiting.pop_front();
            state.in_flight += 1;
            drop(state);
            self.ticket = None;
            // There may be room for the next one too.
            queue.wake_next();
            return Poll::Ready(Permit { queue });
        }
        if let Some(entry) = state.waiting.iter_mut().find(|(t, _)| *t == ticket) {
            entry.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.queue
                .state
                .borrow_mut()
                .waiting
                .retain(|(t, _)| *t != ticket);
            // It may have been the one the next call was waiting behind.
            self.queue.wake_next();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.queue.state.borrow_mut().in_flight -= 1;
        self.queue.wake_next();
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures::task::{waker, ArcWake};
    use futures::FutureExt;

    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A turn and the wake-ups it received.
    struct Waiter {
        turn: Turn,
        wakes: Arc<Wakes>,
    }

    impl Waiter {
        fn new(queue: &Rc<CallQueue>) -> Self {
            Self {
                turn: queue.turn(),
                wakes: Arc::default(),
            }
        }

        fn poll(&mut self) -> Option<Permit> {
            let waker = waker(Arc::clone(&self.wakes));
            match self.turn.poll_unpin(&mut Context::from_waker(&waker)) {
                Poll::Ready(permit) => Some(permit),
                Poll::Pending => None,
            }
        }

        fn woken(&self) -> usize {
            self.wakes.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn at_most_the_limit_is_in_flight_and_the_rest_go_in_arrival_order() {
        let queue = CallQueue::new(1);
        let mut waiters: Vec<Waiter> = (0..4).map(|_| Waiter::new(&queue)).collect();
        // Polled newest first: arrival order still decides.
        assert!(waiters[3].poll().is_none());
        assert!(waiters[2].poll().is_none());
        assert!(waiters[1].poll().is_none());
        let mut permit = waiters[0].poll().expect("the first goes at once");
        assert_eq!((queue.in_flight(), queue.waiting()), (1, 3));
        for next in 1..4 {
            assert_eq!(
                waiters[next].woken(),
                0,
                "no wake-up while the call is in flight"
            );
            for (later, waiter) in waiters.iter_mut().enumerate().skip(next + 1) {
                assert!(waiter.poll().is_none(), "{later} may not overtake {next}");
            }
            drop(permit);
            assert_eq!(waiters[next].woken(), 1, "a finished call wakes the next");
            permit = waiters[next].poll().expect("its turn");
            assert_eq!(queue.in_flight(), 1);
        }
        drop(permit);
        assert_eq!((queue.in_flight(), queue.waiting()), (0, 0));
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_the_queue_and_wakes_the_one_behind_it() {
        let queue = CallQueue::new(1);
        let mut first = Waiter::new(&queue);
        let permit = first.poll().unwrap();
        let mut cancelled = Waiter::new(&queue);
        let mut behind = Waiter::new(&queue);
        assert!(cancelled.poll().is_none());
        assert!(behind.poll().is_none());
        drop(cancelled);
        assert_eq!(queue.waiting(), 1, "the cancelled call left the queue");
        drop(permit);
        assert_eq!(behind.woken(), 1);
        assert!(
            behind.poll().is_some(),
            "it no longer waits for the cancelled call"
        );

        let queue = CallQueue::new(1);
        let mut holder = Waiter::new(&queue);
        let permit = holder.poll().unwrap();
        let head = Waiter::new(&queue);
        let mut next = Waiter::new(&queue);
        assert!(next.poll().is_none());
        drop(permit);
        drop(head);
        assert!(
            next.woken() >= 1,
            "the head gave up with room free: the next is woken"
        );
        assert!(next.poll().is_some());
    }

    #[test]
    fn several_at_once_up_to_the_limit_and_a_raised_limit_lets_waiters_go() {
        let queue = CallQueue::new(2);
        let mut waiters: Vec<Waiter> = (0..4).map(|_| Waiter::new(&queue)).collect();
        let permits: Vec<Permit> = waiters[..2].iter_mut().filter_map(Waiter::poll).collect();
        assert_eq!(permits.len(), 2);
        assert!(waiters[2].poll().is_none());
        assert!(waiters[3].poll().is_none());
        queue.set_limit(3);
        assert_eq!(waiters[2].woken(), 1);
        let third = waiters[2].poll().expect("room for a third");
        assert!(waiters[3].poll().is_none());
        assert_eq!(queue.in_flight(), 3);
        drop((permits, third));
        assert!(waiters[3].poll().is_some());
    }
}
