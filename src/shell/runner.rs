//! The MCP backend of the Worker: sessions in [`SessionObject`](super::session_object)s, tool
//! lists from [`UpstreamObject`](super::upstream_object)s, programs in dynamic isolates.

use std::cell::RefCell;

use futures::future::{join_all, pending, ready};
use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ProtocolVersion, RequestId, Resource, ResourceContents,
    Tool,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use worker::{console_log, Context, Env};

use super::bridge::{bridge, BridgeOwner};
use super::js::{now_ms, random_uuid};
use super::ledger_object::LEDGER_NAME;
use super::loader::{run_program, Execution, Host, SandboxError};
use super::objects::{ask, send, LEDGER, SESSION_OBJECTS, UPSTREAM_OBJECTS};
use crate::admin::AdminBackend;
use crate::audit::{Ending, ExecutionAudit, LedgerCommand};
use crate::codemode::catalog::{Catalog, Unavailable, UpstreamTools};
use crate::codemode::source::prepare;
use crate::codemode::tools::{self, ExecuteInput, SearchInput, EXECUTE_TOOL, SEARCH_TOOL};
use crate::config::{ConfigError, RunnerConfig, UPSTREAMS_VAR};
use crate::mcp::context::RequestContext;
use crate::mcp::{BackendError, Caller, ServerBackend};
use crate::metrics::{definition_chars, metrics_contents, metrics_resource, Metrics, METRICS_URI};
use crate::protocol::http::EventStream;
use crate::protocol::log_level::LogLevel;
use crate::protocol::token::TokenFingerprint;
use crate::sandbox::gate::CallGate;
use crate::sandbox::limits::{ExecutionLimits, LimitsError};
use crate::sandbox::program::{RunRequest, WorkerCode};
use crate::session::{SessionCommand, SessionRecord};
use crate::upstream::client::UpstreamError;
use crate::upstream::health::{Health, UpstreamStatus};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::recent::RecentLists;

thread_local! {
    /// The tool lists this isolate was recently given, shared by its requests.
    static RECENT_LISTS: RefCell<RecentLists> = RefCell::new(RecentLists::default());
}

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

    /// The tools of each upstream: recently listed ones from this isolate's memory, the others
    /// asked of their objects, all at once.
    async fn catalog(&self, upstreams: &[String]) -> Catalog {
        let lists = upstreams.iter().map(|name| async move {
            if let Some(tools) = RECENT_LISTS.with(|recent| recent.borrow().get(name, now_ms())) {
                return UpstreamTools {
                    upstream: name.clone(),
                    tools: Ok(tools),
                };
            }
            let answer: worker::Result<UpstreamAnswer> = ask(
                &self.env,
                UPSTREAM_OBJECTS,
                name,
                &UpstreamCommand::ListTools,
            )
            .await;
            let tools = match answer {
                Ok(UpstreamAnswer::Tools { tools }) => {
                    RECENT_LISTS
                        .with(|recent| recent.borrow_mut().put(name, tools.clone(), now_ms()));
                    Ok(tools)
                }
                Ok(UpstreamAnswer::Failed { error }) => Err(Unavailable::of(&error)),
                Ok(UpstreamAnswer::Pending {
                    waited_ms,
                    last_error,
                }) => Err(match last_error {
                    Some(error) => Unavailable::of(&error).retrying(),
                    None => Unavailable::new(format!(
                        "still connecting after {waited_ms} ms; try again shortly"
                    )),
                }),
                Ok(_) => Err(Unavailable::new("its object answered out of turn")),
                Err(e) => Err(Unavailable {
                    reported: Some(e.to_string()),
                    ..Unavailable::new("its object failed")
                }),
            };
            UpstreamTools {
                upstream: name.clone(),
                tools,
            }
        });
        Catalog::new(join_all(lists).await)
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

    /// The catalog of `upstreams`, telling the client (at `warning`) of each one left out.
    async fn reported_catalog(&self, upstreams: &[String], context: &RequestContext) -> Catalog {
        let catalog = self.catalog(upstreams).await;
        for namespace in catalog.namespaces() {
            if let Some(reason) = &namespace.unavailable {
                context.log(
                    LogLevel::Warning,
                    json!({"event": "upstream_unavailable", "upstream": namespace.name,
                           "reason": reason.to_string()}),
                );
            }
        }
        catalog
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
        let started = now_ms();
        let audit = ExecutionAudit::begin(
            started,
            random_uuid(),
            caller.session_id().map(str::to_owned),
            self.holder.clone(),
            code,
            upstreams,
        );
        let (result, audit) = self.run(audit, code, context).await;
        self.audit_entry(audit.took(now_ms() - started));
        result
    }

    /// Prepares and runs the code `audit` describes; returns the `execute` result (none when
    /// cancelled) and the completed audit entry, whose calls are what the bridge's gate saw.
    async fn run(
        &self,
        audit: ExecutionAudit,
        code: &str,
        context: &RequestContext,
    ) -> (Option<CallToolResult>, ExecutionAudit) {
        let catalog = self.reported_catalog(&audit.upstreams, context).await;
        let manifest = catalog.manifest();
        let request = RunRequest::new(&manifest, &self.limits);
        let program = match prepare(code, &request.bindings, &self.limits) {
            Ok(program) => program,
            Err(error) => {
                let result = tools::source_error_result(&error);
                return (Some(result), audit.refused(&error));
            }
        };
        let gate = CallGate::new(manifest, self.limits);
        let owner = BridgeOwner {
            execution: audit.execution.clone(),
            context: context.clone(),
        };
        let bridge = bridge(self.env.clone(), gate.clone(), owner);
        let execution = Execution {
            id: &audit.execution,
            session: audit.session.as_deref(),
            gate: &gate,
            bridge: &bridge,
        };
        let loading = now_ms();
        let outcome = run_program(
            &Host {
                env: &self.env,
                ctx: &self.ctx,
            },
            &WorkerCode::new(program.module.clone(), &self.limits),
            &request,
            &execution,
            self.cancellation(audit.session.as_deref(), context.id()),
            self.limits.timeout_ms,
        )
        .await;
        let finished = now_ms();
        let ms = finished - loading;
        let record = gate.record();
        let audit = audit.called(&record);
        match outcome {
            Ok(outcome) => {
                context.log(
                    LogLevel::Info,
                    json!({"event": "execution_finished", "ms": ms, "calls": record.calls_total,
                           "threw": outcome.error.is_some()}),
                );
                // The isolate's clock says when the program started; it is only believed
                // within the time the runner saw pass.
                let spawn_ms = outcome
                    .started_at_ms
                    .unwrap_or(loading)
                    .clamp(loading, finished)
                    - loading;
                let audit = audit.ran(&outcome, &self.limits, spawn_ms);
                let result = tools::execution_result(outcome, record.calls, &program, &self.limits);
                (Some(result), audit)
            }
            Err(SandboxError::Cancelled(_)) => (None, audit.stopped(Ending::Cancelled)),
            Err(error) => {
                context.log(
                    LogLevel::Error,
                    json!({"event": "execution_failed", "ms": ms, "error": error.to_string()}),
                );
                if matches!(
                    error,
                    SandboxError::Timeout(_) | SandboxError::Overran { .. }
                ) {
                    let result = tools::timed_out_result(error.to_string(), record.calls);
                    return (Some(result), audit.stopped(Ending::TimedOut));
                }
                let result = tools::sandbox_failure_result(error.to_string());
                (Some(result), audit.stopped(Ending::SandboxFailed))
            }
        }
    }

    /// Writes `entry` to the log now and to the ledger after the response.
    fn audit_entry(&self, entry: ExecutionAudit) {
        console_log!("{}", entry.log_line());
        // The log line is already written; a lost ledger entry is only missing from
        // /admin/audit and the metrics.
        self.tell_ledger(LedgerCommand::Record {
            entry: Box::new(entry),
        });
    }

    /// Sends `command` to the ledger after the response, so the client never waits for it.
    fn tell_ledger(&self, command: LedgerCommand) {
        let env = self.env.clone();
        self.ctx.wait_until(async move {
            let _: worker::Result<bool> = ask(&env, LEDGER, LEDGER_NAME, &command).await;
        });
    }

    /// The runner's metrics, from the ledger.
    async fn ledger_metrics(&self) -> Result<Metrics, String> {
        ask(&self.env, LEDGER, LEDGER_NAME, &LedgerCommand::Metrics)
            .await
            .map_err(|e| format!("the ledger failed: {e}"))
    }

    /// Resolves with the client's reason if it cancels request `id` of the session; never
    /// otherwise (a stateless request is cancelled by closing its stream, which drops it).
    /// The cancellation may reach another isolate, so it is met in the session's object.
    async fn cancellation(&self, session_id: Option<&str>, id: &RequestId) -> String {
        let Some(session_id) = session_id else {
            return pending().await;
        };
        let command = SessionCommand::Watch {
            request: request_key(id),
        };
        if let Ok(mut response) = send(&self.env, SESSION_OBJECTS, session_id, &command).await {
            if let Ok(mut stream) = response.stream() {
                if let Some(Ok(reason)) = stream.next().await {
                    return String::from_utf8_lossy(&reason).into_owned();
                }
            }
        }
        // Nothing to watch with, or the watch ended: this request will not be cancelled.
        pending().await
    }
}

/// The key a request is watched under in its session's object.
fn request_key(id: &RequestId) -> String {
    serde_json::to_string(id).unwrap_or_default()
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
        let catalog = self.catalog(&upstreams).await;
        let served = tools::definitions(&catalog);
        let upstream_tools = catalog
            .namespaces()
            .iter()
            .flat_map(|namespace| &namespace.functions)
            .map(|function| &function.tool);
        self.tell_ledger(LedgerCommand::Listed {
            upstream_chars: definition_chars(upstream_tools),
            served_chars: definition_chars(&served),
        });
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
                let catalog = self.reported_catalog(&upstreams, context).await;
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
