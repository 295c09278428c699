//! Lending the session: the upstream's object holds the one MCP session with its upstream and
//! lends it, so a tool call can go from the Worker straight to the upstream, without a round
//! trip through the object (which may run in another location) for each call.
//!
//! The object stays the session's owner: it opens it, renews it when a lessee finds it ended,
//! and lends only a streamable HTTP session (the 2024-11-05 transport answers on the object's
//! own stream). A lease carries no secret, since the Worker reads the upstream's configured
//! headers itself, and a block of JSON-RPC ids of its own: a streamable HTTP server routes each
//! answer by its request's id, so two lessees must never send the same id in one session.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use super::streamable::Session;
use super::{Connection, Http, Link};
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
    /// The first JSON-RPC id of the lessee's block; the block holds `2^32` ids.
    pub first_id: u64,
}

/// Where a leasing [`Connection`] gets its session: the upstream's object.
pub trait Lessor {
    /// A lease of the object's session; `gone` names the session the lessee found ended, which
    /// the object replaces if it still holds it.
    fn lease(&self, gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>>;
}

/// How many bits of an id a lease's block spans.
const BLOCK_BITS: u32 = 32;

/// The most leases one connection gives before it opens a new session: every id stays below
/// `2^53`, the largest integer a JavaScript upstream reads exactly, and the object's own ids
/// stay below the first block.
const MAX_LEASES: u64 = 1 << 20;

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
        Ok(session.lease(leases << BLOCK_BITS))
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
        Ok(Link::Streamable(Session::leased(lease)))
    }
}
