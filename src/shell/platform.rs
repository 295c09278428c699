//! The Worker as an execution's [`Platform`]: tool lists through the upstreams' objects,
//! programs in the Worker Loader's isolates with the bridge, timers, background work, the log,
//! the clock and ids.

use std::future::Future;
use std::rc::Rc;

use worker::{console_log, Env};

use super::bridge::bridge;
use super::catalog::RECENT_LISTS;
use super::js::{now_ms, random_uuid};
use super::lessee::{self, Lessees};
use super::loader::run_program;
use super::objects::ask_json;
use super::services::WorkerServices;
use super::timer::Sleep;
use crate::audit::{AuditOutbox, ExecutionAudit, LedgerCommand};
use crate::codemode::catalog::Catalog;
use crate::config::Accounts;
use crate::execution::objects::{catalog, Object};
use crate::execution::{Abandonment, IsolateRun, Platform, SandboxError};
use crate::sandbox::protocol::Outcome;
use crate::session::WaitingRequests;

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

    fn audit(&self, entry: ExecutionAudit) {
        self.log(&entry.log_line());
        if let Some(entries) = AUDITS.with(|outbox| outbox.hold(entry, now_ms())) {
            self.ctx.wait_until(send_audits(self.env.clone(), entries));
        }
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

    fn waiting_requests(&self) -> &WaitingRequests {
        &self.waiting_requests
    }
}

thread_local! {
    /// This isolate's audit entries not yet sent to the ledger.
    static AUDITS: AuditOutbox = AuditOutbox::default();
}

/// Sends `entries` to the ledger, then what this isolate's executions finished meanwhile,
/// until nothing is left ([`AuditOutbox`]).
async fn send_audits(env: Env, mut entries: Vec<ExecutionAudit>) {
    loop {
        // A lost request only leaves its entries out of /admin/audit and the metrics.
        let command = LedgerCommand::Record { entries };
        let _ = ask_json::<bool>(&env, Object::Ledger, &command).await;
        match AUDITS.with(|outbox| outbox.sent(now_ms())) {
            Some(next) => entries = next,
            None => return,
        }
    }
}
