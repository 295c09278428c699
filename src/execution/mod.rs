//! One `execute`, from the agent's code to its result and its audit entry.
//!
//! Everything an execution decides happens here, in plain Rust: which upstreams' tools it gets,
//! whether its code may run, the gate its tool calls pass, how long it may take, what an
//! abandonment stops, and how each ending is reported and audited. What only a Worker can do
//! (read tool lists from Durable Objects, load an isolate, watch for the client's cancellation,
//! write the ledger) is asked of a [`Platform`], which the shell implements and the tests fake.
//!
//! Every execution, however it ends, leaves exactly one audit entry, written by
//! [`Platform::audit`] once the ending is known; the calls in it are what the gate saw, never
//! what the program says it did.

mod asking;
mod isolate;
mod lifecycle;
pub mod objects;
pub mod page_approval;
pub mod resume;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::future::Future;

use rmcp::model::{CallToolResponse, ClientCapabilities};
use serde_json::json;

pub use asking::Asking;
pub use isolate::{IsolateRun, SandboxError};
pub use lifecycle::Abandonment;
use objects::{Object, Objects};

use crate::audit::{Ending, ExecutionAudit, LedgerCommand};
use crate::codemode::catalog::Catalog;
use crate::codemode::source::prepare;
use crate::codemode::tools;
use crate::cold::cold;
use crate::config::{Accounts, Grant};
use crate::mcp::context::RequestContext;
use crate::protocol::log_level::LogLevel;
use crate::protocol::person::Person;
use crate::sandbox::gate::CallGate;
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::sandbox::protocol::Outcome;
use crate::session::WaitingRequests;

/// What an execution needs of the Worker it runs in. How it watches for the client's
/// cancellation, abandons a run and keeps its audit entry is written here, over the runner's
/// [`Objects`].
pub trait Platform: Objects + Sized {
    /// The tools of each of `upstreams`, asked of the objects `accounts` names, or why one is
    /// unavailable.
    fn catalog(&self, upstreams: &[String], accounts: &Accounts) -> impl Future<Output = Catalog>;
    /// Loads `run` into a fresh isolate and runs it to its outcome; only a failure of the
    /// sandbox itself is an error ([`SandboxError::Start`] or [`SandboxError::Crashed`]).
    fn run(&self, run: &IsolateRun<'_>) -> impl Future<Output = Result<Outcome, SandboxError>>;
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Lets `work` finish after the response, when the request that started it is gone.
    fn in_background(&self, work: impl Future<Output = ()> + 'static);
    /// Writes `line` to the Worker's log.
    fn log(&self, line: &str);
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// A new, unguessable execution id.
    fn new_id(&self) -> String;
    /// The runner's origin as people reach it, for the links it gives them.
    fn origin(&self) -> &str;
    /// The requests this isolate runs that their clients may cancel.
    fn waiting_requests(&self) -> &WaitingRequests;

    /// Resolves with the client's reason when it cancels the request `run` answers; never
    /// otherwise.
    fn cancellation(&self, run: &IsolateRun<'_>) -> impl Future<Output = String> {
        objects::cancellation(self, run.session, run.context.id())
    }

    /// Tells the upstreams of `abandonment` to stop its calls, and its session what stopped.
    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        abandonment.carry_out(self)
    }

    /// Writes a finished execution's audit entry: to the log at once, then to the ledger, so
    /// a lost ledger message only leaves it out of `/admin/audit` and the metrics. (The Worker
    /// sends the entries its isolate's executions finish together: [`AuditOutbox`].)
    ///
    /// [`AuditOutbox`]: crate::audit::AuditOutbox
    fn audit(&self, entry: ExecutionAudit) {
        self.log(&entry.log_line());
        self.tell_ledger(LedgerCommand::Record {
            entries: vec![entry],
        });
    }

    /// Tells the ledger after the response, so the client never waits for it.
    fn tell_ledger(&self, command: LedgerCommand) {
        let told = self.ask::<bool, _>(Object::Ledger, &command);
        self.in_background(async move {
            // A lost message is only missing from /admin/audit and the metrics.
            let _ = told.await;
        });
    }
}

/// Who asks for an execution, as the runner established it.
pub struct Requester {
    /// The MCP session, if the request came in one.
    pub session: Option<String>,
    /// Who signed in; none when the runner asks for no sign-in.
    pub person: Option<Person>,
    /// The upstreams the execution may use.
    pub upstreams: Vec<String>,
    /// The tools the operator's policy lets the person use there.
    pub grant: Grant,
    /// Which objects hold the person's upstream sessions.
    pub accounts: Accounts,
    /// What the client said at `initialize` it can answer (approvals are asked with
    /// elicitation; upstreams' questions need what they ask for); nothing for a stateless
    /// request.
    pub client: ClientCapabilities,
    /// The tools the person approved for the rest of the session (`upstream/tool`).
    pub approved_tools: BTreeSet<String>,
    /// A stateless run this request resumes, with the person's answer.
    pub resume: Option<resume::Resuming>,
}

/// Runs `code` for `requester` under `limits`; `None` when the client cancelled it (a
/// cancelled request gets no answer). Progress and logs go to `context`.
pub async fn execute<P: Platform>(
    platform: &P,
    requester: Requester,
    code: &str,
    limits: &ExecutionLimits,
    context: &RequestContext,
) -> Option<CallToolResponse> {
    let started = platform.now_ms();
    let audit = ExecutionAudit::begin(
        started,
        platform.new_id(),
        requester.session.clone(),
        requester.person.clone(),
        code,
        requester.upstreams.clone(),
    );
    let (result, audit) = run(platform, audit, &requester, code, limits, context).await;
    platform.audit(audit.took(platform.now_ms().saturating_sub(started)));
    result
}

/// Prepares and runs the code `audit` describes; returns the `execute` result (none when
/// cancelled; `input_required` when a stateless run stopped for its person) and the completed
/// audit entry.
async fn run<P: Platform>(
    platform: &P,
    audit: ExecutionAudit,
    requester: &Requester,
    code: &str,
    limits: &ExecutionLimits,
    context: &RequestContext,
) -> (Option<CallToolResponse>, ExecutionAudit) {
    let complete = |result| Some(CallToolResponse::Complete(result));
    let accounts = &requester.accounts;
    let catalog = platform
        .catalog(&audit.upstreams, accounts)
        .await
        .granted(&requester.grant);
    report_unavailable(&catalog, context);
    let manifest = catalog.manifest();
    let request = RunRequest::new(&manifest, catalog.unavailable(), limits);
    let program = match prepare(code, &request.namespaces, limits) {
        Ok(program) => program,
        Err(error) => {
            let result = tools::source_error_result(&error);
            return (complete(result), audit.refused(&error));
        }
    };
    let needs_approval = (manifest.0.values())
        .flat_map(|functions| functions.values())
        .any(|tool| tool.needs_approval);
    let (gate, asks) = CallGate::new(manifest, *limits, audit.person.clone(), accounts.clone());
    gate.explain_with(Box::new(move |namespace, function| {
        catalog.arguments(namespace, function)
    }));
    let stops = (requester, &audit);
    let stops_for_person = match resume::prepare(platform, stops, &gate, needs_approval).await {
        Ok(stops) => stops,
        Err(result) => return (complete(result), audit.stopped(Ending::Refused)),
    };
    let asking = Asking {
        session: requester.session.as_deref(),
        person: requester.person.as_ref(),
        context,
        client: &requester.client,
        approved_tools: requester.approved_tools.clone(),
        timeout_ms: limits.approval_timeout_ms,
    };
    let mut unanswered = Unanswered {
        platform,
        gate: &gate,
        audit: Some(audit.clone()),
    };
    let isolate = IsolateRun {
        id: &audit.execution,
        session: audit.session.as_deref(),
        context,
        code: WorkerCode::new(program.module.clone(), limits),
        request: &request,
        gate: &gate,
        timeout_ms: limits.timeout_ms,
    };
    let loading = platform.now_ms();
    let answering = asking.answer(platform, asks);
    let outcome = lifecycle::run_to_end(platform, &isolate, answering, stops_for_person).await;
    unanswered.audit = None;
    let finished = platform.now_ms();
    let ms = finished.saturating_sub(loading);
    let record = gate.record();
    let audit = audit.called(&record);
    match outcome {
        Ok(outcome) => {
            context.log(
                LogLevel::Info,
                json!({"event": "execution_finished", "ms": ms, "calls": record.calls_total,
                       "threw": outcome.error.is_some()}),
            );
            // The isolate's clock says when the program started; it is only believed within
            // the time the runner saw pass.
            let spawn_ms = outcome
                .started_at_ms
                .unwrap_or(loading)
                .clamp(loading, finished)
                - loading;
            let audit = audit.ran(&outcome, limits, spawn_ms);
            let result = tools::execution_result(outcome, record.calls, &program, limits);
            let audit = match tools::result_was_cut(&result) {
                true => audit.result_cut(),
                false => audit,
            };
            (complete(result), audit)
        }
        Err(SandboxError::Cancelled(_)) => (None, audit.stopped(Ending::Cancelled)),
        Err(SandboxError::AwaitingPerson) => {
            let answer = cold(resume::stopped(platform, &gate, &audit)).await;
            (Some(answer), audit.stopped(Ending::AwaitingPerson))
        }
        Err(error) => {
            context.log(
                LogLevel::Error,
                json!({"event": "execution_failed", "ms": ms, "error": error.to_string()}),
            );
            if error.is_timeout() {
                let result = tools::timed_out_result(error.to_string(), record.calls);
                return (complete(result), audit.stopped(Ending::TimedOut));
            }
            let result = tools::sandbox_failure_result(error.to_string());
            (complete(result), audit.stopped(Ending::SandboxFailed))
        }
    }
}

/// Tells the client (at `warning`) of each upstream left out of `catalog`: whatever it asked
/// for (a search, an execution) is answered without that upstream's tools.
pub fn report_unavailable(catalog: &Catalog, context: &RequestContext) {
    for namespace in catalog.namespaces() {
        if let Some(reason) = &namespace.unavailable {
            context.log(
                LogLevel::Warning,
                json!({"event": "upstream_unavailable", "upstream": namespace.name,
                       "reason": reason.to_string()}),
            );
        }
    }
}

/// The audit entry of an execution under way. Dropped before the execution ends (its client
/// went away), it is written as cancelled, with the calls the gate saw, so that leaving does
/// not dodge the audit log.
struct Unanswered<'p, 'g, P: Platform> {
    platform: &'p P,
    gate: &'g CallGate,
    audit: Option<ExecutionAudit>,
}

impl<P: Platform> Drop for Unanswered<'_, '_, P> {
    fn drop(&mut self) {
        if let Some(audit) = self.audit.take() {
            let ms = self.platform.now_ms().saturating_sub(audit.at_ms);
            let audit = audit.called(&self.gate.record()).stopped(Ending::Cancelled);
            self.platform.audit(audit.took(ms));
        }
    }
}
