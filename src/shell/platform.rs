//! The Worker as an execution's [`Platform`]: tool lists from the upstreams' objects, programs
//! in the Worker Loader's isolates, the bridge, timers, the session's cancellation watch and
//! the ledger.

use std::future::Future;
use std::time::Duration;

use futures::future::pending;
use futures::StreamExt;
use rmcp::model::RequestId;
use worker::{Context, Delay, Env};

use super::bridge::{bridge, BridgeOwner};
use super::catalog::catalog;
use super::js::{now_ms, random_uuid};
use super::ledger_object::record;
use super::loader::{abandon, run_program};
use super::objects::{send, SESSION_OBJECTS};
use crate::audit::ExecutionAudit;
use crate::codemode::catalog::Catalog;
use crate::execution::{Abandonment, IsolateRun, Platform, SandboxError};
use crate::mcp::context::RequestContext;
use crate::sandbox::protocol::Outcome;
use crate::session::request_key;
use crate::session::SessionCommand;

/// One request's executions.
pub(crate) struct WorkerPlatform<'a> {
    pub(crate) env: &'a Env,
    /// The request's context, for work that must outlive the response.
    pub(crate) ctx: &'a Context,
    /// The MCP session of the request, whose object hears of its cancellation.
    pub(crate) session: Option<&'a str>,
    /// The request: its progress notifications and its JSON-RPC id.
    pub(crate) context: &'a RequestContext,
}

impl Platform for WorkerPlatform<'_> {
    async fn catalog(&self, upstreams: &[String]) -> Catalog {
        catalog(self.env, upstreams).await
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        let owner = BridgeOwner {
            execution: run.id.to_owned(),
            context: self.context.clone(),
        };
        let bridge = bridge(self.env.clone(), run.gate.clone(), owner);
        run_program(self.env, &run.code, run.request, &bridge).await
    }

    async fn sleep(&self, ms: u32) {
        Delay::from(Duration::from_millis(ms.into())).await;
    }

    async fn cancellation(&self) -> String {
        cancellation(self.env, self.session, self.context.id()).await
    }

    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        abandon(self.env.clone(), abandonment)
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        self.ctx.wait_until(work);
    }

    fn audit(&self, entry: ExecutionAudit) {
        record(self.env, self.ctx, entry);
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn new_id(&self) -> String {
        random_uuid()
    }
}

/// Resolves with the client's reason if it cancels request `id` of the session; never
/// otherwise (a stateless request is cancelled by closing its stream, which drops it).
/// The cancellation may reach another isolate, so it is met in the session's object.
async fn cancellation(env: &Env, session_id: Option<&str>, id: &RequestId) -> String {
    let Some(session_id) = session_id else {
        return pending().await;
    };
    let command = SessionCommand::Watch {
        request: request_key(id),
    };
    if let Ok(mut response) = send(env, SESSION_OBJECTS, session_id, &command).await {
        if let Ok(mut stream) = response.stream() {
            if let Some(Ok(reason)) = stream.next().await {
                return String::from_utf8_lossy(&reason).into_owned();
            }
        }
    }
    // Nothing to watch with, or the watch ended: this request will not be cancelled.
    pending().await
}
