//! An upstream's authorization servers for tests: fixed answers by URL (404 elsewhere), every
//! request kept, a clock the test moves, and a vault in memory.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{ready, Future};
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::account::Vault;
use crate::upstream::client::UpstreamError;
use crate::upstream::session::{Abort, Http, UpstreamRequest, UpstreamResponse};

/// One request as the servers received it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) url: String,
    pub(crate) body: Option<String>,
}

/// The servers.
#[derive(Default)]
pub(crate) struct Servers {
    /// Answers by URL: status and body, taken in turn (the last one stays).
    pub(crate) answers: RefCell<HashMap<String, Vec<(u16, String)>>>,
    pub(crate) sent: RefCell<Vec<Sent>>,
    pub(crate) now: Cell<u64>,
}

impl Servers {
    /// Answers `url` with `status` and `body` (after the answers already set for it).
    pub(crate) fn answer(&self, url: &str, status: u16, body: &str) {
        let mut answers = self.answers.borrow_mut();
        answers
            .entry(url.to_owned())
            .or_default()
            .push((status, body.to_owned()));
    }

    /// The requests sent to `url`.
    pub(crate) fn sent_to(&self, url: &str) -> Vec<Sent> {
        let sent = self.sent.borrow();
        sent.iter().filter(|s| s.url == url).cloned().collect()
    }
}

/// A scripted answer: a status and a body, read in one piece.
pub(crate) struct Answer(u16, Option<Vec<u8>>);

impl Answer {
    /// `status` with `body`.
    pub(crate) fn new(status: u16, body: &str) -> Self {
        Self(status, Some(body.as_bytes().to_vec()))
    }
}

impl UpstreamResponse for Answer {
    fn status(&self) -> u16 {
        self.0
    }

    fn header(&self, _name: &str) -> Option<String> {
        None
    }

    fn next_piece(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, UpstreamError>> {
        ready(Ok(self.1.take()))
    }
}

/// An abort handle that aborts nothing: the scripted answers are already there.
pub(crate) struct NoAbort;

impl Abort for NoAbort {
    fn abort(&self) {}
}

impl Http for Rc<Servers> {
    type Response = Answer;
    type Abort = NoAbort;

    fn abort(&self) -> NoAbort {
        NoAbort
    }

    fn send(
        &self,
        request: UpstreamRequest<'_>,
        _abort: Option<&NoAbort>,
    ) -> impl Future<Output = Result<Answer, UpstreamError>> {
        self.sent.borrow_mut().push(Sent {
            url: request.url.to_owned(),
            body: request.body,
        });
        let mut answers = self.answers.borrow_mut();
        let (status, body) = match answers.get_mut(request.url) {
            Some(queue) if queue.len() > 1 => queue.remove(0),
            Some(queue) => queue[0].clone(),
            None => (404, String::new()),
        };
        // Answered after a turn of the executor, as a network would: requests sent together
        // are in flight together.
        let mut waited = false;
        futures::future::poll_fn(move |context| {
            if waited {
                return std::task::Poll::Ready(Ok(Answer::new(status, &body)));
            }
            waited = true;
            context.waker().wake_by_ref();
            std::task::Poll::Pending
        })
    }

    /// Timers never fire: every server answers.
    fn sleep(&self, _ms: u32) -> impl Future<Output = ()> {
        futures::future::pending()
    }

    fn spawn(&self, _work: impl Future<Output = ()> + 'static) {}

    fn now_ms(&self) -> u64 {
        self.now.get()
    }
}

/// A vault that keeps the record's JSON in memory, in the clear (the shell's seals it).
#[derive(Clone, Default)]
pub(crate) struct MemoryVault(pub(crate) Rc<RefCell<Option<String>>>);

impl Vault for MemoryVault {
    fn load(&self) -> LocalBoxFuture<'_, Result<Option<String>, String>> {
        ready(Ok(self.0.borrow().clone())).boxed_local()
    }

    fn save(&self, json: String) -> LocalBoxFuture<'_, Result<(), String>> {
        *self.0.borrow_mut() = Some(json);
        ready(Ok(())).boxed_local()
    }
}

/// Values `secret-1`, `secret-2`, … in turn.
pub(crate) fn counter() -> Box<dyn Fn() -> String> {
    let next = Cell::new(0);
    Box::new(move || {
        next.set(next.get() + 1);
        format!("secret-{}", next.get())
    })
}
