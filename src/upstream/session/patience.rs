//! A request's timeout leaves out the time its upstream waits for the person: a person reading
//! the upstream's question is not the upstream being slow.

use std::cell::Cell;
use std::future::Future;

use futures::future::{select, Either, LocalBoxFuture};
use futures::FutureExt;
use rmcp::model::ErrorData;
use serde_json::Value;

use super::{Asker, Http};

/// How often a request whose upstream is waiting for the person looks at the time again.
const LOOK_AGAIN_MS: u32 = 1_000;

/// An asker that times how long the person takes.
pub(super) struct Timed<'a, H> {
    asker: &'a dyn Asker,
    http: &'a H,
    /// Questions being asked now.
    asking: Cell<u32>,
    /// The time answered questions took, all together.
    waited_ms: Cell<u64>,
}

impl<'a, H: Http> Timed<'a, H> {
    /// `asker`, timed by `http`'s clock.
    pub(super) fn new(asker: &'a dyn Asker, http: &'a H) -> Self {
        Self {
            asker,
            http,
            asking: Cell::new(0),
            waited_ms: Cell::new(0),
        }
    }
}

impl<H: Http> Asker for Timed<'_, H> {
    fn ask(&self, method: &str, params: Value) -> LocalBoxFuture<'_, Result<Value, ErrorData>> {
        let started = self.http.now_ms();
        self.asking.set(self.asking.get() + 1);
        let asked = self.asker.ask(method, params);
        async move {
            let answer = asked.await;
            self.asking.set(self.asking.get() - 1);
            let took = self.http.now_ms().saturating_sub(started);
            self.waited_ms.set(self.waited_ms.get() + took);
            answer
        }
        .boxed_local()
    }
}

/// `work`'s output, or `None` once `ms` have passed, not counting the time `timed` spent
/// waiting for the person.
pub(super) async fn within<H: Http, T>(
    http: &H,
    ms: u32,
    work: impl Future<Output = T>,
    timed: Option<&Timed<'_, H>>,
) -> Option<T> {
    let mut work = Box::pin(work);
    let mut sleep_ms = ms;
    let mut given_back = 0;
    loop {
        match select(work, Box::pin(http.sleep(sleep_ms))).await {
            Either::Left((output, _)) => return Some(output),
            Either::Right((_, unfinished)) => work = unfinished,
        }
        let (waited, asking) =
            timed.map_or((0, false), |t| (t.waited_ms.get(), t.asking.get() > 0));
        if !asking && waited == given_back {
            return None;
        }
        let owed = u32::try_from(waited - given_back).unwrap_or(u32::MAX);
        sleep_ms = if asking {
            owed.max(LOOK_AGAIN_MS)
        } else {
            owed
        };
        given_back = waited;
    }
}
