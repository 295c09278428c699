//! The Worker as the runner's [`Services`]: the session, upstream and ledger objects, the
//! catalog's reads and executions; and making the [`Runner`] of one request from the
//! configuration and limits in the Worker's variables.

use futures::future::ready;
use futures::StreamExt;
use rmcp::model::CallToolResult;
use serde::de::DeserializeOwned;
use worker::{Context, Env};

use super::catalog::catalog;
use super::js::{now_ms, random_uuid};
use super::ledger_object::{tell_ledger, LEDGER_NAME};
use super::objects::{ask, send, LEDGER, SESSION_OBJECTS, UPSTREAM_OBJECTS};
use super::platform::WorkerPlatform;
use crate::audit::LedgerCommand;
use crate::codemode::catalog::Catalog;
use crate::config::{
    AccessError, AccessPolicy, ConfigError, RunnerConfig, ACCESS_VAR, UPSTREAMS_VAR,
};
use crate::execution::{self, Requester};
use crate::mcp::context::RequestContext;
use crate::protocol::http::EventStream;
use crate::protocol::person::Person;
use crate::runner::{Runner, Services};
use crate::sandbox::limits::{ExecutionLimits, LimitsError};
use crate::session::SessionCommand;
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// The variable holding the execution limits.
const LIMITS_VAR: &str = "LIMITS";

/// Why the runner cannot start; shown to the operator.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Limits(#[from] LimitsError),
    #[error(transparent)]
    Access(#[from] AccessError),
}

/// One request's bindings and context.
pub(crate) struct WorkerServices {
    env: Env,
    /// The request's context, for work that must outlive the response.
    ctx: Context,
}

/// The runner for one request from `person`, asking with the URL's `upstreams` parameter for
/// `requested_upstreams`.
pub(crate) fn start(
    env: Env,
    ctx: Context,
    person: Option<Person>,
    requested_upstreams: Option<String>,
) -> Result<Runner<WorkerServices>, StartError> {
    let (config, access) = operator_policy(&env)?;
    let limits = match env.var(LIMITS_VAR) {
        Ok(text) => ExecutionLimits::from_json(&text.to_string())?,
        Err(_) => ExecutionLimits::default(),
    };
    let services = WorkerServices { env, ctx };
    Ok(Runner::new(
        services,
        config,
        &access,
        limits,
        person,
        requested_upstreams,
    ))
}

/// The upstreams (`UPSTREAMS`) and who may use them (`ACCESS`).
pub(crate) fn operator_policy(env: &Env) -> Result<(RunnerConfig, AccessPolicy), StartError> {
    let config = match env.var(UPSTREAMS_VAR) {
        Ok(text) => RunnerConfig::from_json(&text.to_string())?,
        Err(_) => RunnerConfig {
            upstreams: Vec::new(),
        },
    };
    let access = env.var(ACCESS_VAR).ok().map(|text| text.to_string());
    let access = AccessPolicy::from_json(access.as_deref(), &config.upstream_names())?;
    Ok((config, access))
}

impl Services for WorkerServices {
    async fn ask_session<A: DeserializeOwned>(
        &self,
        session_id: &str,
        command: &SessionCommand,
    ) -> Result<A, String> {
        ask(&self.env, SESSION_OBJECTS, session_id, command)
            .await
            .map_err(|e| e.to_string())
    }

    async fn listen(&self, session_id: &str) -> Result<EventStream, String> {
        let command = SessionCommand::Listen;
        let mut response = send(&self.env, SESSION_OBJECTS, session_id, &command)
            .await
            .map_err(|e| e.to_string())?;
        let frames = response.stream().map_err(|e| e.to_string())?;
        // A broken stream ends; the client reconnects with a new GET.
        Ok(frames
            .take_while(|frame| ready(frame.is_ok()))
            .filter_map(|frame| ready(frame.ok()))
            .boxed_local())
    }

    async fn ask_upstream(
        &self,
        name: &str,
        command: &UpstreamCommand,
    ) -> Result<UpstreamAnswer, String> {
        ask(&self.env, UPSTREAM_OBJECTS, name, command)
            .await
            .map_err(|e| e.to_string())
    }

    async fn ask_ledger<A: DeserializeOwned>(&self, command: &LedgerCommand) -> Result<A, String> {
        ask(&self.env, LEDGER, LEDGER_NAME, command)
            .await
            .map_err(|e| e.to_string())
    }

    fn tell_ledger(&self, command: LedgerCommand) {
        tell_ledger(&self.env, &self.ctx, command);
    }

    async fn catalog(&self, upstreams: &[String]) -> Catalog {
        catalog(&self.env, upstreams).await
    }

    async fn execute(
        &self,
        requester: Requester,
        code: &str,
        limits: &ExecutionLimits,
        context: &RequestContext,
    ) -> Option<CallToolResult> {
        let session = requester.session.clone();
        let platform = WorkerPlatform {
            env: &self.env,
            ctx: &self.ctx,
            session: session.as_deref(),
            context,
        };
        execution::execute(&platform, requester, code, limits, context).await
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn new_id(&self) -> String {
        random_uuid()
    }
}
