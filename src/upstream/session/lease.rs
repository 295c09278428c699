//! Lending the session: the upstream's object holds the one MCP session with its upstream and
//! lends it, so a tool call can go from the Worker straight to the upstream, without a round
//! trip through the object (which may run in another location) for each call.
//!
//! The object stays the session's owner: it opens it, renews it when a lessee finds it ended,
//! and lends only a streamable HTTP session (the 2024-11-05 transport answers on the object's
//! own stream). A lease carries no secret, since the Worker reads the upstream's configured
//! headers itself, and a block of JSON-RPC ids of its own: a streamable HTTP server routes each
//! answer by its request's id, so two lessees must never send the same id in one session.

use std::collections::HashMap;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use super::streamable::Session;
use super::{base_headers, Connection, Http, Link, UpstreamRequest};
use crate::upstream::client::UpstreamError;
use crate::upstream::target::Target;

#[cfg(test)]
mod tests;

/// What a lessee needs to send requests in the object's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// `Mcp-Session-Id`, when the upstream issued one.
    pub session: Option<String>,
    /// The negotiated protocol version.
    pub version: String,
    /// Whether the upstream speaks only the stateless protocol.
    pub stateless: bool,
    /// The first JSON-RPC id of the lessee's block.
    pub first_id: u64,
    /// How many ids the block holds: once they are used, the lessee asks for another.
    pub ids: u64,
    /// How long the lessee may send requests in the session from when it gets the lease; then
    /// it asks again. An upstream removed meanwhile is called no longer than that, even when
    /// its server keeps the session past the object's `DELETE` or has no session to end.
    pub valid_ms: u64,
}

/// Where a leasing [`Connection`] gets its session: the upstream's object.
pub trait Lessor {
    /// A lease of the object's session; `gone` names the session the lessee found ended, which
    /// the object replaces if it still holds it.
    fn lease(&self, gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>>;
    /// The upstream said, on a lessee's stream, that its tool list changed: the object, which
    /// holds the list, is to read it again.
    fn tools_changed(&self);
}

/// How many bits of an id a lease's block spans.
const BLOCK_BITS: u32 = 32;

/// How many bits of an id one execution's part of a lease spans ([`LeaseBook::take`]); an
/// execution that uses them all borrows another part.
const PART_BITS: u32 = 20;

/// The most leases one connection gives before it opens a new session: every id stays below
/// `2^53`, the largest integer a JavaScript upstream reads exactly, and the object's own ids
/// stay below the first block.
const MAX_LEASES: u64 = 1 << 20;

/// How long a lease is good for ([`Lease::valid_ms`]): a lessee busy with an upstream asks its
/// object again once a second, a request the calls of that second share.
pub const LEASE_VALID_MS: u64 = 1_000;

/// The leases a Worker's isolate holds, by object, each shared out among the executions it
/// serves: every execution takes a part of its own (a sub-block of the lease's ids), so two
/// executions never send the same id. Only data is kept, nothing bound to one request.
#[derive(Debug, Default)]
pub struct LeaseBook {
    /// Each object's lease, the next part of it to give, and when the lease ends
    /// (milliseconds since the Unix epoch).
    held: HashMap<String, (Lease, u64, u64)>,
    /// Objects that lend no session, until when (milliseconds since the Unix epoch).
    refused: HashMap<String, u64>,
}

/// How long an isolate takes an object's refusal to lend as its answer.
pub const REFUSAL_KEPT_MS: u64 = 60_000;

impl LeaseBook {
    /// A part of `object`'s lease for one execution, if one is held, not used up and not
    /// ended by `now_ms`; it is good for what is left of the lease's time.
    pub fn take(&mut self, object: &str, now_ms: u64) -> Option<Lease> {
        let (lease, next, ends) = self.held.get_mut(object)?;
        if now_ms >= *ends {
            self.held.remove(object);
            return None;
        }
        let part = *next;
        *next += 1;
        let taken = Lease {
            first_id: lease.first_id + (part << PART_BITS),
            ids: 1 << PART_BITS,
            valid_ms: *ends - now_ms,
            ..lease.clone()
        };
        if *next >= 1 << (BLOCK_BITS - PART_BITS) {
            self.held.remove(object);
        }
        Some(taken)
    }

    /// Holds `lease` of `object`'s session, got at `now_ms`, to share out while it is good.
    pub fn hold(&mut self, object: &str, lease: Lease, now_ms: u64) {
        self.refused.remove(object);
        let ends = now_ms.saturating_add(lease.valid_ms);
        self.held.insert(object.to_owned(), (lease, 0, ends));
    }

    /// Forgets `object`'s lease if it is of the session `session`, which ended.
    pub fn ended(&mut self, object: &str, session: &str) {
        if self
            .held
            .get(object)
            .and_then(|(l, _, _)| l.session.as_deref())
            == Some(session)
        {
            self.held.remove(object);
        }
    }

    /// Notes that `object` lends no session, as of `now_ms`.
    pub fn refuse(&mut self, object: &str, now_ms: u64) {
        self.held.remove(object);
        self.refused
            .insert(object.to_owned(), now_ms + REFUSAL_KEPT_MS);
    }

    /// Whether `object` refused to lend lately.
    pub fn refuses(&self, object: &str, now_ms: u64) -> bool {
        self.refused
            .get(object)
            .is_some_and(|until| now_ms < *until)
    }
}

impl<H: Http + 'static> Connection<H> {
    /// A lease of the session with `target` (opening one if needed) for a lessee that found the
    /// session `gone` ended, if it did: then a new session replaces it, unless it already has.
    pub async fn lease(
        self: &Rc<Self>,
        target: &Rc<Target>,
        gone: Option<&str>,
    ) -> Result<Lease, UpstreamError> {
        if let Some(gone) = gone {
            self.forget_session(gone);
        }
        if self.leases.get() >= MAX_LEASES {
            self.drop_session();
            self.leases.set(0);
        }
        let link = self.link(target).await?;
        let Link::Streamable(session) = link.as_ref() else {
            return Err(UpstreamError::NoLease {
                why: "its session answers on the object's own stream".into(),
            });
        };
        let leases = self.leases.get() + 1;
        self.leases.set(leases);
        Ok(session.lease(leases << BLOCK_BITS, 1 << BLOCK_BITS))
    }

    /// Drops the session with `target`, ending it at the upstream (`DELETE`) if it was lent,
    /// in the background: a lessee's next call in it then meets its end, and borrows again from
    /// an object that reads its upstream afresh (one that was removed lends nothing).
    pub fn end_lent_session(self: &Rc<Self>, target: &Rc<Target>) {
        let current = self.link.borrow().as_ref().and_then(|l| l.peek().cloned());
        self.drop_session();
        if self.leases.replace(0) == 0 {
            return;
        }
        let Some(Ok(link)) = current else { return };
        let Link::Streamable(session) = link.as_ref() else {
            return;
        };
        if session.id().is_none() {
            return;
        }
        let mut headers = base_headers(target, "application/json, text/event-stream");
        let session_headers = session.headers().into_iter();
        headers.extend(session_headers.map(|(name, value)| (name.to_owned(), value)));
        let (this, target) = (Rc::clone(self), Rc::clone(target));
        self.http.spawn(async move {
            let url = target.config.url.as_str();
            // Best effort: an upstream that keeps the session only keeps it idle.
            let _ = this
                .http
                .send(UpstreamRequest::delete(url, headers), None)
                .await;
        });
    }

    /// Drops the open session if its id is `id`.
    fn forget_session(&self, id: &str) {
        let current = self.link.borrow().as_ref().and_then(|l| l.peek().cloned());
        if let Some(Ok(link)) = current {
            if matches!(link.as_ref(), Link::Streamable(s) if s.id() == Some(id)) {
                self.forget(&link);
            }
        }
    }

    /// A session lent by `lessor`, for [`Connection::open`] of a leasing connection: the session
    /// found ended last, if any, is named so the object replaces it.
    pub(super) async fn borrow_session(&self, lessor: &dyn Lessor) -> Result<Link, UpstreamError> {
        let gone = self.gone.borrow_mut().take();
        let lease = lessor.lease(gone).await?;
        self.next_id.set(lease.first_id);
        self.ids_end.set(lease.first_id.saturating_add(lease.ids));
        let ends = self.http.now_ms().saturating_add(lease.valid_ms);
        self.lease_ends.set(ends);
        Ok(Link::Streamable(Session::leased(lease)))
    }

    /// Lets the lent session go once its ids are used up or its time is over, so the next
    /// request borrows it again: with a block of new ids, from an object that still lends it.
    pub(super) fn return_spent_lease(&self) {
        let used_up = self.next_id.get() + 1 >= self.ids_end.get();
        if self.lessor.is_some() && (used_up || self.http.now_ms() >= self.lease_ends.get()) {
            self.drop_session();
        }
    }
}
