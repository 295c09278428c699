//! The Worker as an execution's [`Platform`]: tool lists through the upstreams' objects,
//! programs in the Worker Loader's isolates with the bridge, timers, the session's
//! cancellation watch, the log and the ledger.

use std::future::Future;
use std::time::Duration;

use worker::{console_log, Delay};

use super::bridge::bridge;
use super::catalog::recent_lists;
use super::js::{now_ms, random_uuid};
use super::loader::run_program;
use super::services::WorkerServices;
use crate::audit::{ExecutionAudit, LedgerCommand};
use crate::codemode::catalog::Catalog;
use crate::execution::objects::{cancellation, catalog};
use crate::execution::{Abandonment, IsolateRun, Platform, SandboxError};
use crate::runner::Services;
use crate::sandbox::protocol::Outcome;

impl Platform for WorkerServices {
    async fn catalog(&self, upstreams: &[String]) -> Catalog {
        catalog(self, &recent_lists(), now_ms, upstreams).await
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        let bridge = bridge(self.env.clone(), run);
        run_program(&self.env, &run.code, run.request, &bridge).await
    }

    async fn sleep(&self, ms: u32) {
        Delay::from(Duration::from_millis(ms.into())).await;
    }

    async fn cancellation(&self, run: &IsolateRun<'_>) -> String {
        cancellation(self, run.session, run.context.id()).await
    }

    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        abandonment.carry_out(self)
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        self.ctx.wait_until(work);
    }

    fn audit(&self, entry: ExecutionAudit) {
        // The log line is written first: a lost ledger entry is only missing from
        // /admin/audit and the metrics.
        console_log!("{}", entry.log_line());
        self.tell_ledger(LedgerCommand::Record {
            entry: Box::new(entry),
        });
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn new_id(&self) -> String {
        random_uuid()
    }
}
