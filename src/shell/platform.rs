//! The Worker as an execution's [`Platform`]: tool lists through the upstreams' objects,
//! programs in the Worker Loader's isolates with the bridge, timers, background work, the log,
//! the clock and ids.

use std::future::Future;
use std::rc::Rc;

use worker::console_log;

use super::bridge::bridge;
use super::catalog::RECENT_LISTS;
use super::js::{now_ms, random_uuid};
use super::lessee::{self, Lessees};
use super::loader::run_program;
use super::services::WorkerServices;
use super::timer::Sleep;
use crate::codemode::catalog::Catalog;
use crate::config::Accounts;
use crate::execution::objects::catalog;
use crate::execution::{Abandonment, IsolateRun, Platform, SandboxError};
use crate::sandbox::protocol::Outcome;

impl Platform for WorkerServices {
    async fn catalog(&self, upstreams: &[String], accounts: &Accounts) -> Catalog {
        let recent = RECENT_LISTS.with(Rc::clone);
        let catalog = catalog(self, &recent, now_ms, upstreams, accounts).await;
        lessee::listed(&catalog, accounts);
        catalog
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        let lessees = Lessees::new(self.env.clone(), Rc::clone(&self.ctx), run.id);
        let bridge = bridge(self.env.clone(), run, Rc::clone(&lessees));
        let outcome = run_program(&self.env, &run.code, run.request, &bridge).await;
        lessees.report();
        outcome
    }

    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        lessee::stop(&abandonment.execution, &abandonment.reason);
        abandonment.carry_out(self)
    }

    async fn sleep(&self, ms: u32) {
        Sleep::new(ms).await;
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        self.ctx.wait_until(work);
    }

    fn log(&self, line: &str) {
        console_log!("{line}");
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn new_id(&self) -> String {
        random_uuid()
    }

    fn origin(&self) -> &str {
        &self.origin
    }
}
