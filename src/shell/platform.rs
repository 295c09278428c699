//! The Worker as an execution's [`Platform`]: tool lists through the upstreams' objects,
//! programs in the Worker Loader's isolates with the bridge, timers, background work, the log,
//! the clock and ids.

use std::future::Future;
use std::rc::Rc;

use worker::console_log;

use super::bridge::bridge;
use super::catalog::RECENT_LISTS;
use super::js::{now_ms, random_uuid};
use super::loader::run_program;
use super::services::WorkerServices;
use super::timer::Sleep;
use crate::codemode::catalog::Catalog;
use crate::config::Accounts;
use crate::execution::objects::catalog;
use crate::execution::{IsolateRun, Platform, SandboxError};
use crate::sandbox::protocol::Outcome;

impl Platform for WorkerServices {
    async fn catalog(&self, upstreams: &[String], accounts: &Accounts) -> Catalog {
        let recent = RECENT_LISTS.with(Rc::clone);
        catalog(self, &recent, now_ms, upstreams, accounts).await
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        let bridge = bridge(self.env.clone(), run);
        run_program(&self.env, &run.code, run.request, &bridge).await
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
