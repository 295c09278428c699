//! The MCP backend of the Worker: sessions in [`SessionObject`](super::session_object)s, tool
//! lists from [`UpstreamObject`](super::upstream_object)s, programs in dynamic isolates.

use std::cell::RefCell;

use futures::future::{join_all, ready};
use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ProtocolVersion, RequestId, Resource, ResourceContents,
    Tool,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{Context, Env};

use super::catalog::catalog;
use super::js::{now_ms, random_uuid};
use super::ledger_object::{tell_ledger, LEDGER_NAME};
use super::objects::{ask, send, LEDGER, SESSION_OBJECTS, UPSTREAM_OBJECTS};
use super::platform::WorkerPlatform;
use super::session_object::request_key;
use crate::admin::AdminBackend;
use crate::audit::{ExecutionAudit, LedgerCommand};
use crate::codemode::tools::{self, ExecuteInput, SearchInput, EXECUTE_TOOL, SEARCH_TOOL};
use crate::config::{ConfigError, RunnerConfig, UPSTREAMS_VAR};
use crate::execution::{self, Requester};
use crate::mcp::context::RequestContext;
use crate::mcp::{BackendError, Caller, ServerBackend};
use crate::metrics::{definition_chars, metrics_contents, metrics_resource, Metrics, METRICS_URI};
use crate::protocol::http::EventStream;
use crate::protocol::log_level::LogLevel;
use crate::protocol::token::TokenFingerprint;
use crate::sandbox::limits::{ExecutionLimits, LimitsError};
use crate::session::{SessionCommand, SessionRecord};
use crate::upstream::client::UpstreamError;
use crate::upstream::health::{Health, UpstreamStatus};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// The variable holding the execution limits.
const LIMITS_VAR: &str = "LIMITS";

/// Serves one HTTP request's worth of MCP.
pub(crate) struct Runner {
    env: Env,
    /// The request's context, for work that must outlive the response.
    ctx: Context,
    config: RunnerConfig,
    limits: ExecutionLimits,
    /// The token the request presented, when tokens are required.
    holder: Option<TokenFingerprint>,
    /// The `upstreams` URL parameter: what a new session or a stateless request is limited to.
    requested_upstreams: Option<String>,
    /// The session looked up for this request, so each request reads it once.
    session: RefCell<Option<(String, SessionRecord)>>,
}

/// Why the runner cannot start; shown to the operator.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Limits(#[from] LimitsError),
}

impl Runner {
    /// The runner for one request presenting `holder`'s token and asking, with the URL's
    /// `upstreams` parameter, for `requested_upstreams`.
    pub(crate) fn new(
        env: Env,
        ctx: Context,
        holder: Option<TokenFingerprint>,
        requested_upstreams: Option<String>,
    ) -> Result<Self, StartError> {
        let config = match env.var(UPSTREAMS_VAR) {
            Ok(text) => RunnerConfig::from_json(&text.to_string())?,
            Err(_) => RunnerConfig {
                upstreams: Vec::new(),
            },
        };
        let limits = match env.var(LIMITS_VAR) {
            Ok(text) => ExecutionLimits::from_json(&text.to_string())?,
            Err(_) => ExecutionLimits::default(),
        };
        Ok(Self {
            env,
            ctx,
            config,
            limits,
            holder,
            requested_upstreams,
            session: RefCell::new(None),
        })
    }

    async fn record(&self, session_id: &str) -> Result<Option<SessionRecord>, BackendError> {
        if let Some((id, record)) = self.session.borrow().as_ref() {
            if id == session_id {
                return Ok(Some(record.clone()));
            }
        }
        let record: Option<SessionRecord> = self
            .ask_session::<Option<SessionRecord>>(session_id, &SessionCommand::Get)
            .await?
            // Another token's session looks exactly like one that does not exist.
            .filter(|record| record.is_held_by(self.holder.as_ref()));
        if let Some(record) = &record {
            *self.session.borrow_mut() = Some((session_id.to_owned(), record.clone()));
        }
        Ok(record)
    }

    async fn live_record(&self, session_id: &str) -> Result<SessionRecord, BackendError> {
        self.record(session_id)
            .await?
            .ok_or_else(|| BackendError::Internal("the session ended during the request".into()))
    }

    async fn ask_session<A: DeserializeOwned>(
        &self,
        session_id: &str,
        command: &SessionCommand,
    ) -> Result<A, BackendError> {
        ask(&self.env, SESSION_OBJECTS, session_id, command)
            .await
            .map_err(|e| BackendError::Internal(format!("session storage failed: {e}")))
    }

    /// The upstreams `caller` may use: its session's, or all of them. A session's log level
    /// goes to `context` (a stateless request brings its own).
    async fn upstreams_of(
        &self,
        caller: Caller<'_>,
        context: Option<&RequestContext>,
    ) -> Result<Vec<String>, BackendError> {
        match caller {
            Caller::Session(session_id) => {
                let record = self.live_record(session_id).await?;
                if let Some(context) = context {
                    context.set_log_level(record.log_level);
                }
                Ok(record.upstreams)
            }
            Caller::Stateless => self.scope(),
        }
    }

    /// The upstreams the request's URL asks for (all of them when it does not ask).
    fn scope(&self) -> Result<Vec<String>, BackendError> {
        self.config
            .scope(self.requested_upstreams.as_deref())
            .map_err(|e| BackendError::InvalidParams(e.to_string()))
    }

    /// Runs `code` against `upstreams`; `None` when the client cancelled it. Every execution,
    /// however it ends, leaves an audit entry.
    async fn execute(
        &self,
        caller: Caller<'_>,
        upstreams: Vec<String>,
        code: &str,
        context: &RequestContext,
    ) -> Option<CallToolResult> {
        let platform = WorkerPlatform {
            env: &self.env,
            ctx: &self.ctx,
            session: caller.session_id(),
            context,
        };
        let requester = Requester {
            session: caller.session_id().map(str::to_owned),
            holder: self.holder.clone(),
            upstreams,
        };
        execution::execute(&platform, requester, code, &self.limits, context).await
    }

    /// The runner's metrics, from the ledger.
    async fn ledger_metrics(&self) -> Result<Metrics, String> {
        ask(&self.env, LEDGER, LEDGER_NAME, &LedgerCommand::Metrics)
            .await
            .map_err(|e| format!("the ledger failed: {e}"))
    }
}

impl AdminBackend for Runner {
    async fn statuses(&self) -> Vec<UpstreamStatus> {
        let names = self.config.upstream_names();
        join_all(
            names
                .iter()
                .map(|name| self.report(name, UpstreamCommand::Status)),
        )
        .await
    }

    async fn refresh(&self, name: &str) -> Option<UpstreamStatus> {
        self.config.upstream(name)?;
        Some(self.report(name, UpstreamCommand::Refresh).await)
    }

    async fn audit(&self, limit: usize) -> Result<Vec<ExecutionAudit>, String> {
        ask(
            &self.env,
            LEDGER,
            LEDGER_NAME,
            &LedgerCommand::Recent { limit },
        )
        .await
        .map_err(|e| e.to_string())
    }

    async fn metrics(&self) -> Result<Metrics, String> {
        self.ledger_metrics().await
    }
}

impl Runner {
    /// The status an upstream's object reports after `command`.
    async fn report(&self, name: &str, command: UpstreamCommand) -> UpstreamStatus {
        let answer = ask(&self.env, UPSTREAM_OBJECTS, name, &command).await;
        let failure = match answer {
            Ok(UpstreamAnswer::Status { report }) => return report,
            Ok(_) => "its object answered out of turn".to_owned(),
            Err(e) => format!("its object failed: {e}"),
        };
        let mut health = Health::default();
        health.record_failure(now_ms(), &UpstreamError::Unreachable { detail: failure });
        UpstreamStatus::new(name, None, None, false, &health)
    }
}

impl ServerBackend for Runner {
    const INSTRUCTIONS: &'static str = tools::INSTRUCTIONS;

    async fn open_session(
        &self,
        protocol_version: &ProtocolVersion,
    ) -> Result<String, BackendError> {
        let session_id = random_uuid();
        let record = SessionRecord::new(
            protocol_version.to_string(),
            self.scope()?,
            self.holder.clone(),
            now_ms(),
        );
        let _: bool = self
            .ask_session(&session_id, &SessionCommand::Open { record })
            .await?;
        Ok(session_id)
    }

    async fn session_exists(&self, session_id: &str) -> Result<bool, BackendError> {
        Ok(self.record(session_id).await?.is_some())
    }

    async fn close_session(&self, session_id: &str) -> Result<bool, BackendError> {
        self.session.borrow_mut().take();
        self.ask_session(session_id, &SessionCommand::Close).await
    }

    async fn set_log_level(&self, session_id: &str, level: LogLevel) -> Result<(), BackendError> {
        self.session.borrow_mut().take();
        let _existed: bool = self
            .ask_session(session_id, &SessionCommand::SetLogLevel { level })
            .await?;
        Ok(())
    }

    async fn cancel(
        &self,
        session_id: &str,
        request_id: &RequestId,
        reason: &str,
    ) -> Result<(), BackendError> {
        let command = SessionCommand::Cancel {
            request: request_key(request_id),
            reason: reason.to_owned(),
        };
        let _watched: bool = self.ask_session(session_id, &command).await?;
        Ok(())
    }

    async fn listen(&self, session_id: &str) -> Result<EventStream, BackendError> {
        let failed =
            |e: worker::Error| BackendError::Internal(format!("session stream failed: {e}"));
        let mut response = send(
            &self.env,
            SESSION_OBJECTS,
            session_id,
            &SessionCommand::Listen,
        )
        .await
        .map_err(failed)?;
        let frames = response.stream().map_err(failed)?;
        // A broken stream ends; the client reconnects with a new GET.
        Ok(frames
            .take_while(|frame| ready(frame.is_ok()))
            .filter_map(|frame| ready(frame.ok()))
            .boxed_local())
    }

    async fn list_tools(&self, caller: Caller<'_>) -> Result<Vec<Tool>, BackendError> {
        let upstreams = self.upstreams_of(caller, None).await?;
        let catalog = catalog(&self.env, &upstreams).await;
        let served = tools::definitions(&catalog);
        let upstream_tools = catalog
            .namespaces()
            .iter()
            .flat_map(|namespace| &namespace.functions)
            .map(|function| &function.tool);
        tell_ledger(
            &self.env,
            &self.ctx,
            LedgerCommand::Listed {
                upstream_chars: definition_chars(upstream_tools),
                served_chars: definition_chars(&served),
            },
        );
        Ok(served)
    }

    async fn list_resources(&self, _caller: Caller<'_>) -> Result<Vec<Resource>, BackendError> {
        Ok(vec![metrics_resource()])
    }

    async fn read_resource(
        &self,
        caller: Caller<'_>,
        uri: &str,
    ) -> Result<Option<ResourceContents>, BackendError> {
        if uri != METRICS_URI {
            return Ok(None);
        }
        let upstreams = self.upstreams_of(caller, None).await?;
        let metrics = self
            .ledger_metrics()
            .await
            .map_err(BackendError::Internal)?;
        Ok(Some(metrics_contents(&metrics.summary(&upstreams))))
    }

    async fn call_tool(
        &self,
        caller: Caller<'_>,
        params: CallToolRequestParams,
        context: &RequestContext,
    ) -> Result<Option<CallToolResult>, BackendError> {
        let arguments = Value::Object(params.arguments.unwrap_or_default());
        match params.name.as_ref() {
            SEARCH_TOOL => {
                let input: SearchInput = match serde_json::from_value(arguments) {
                    Ok(input) => input,
                    Err(e) => {
                        return Ok(Some(tools::invalid_arguments_result(
                            SEARCH_TOOL,
                            &e.to_string(),
                        )))
                    }
                };
                let upstreams = self.upstreams_of(caller, Some(context)).await?;
                let catalog = catalog(&self.env, &upstreams).await;
                execution::report_unavailable(&catalog, context);
                Ok(Some(tools::search_result(&catalog, &input.query)))
            }
            EXECUTE_TOOL => {
                let input: ExecuteInput = match serde_json::from_value(arguments) {
                    Ok(input) => input,
                    Err(e) => {
                        return Ok(Some(tools::invalid_arguments_result(
                            EXECUTE_TOOL,
                            &e.to_string(),
                        )))
                    }
                };
                let upstreams = self.upstreams_of(caller, Some(context)).await?;
                Ok(self.execute(caller, upstreams, &input.code, context).await)
            }
            other => Err(BackendError::UnknownTool(other.to_owned())),
        }
    }
}
