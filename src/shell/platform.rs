//! The Worker as an execution's [`Platform`]: tool lists from the upstreams' objects, programs
//! in the Worker Loader's isolates, the bridge, timers, the session's cancellation watch and
//! the ledger.

use std::future::Future;
use std::time::Duration;

use worker::Delay;

use super::bridge::{bridge, BridgeOwner};
use super::js::{now_ms, random_uuid};
use super::loader::{abandon, run_program};
use super::runner::Runner;
use crate::audit::ExecutionAudit;
use crate::codemode::catalog::Catalog;
use crate::execution::{Abandonment, IsolateRun, Platform, SandboxError};
use crate::mcp::context::RequestContext;
use crate::sandbox::protocol::Outcome;

/// One request's executions, run by its [`Runner`].
pub(crate) struct WorkerPlatform<'a> {
    pub(crate) runner: &'a Runner,
    /// The MCP session of the request, whose object hears of its cancellation.
    pub(crate) session: Option<&'a str>,
    /// The request: its progress notifications and its JSON-RPC id.
    pub(crate) context: &'a RequestContext,
}

impl Platform for WorkerPlatform<'_> {
    async fn catalog(&self, upstreams: &[String]) -> Catalog {
        self.runner.catalog(upstreams).await
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        let owner = BridgeOwner {
            execution: run.id.to_owned(),
            context: self.context.clone(),
        };
        let bridge = bridge(self.runner.env.clone(), run.gate.clone(), owner);
        run_program(&self.runner.env, &run.code, run.request, &bridge).await
    }

    async fn sleep(&self, ms: u32) {
        Delay::from(Duration::from_millis(ms.into())).await;
    }

    async fn cancellation(&self) -> String {
        self.runner
            .cancellation(self.session, self.context.id())
            .await
    }

    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        abandon(self.runner.env.clone(), abandonment)
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        self.runner.ctx.wait_until(work);
    }

    fn audit(&self, entry: ExecutionAudit) {
        self.runner.audit_entry(entry);
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn new_id(&self) -> String {
        random_uuid()
    }
}
