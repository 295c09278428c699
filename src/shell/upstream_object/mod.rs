//! One Durable Object per upstream MCP server, named by the upstream's configured name. It
//! owns the MCP client session to that server ([`connection`]), keeps the tool list in storage
//! so it outlives restarts, forwards tool calls and records how the upstream answers.
//!
//! Requests to the object interleave: while one tool call waits on the upstream, others (and
//! tool-list requests) proceed. The session and the tool-list fetch are each started once and
//! shared by everyone waiting for them.
//!
//! Secrets are read here, at request time, and nowhere else; anything the upstream says is
//! redacted of them before it leaves the object.
//!
//! What an upstream sends is bounded here too: a received tool list is capped
//! ([`crate::upstream::tool_caps`]), answers are read within the upstream's `maxResultBytes`
//! ([`connection`]), and tool calls wait their turn under its `maxConcurrentCalls`
//! ([`crate::upstream::queue`]).

mod body;
mod connection;
mod legacy_sse;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either, LocalBoxFuture, Shared};
use futures::FutureExt;
use rmcp::model::{CallToolResult, ListToolsResult, Tool};
use serde_json::{json, Map, Value};
use wasm_bindgen_futures::spawn_local;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::js::now_ms;
use super::objects::call_answer;
use crate::config::{RunnerConfig, UpstreamConfig, UPSTREAMS_VAR};
use crate::protocol::method;
use crate::redact::Secrets;
use crate::sandbox::protocol::BridgeReply;
use crate::upstream::arguments::ArgumentChecker;
use crate::upstream::client::UpstreamError;
use crate::upstream::health::{CachedTools, Health, UpstreamStatus};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand, LIST_WAIT_MS};
use crate::upstream::queue::CallQueue;
use crate::upstream::tool_caps::cap_tools;

use connection::{never, Connection, Stop};

/// Pages of `tools/list` followed before giving up on a server that never stops paginating.
const MAX_TOOL_PAGES: usize = 50;

/// The storage key of the cached tool list.
const TOOLS_KEY: &str = "tools";

/// A tool-list fetch that everyone waiting for it shares.
type SharedFetch =
    Shared<LocalBoxFuture<'static, std::result::Result<Rc<CachedTools>, UpstreamError>>>;

/// The upstream's Durable Object.
#[durable_object]
pub struct UpstreamObject {
    upstream: Rc<Upstream>,
}

/// What the object holds; in an `Rc` so that work it starts (a shared fetch, the event-stream
/// reader of the 2024-11-05 transport) can outlive the request that started it.
pub(super) struct Upstream {
    state: State,
    env: Env,
    /// The MCP session.
    connection: Connection,
    /// The tool list, once read from storage or fetched.
    cache: RefCell<Option<Rc<CachedTools>>>,
    /// Whether storage has been read for a cached list.
    cache_loaded: Cell<bool>,
    /// Set when the upstream announced a change or a call failed: refresh at the next chance.
    stale: Cell<bool>,
    /// The tool-list fetch in progress.
    fetching: RefCell<Option<SharedFetch>>,
    /// Each tool's compiled input schema, built on the tool's first call.
    checkers: RefCell<HashMap<String, Rc<ArgumentChecker>>>,
    health: RefCell<Health>,
    /// How to stop the calls in flight, by execution.
    running: RefCell<HashMap<String, Vec<oneshot::Sender<String>>>>,
    /// Tool calls in flight and waiting, under the upstream's `maxConcurrentCalls`.
    calls: Rc<CallQueue>,
}

/// Where and how to reach the upstream, with its secrets resolved.
pub(super) struct Target {
    config: UpstreamConfig,
    headers: Vec<(String, String)>,
    /// What to remove from anything the upstream says.
    secrets: Secrets,
}

impl DurableObject for UpstreamObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            upstream: Rc::new(Upstream {
                state,
                env,
                connection: Connection::default(),
                cache: RefCell::new(None),
                cache_loaded: Cell::new(false),
                stale: Cell::new(false),
                fetching: RefCell::new(None),
                checkers: RefCell::new(HashMap::new()),
                health: RefCell::new(Health::default()),
                running: RefCell::new(HashMap::new()),
                calls: CallQueue::new(usize::MAX),
            }),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let name = req.path().trim_start_matches('/').to_owned();
        let command: UpstreamCommand = req.json().await?;
        let is_call = matches!(command, UpstreamCommand::CallTool { .. });
        let answer = match Target::configured(&self.upstream.env, &name) {
            Ok(target) => self.upstream.answer(&Rc::new(target), command).await,
            Err(error) => UpstreamAnswer::Failed { error },
        };
        if is_call {
            return call_answer(&BridgeReply::from_answer(answer));
        }
        Response::from_json(&answer)
    }
}

impl Target {
    fn configured(env: &Env, name: &str) -> std::result::Result<Self, UpstreamError> {
        let misconfigured = |detail: String| UpstreamError::Misconfigured { detail };
        let text = env
            .var(UPSTREAMS_VAR)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let config = RunnerConfig::from_json(&text).map_err(|e| misconfigured(e.to_string()))?;
        let upstream = config
            .upstream(name)
            .ok_or_else(|| misconfigured(format!("no upstream is named `{name}`")))?;
        let lookup = |secret: &str| env.secret(secret).ok().map(|s| s.to_string());
        let headers = upstream
            .resolved_headers(lookup)
            .map_err(|e| misconfigured(e.to_string()))?;
        Ok(Self {
            secrets: upstream.secrets(lookup),
            config: upstream.clone(),
            headers,
        })
    }

    /// The cached tools the operator's filter lets through.
    fn exposed<'a>(&'a self, cached: &'a CachedTools) -> impl Iterator<Item = &'a Tool> {
        cached
            .tools
            .iter()
            .filter(|tool| self.config.tools.permits(&tool.name))
    }
}

impl Upstream {
    async fn answer(
        self: &Rc<Self>,
        target: &Rc<Target>,
        command: UpstreamCommand,
    ) -> UpstreamAnswer {
        match command {
            UpstreamCommand::ListTools => self.list(target).await,
            UpstreamCommand::CallTool {
                name,
                arguments,
                execution,
            } => {
                let stop = execution.map_or_else(never, |execution| self.stoppable(execution));
                self.call(target, &name, arguments, stop).await
            }
            UpstreamCommand::Cancel { execution, reason } => {
                let stops = self.running.borrow_mut().remove(&execution);
                let calls = stops
                    .into_iter()
                    .flatten()
                    .filter_map(|stop| stop.send(reason.clone()).ok())
                    .count();
                UpstreamAnswer::Cancelled {
                    calls: u32::try_from(calls).unwrap_or(u32::MAX),
                }
            }
            UpstreamCommand::Status => UpstreamAnswer::Status {
                report: self.status(target).await,
            },
            UpstreamCommand::Refresh => {
                self.stale.set(true);
                // The outcome is in the health the status reports.
                let _ = self.fetch_tools(target).await;
                UpstreamAnswer::Status {
                    report: self.status(target).await,
                }
            }
        }
    }

    /// The exposed tools: the cached list at once (refreshed behind the answer when stale), or
    /// the first fetch, waited for at most [`LIST_WAIT_MS`] (not at all after a failure).
    async fn list(self: &Rc<Self>, target: &Rc<Target>) -> UpstreamAnswer {
        if let Some(cached) = self.cached(target).await {
            if self.stale.get() || !cached.is_fresh(now_ms(), target.config.tools_ttl_seconds) {
                drop(self.fetch_tools(target));
            }
            return UpstreamAnswer::Tools {
                tools: target.exposed(&cached).cloned().collect(),
            };
        }
        // Only a first contact is waited for: once an attempt has failed, answer at once while
        // the next attempt runs, so a stalled upstream costs other listings nothing.
        let last_error = {
            let health = self.health.borrow();
            let failing = health.is_failing();
            health
                .last_error
                .as_ref()
                .filter(|_| failing)
                .and_then(|e| e.error.clone())
        };
        let wait_ms = if last_error.is_some() {
            0
        } else {
            LIST_WAIT_MS
        };
        let wait = worker::Delay::from(Duration::from_millis(wait_ms.into()));
        match select(self.fetch_tools(target), wait).await {
            Either::Left((Ok(cached), _)) => UpstreamAnswer::Tools {
                tools: target.exposed(&cached).cloned().collect(),
            },
            Either::Left((Err(error), _)) => UpstreamAnswer::Failed { error },
            Either::Right(_) => UpstreamAnswer::Pending {
                waited_ms: wait_ms,
                last_error,
            },
        }
    }

    async fn call(
        self: &Rc<Self>,
        target: &Rc<Target>,
        name: &str,
        arguments: Option<Map<String, Value>>,
        stop: Stop,
    ) -> UpstreamAnswer {
        if !target.config.tools.permits(name) {
            return UpstreamAnswer::NotPermitted {
                detail: format!("the runner's configuration does not expose `{name}`"),
            };
        }
        let checker = match self.checker(target, name).await {
            Ok(Some(checker)) => checker,
            Ok(None) => {
                return UpstreamAnswer::NotPermitted {
                    detail: format!("the upstream lists no tool named `{name}`"),
                }
            }
            Err(error) => return UpstreamAnswer::Failed { error },
        };
        // Checked here, against the listed schema, so a wrong call never leaves the runner.
        if let Err(detail) = checker.check(&arguments.clone().unwrap_or_default()) {
            return UpstreamAnswer::InvalidArguments { detail };
        }
        // Wait for a turn under `maxConcurrentCalls`; a call stopped while waiting leaves the
        // queue without reaching the upstream.
        let limit = target
            .config
            .max_concurrent_calls
            .map_or(usize::MAX, |calls| {
                usize::try_from(calls).unwrap_or(usize::MAX)
            });
        self.calls.set_limit(limit);
        let (_permit, stop) = match select(self.calls.turn(), stop).await {
            Either::Left(turn) => turn,
            Either::Right((reason, _)) => {
                return UpstreamAnswer::Failed {
                    error: UpstreamError::Cancelled { reason },
                }
            }
        };
        let params = json!({"name": name, "arguments": arguments.unwrap_or_default()});
        let result = self
            .timed(
                target,
                self.connection
                    .request(self, target, method::TOOLS_CALL, params, stop),
            )
            .await
            .and_then(|value| {
                serde_json::from_value::<CallToolResult>(target.secrets.value(value)).map_err(|e| {
                    UpstreamError::Malformed {
                        detail: format!("tools/call result: {e}"),
                    }
                })
            });
        if result
            .as_ref()
            .is_err_and(|e| !matches!(e, UpstreamError::Cancelled { .. }))
        {
            // The tool list may be what changed.
            self.stale.set(true);
        }
        if self.stale.get() {
            drop(self.fetch_tools(target));
        }
        match result {
            Ok(result) => UpstreamAnswer::ToolResult { result },
            Err(error) => UpstreamAnswer::Failed { error },
        }
    }

    /// The compiled input schema of tool `name`, if the upstream lists it. A name missing from
    /// the cached list is looked for once more in a fresh list: the tool may be new.
    async fn checker(
        self: &Rc<Self>,
        target: &Rc<Target>,
        name: &str,
    ) -> std::result::Result<Option<Rc<ArgumentChecker>>, UpstreamError> {
        if let Some(checker) = self.checkers.borrow().get(name) {
            return Ok(Some(Rc::clone(checker)));
        }
        let mut tools = match self.cached(target).await {
            Some(cached) => cached,
            None => self.fetch_tools(target).await?,
        };
        if !tools.tools.iter().any(|t| t.name == name) {
            tools = self.fetch_tools(target).await?;
        }
        let Some(tool) = tools.tools.iter().find(|t| t.name == name) else {
            return Ok(None);
        };
        let checker = Rc::new(ArgumentChecker::new(&tool.input_schema));
        self.checkers
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&checker));
        Ok(Some(checker))
    }

    /// The cached list, read from storage the first time. A stored list is redacted again as it
    /// is read, for a list stored before a secret was configured or changed.
    async fn cached(&self, target: &Target) -> Option<Rc<CachedTools>> {
        if !self.cache_loaded.get() {
            let stored = self
                .state
                .storage()
                .get::<CachedTools>(TOOLS_KEY)
                .await
                .ok()
                .flatten();
            self.cache_loaded.set(true);
            if self.cache.borrow().is_none() {
                *self.cache.borrow_mut() = stored.map(|stored| {
                    Rc::new(CachedTools {
                        tools: target.secrets.tools(stored.tools),
                        ..stored
                    })
                });
            }
        }
        self.cache.borrow().clone()
    }

    /// Fetches the tool list and stores it; a fetch already in progress is joined rather than
    /// repeated. The fetch runs to its end even if every caller stops waiting.
    fn fetch_tools(self: &Rc<Self>, target: &Rc<Target>) -> SharedFetch {
        if let Some(fetching) = self.fetching.borrow().as_ref() {
            return fetching.clone();
        }
        let (this, target) = (Rc::clone(self), Rc::clone(target));
        let fetch = async move {
            let outcome = this.timed(&target, this.list_tools(&target)).await;
            this.fetching.borrow_mut().take();
            // Redacted before it is stored: a tool list reaches the model, the sandbox's
            // manifest and the operator's counts.
            let tools = target.secrets.tools(outcome?);
            let cached = CachedTools {
                tools,
                fetched_at_ms: now_ms(),
            };
            // A failed write only costs the cache across a restart.
            let _ = this.state.storage().put(TOOLS_KEY, &cached).await;
            let cached = Rc::new(cached);
            *this.cache.borrow_mut() = Some(Rc::clone(&cached));
            this.stale.set(false);
            this.checkers.borrow_mut().clear();
            Ok(cached)
        }
        .boxed_local()
        .shared();
        *self.fetching.borrow_mut() = Some(fetch.clone());
        spawn_local(fetch.clone().map(drop));
        fetch
    }

    async fn list_tools(
        self: &Rc<Self>,
        target: &Rc<Target>,
    ) -> std::result::Result<Vec<Tool>, UpstreamError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_TOOL_PAGES {
            let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
            let page = self
                .connection
                .request(self, target, method::TOOLS_LIST, params, never())
                .await?;
            let page: ListToolsResult =
                serde_json::from_value(page).map_err(|e| UpstreamError::Malformed {
                    detail: format!("tools/list result: {e}"),
                })?;
            tools.extend(page.tools);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(cap_tools(tools)),
            }
        }
        Err(UpstreamError::Malformed {
            detail: format!("tools/list had over {MAX_TOOL_PAGES} pages"),
        })
    }

    /// Runs `work` against the upstream, recording its outcome in the health and removing
    /// secrets from its error.
    async fn timed<T>(
        &self,
        target: &Target,
        work: impl std::future::Future<Output = std::result::Result<T, UpstreamError>>,
    ) -> std::result::Result<T, UpstreamError> {
        let started = now_ms();
        let outcome = work.await.map_err(|error| error.redacted(&target.secrets));
        let now = now_ms();
        let mut health = self.health.borrow_mut();
        match &outcome {
            Ok(_) => health.record_success(now, now - started),
            // The client's choice says nothing about the upstream.
            Err(UpstreamError::Cancelled { .. }) => {}
            Err(error) => health.record_failure(now, error),
        }
        outcome
    }

    async fn status(&self, target: &Target) -> UpstreamStatus {
        let cached = self.cached(target).await;
        let fresh = cached.as_ref().is_some_and(|c| {
            !self.stale.get() && c.is_fresh(now_ms(), target.config.tools_ttl_seconds)
        });
        UpstreamStatus::new(
            &target.config.name,
            cached.as_deref(),
            cached.as_ref().map(|c| target.exposed(c).count()),
            fresh,
            &self.health.borrow(),
        )
    }

    /// A [`Stop`] for one call of `execution`, fired by [`UpstreamCommand::Cancel`].
    fn stoppable(&self, execution: String) -> Stop {
        let (sender, receiver) = oneshot::channel();
        let mut running = self.running.borrow_mut();
        // Calls that have finished dropped their receivers; forget them.
        running.retain(|_, stops| {
            stops.retain(|stop| !stop.is_canceled());
            !stops.is_empty()
        });
        running.entry(execution).or_default().push(sender);
        async move {
            match receiver.await {
                Ok(reason) => reason,
                Err(oneshot::Canceled) => futures::future::pending().await,
            }
        }
        .boxed_local()
    }

    /// Marks the tool list for a refresh: the upstream said it changed.
    pub(super) fn tools_changed(&self) {
        self.stale.set(true);
    }
}
