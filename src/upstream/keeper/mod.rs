//! One upstream, kept: its MCP session, its tool list (cached, stored across restarts,
//! refreshed when stale, fetched once for everyone waiting), each tool's argument checker, its
//! health, and its tool calls (checked, queued under `maxConcurrentCalls`, stoppable by
//! execution). This is what the upstream's Durable Object does; the object only adapts the
//! Worker to it ([`Http`] for the network, [`ToolStore`] for storage).
//!
//! Requests interleave: while one tool call waits on the upstream, others (and tool-list
//! requests) proceed. Anything the upstream says is redacted of its secrets before it leaves
//! ([`Target::secrets`]), and a tool list before it is stored.

mod lending;
mod observing;
mod questions;
mod signin;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod tools;

pub use lending::lease_of;
use questions::{Forwarder, HeldCalls};
pub use tools::Checkers;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either, LocalBoxFuture, Shared};
use futures::FutureExt;
use rmcp::model::CallToolResult;
use serde_json::{json, Map, Value};

use super::client::UpstreamError;
use super::health::{CachedTools, Health};
use super::oauth::account::{Account, Vault};
use super::observed::{Learner, Observations, ObservedResults};
use super::protocol::{UpstreamAnswer, UpstreamCommand, LIST_WAIT_MS};
use super::queue::CallQueue;
use super::session::{never, Asker, Connection, Http, Lessor, Stop};
use super::target::Target;
use crate::cold::cold;
use crate::config::{Grant, Verdict};
use crate::protocol::method;

/// How long an object uses the upstream's configuration as it read it before reading it again.
pub const CONFIGURATION_TTL_MS: u64 = 60_000;

/// A tool-list fetch that everyone waiting for it shares.
type SharedFetch = Shared<LocalBoxFuture<'static, Result<Rc<CachedTools>, UpstreamError>>>;

/// Where the tool list, and what was learned of the tools' results, are kept across restarts.
pub trait ToolStore {
    /// The stored list, if any.
    fn load(&self) -> impl Future<Output = Option<CachedTools>>;
    /// Stores `cached`; a failed write only costs the cache across a restart.
    fn save(&self, cached: &CachedTools) -> impl Future<Output = ()>;
    /// What `learner`'s calls taught of each tool's results.
    fn load_observed(&self, learner: &Learner) -> impl Future<Output = Observations>;
    /// Stores what `learner`'s calls taught of tool `name`'s results; a failed write only
    /// costs it across a restart.
    fn save_observed(
        &self,
        learner: &Learner,
        name: &str,
        observed: &ObservedResults,
    ) -> impl Future<Output = ()>;
}

/// One upstream's session, tool list, health and calls; in an `Rc` so that work it starts (a
/// shared fetch) can outlive the request that started it.
pub struct UpstreamKeeper<H: Http, S: ToolStore> {
    http: Rc<H>,
    store: S,
    /// The MCP session.
    connection: Rc<Connection<H>>,
    /// The tool list, once read from storage or fetched.
    cache: RefCell<Option<Rc<CachedTools>>>,
    /// Whether storage has been read for a cached list.
    cache_loaded: Cell<bool>,
    /// Set when the upstream announced a change or a call failed: refresh at the next chance.
    stale: Rc<Cell<bool>>,
    /// The tool-list fetch in progress.
    fetching: RefCell<Option<SharedFetch>>,
    /// Each tool's compiled input schema, built on the tool's first call.
    checkers: Checkers,
    health: RefCell<Health>,
    /// How to stop the calls in flight, by execution.
    running: RefCell<HashMap<String, Vec<oneshot::Sender<String>>>>,
    /// Tool calls in flight and waiting, under the upstream's `maxConcurrentCalls`.
    calls: Rc<CallQueue>,
    /// The upstream as configured: read again after [`CONFIGURATION_TTL_MS`], since an
    /// upstream added at runtime may change without a deploy (which restarts the object), and
    /// only the upstream's own object is told (a person's is not).
    target: RefCell<Option<Rc<Target>>>,
    /// When `target` was read.
    configured_at: Cell<u64>,
    /// The OAuth account the object holds, for an upstream that signs in with OAuth.
    account: Account<H>,
    /// Calls waiting for the answer to their upstream's question, by id.
    held: RefCell<HeldCalls>,
    /// The last held call's id.
    held_ids: Cell<u64>,
    /// What was learned of the tools' results, by whose calls taught it, as read from
    /// storage when first needed.
    observations: RefCell<HashMap<Learner, Observations>>,
}

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// A keeper that knows nothing of its upstream yet; an OAuth account's record is kept
    /// in `vault`, its PKCE verifiers, `state`s and links made by `new_secret`.
    pub fn new(
        http: H,
        store: S,
        vault: Box<dyn Vault>,
        new_secret: Box<dyn Fn() -> String>,
    ) -> Rc<Self> {
        Self::build(http, store, (vault, new_secret), None, Checkers::default())
    }

    /// A keeper whose session is its own (`lessor` is `None`) or lent by `lessor`.
    fn build(
        http: H,
        store: S,
        (vault, new_secret): (Box<dyn Vault>, Box<dyn Fn() -> String>),
        lessor: Option<Rc<dyn Lessor>>,
        checkers: Checkers,
    ) -> Rc<Self> {
        let http = Rc::new(http);
        let stale = Rc::new(Cell::new(false));
        let on_tools_changed = {
            let (stale, lessor) = (Rc::clone(&stale), lessor.clone());
            Rc::new(move || {
                stale.set(true);
                if let Some(lessor) = &lessor {
                    lessor.tools_changed();
                }
            })
        };
        Rc::new(Self {
            connection: match lessor {
                Some(lessor) => Connection::leasing(Rc::clone(&http), on_tools_changed, lessor),
                None => Connection::new(Rc::clone(&http), on_tools_changed),
            },
            account: Account::new(Rc::clone(&http), vault, new_secret),
            http,
            store,
            cache: RefCell::new(None),
            cache_loaded: Cell::new(false),
            stale,
            fetching: RefCell::new(None),
            checkers,
            health: RefCell::new(Health::default()),
            running: RefCell::new(HashMap::new()),
            calls: CallQueue::new(usize::MAX),
            target: RefCell::new(None),
            configured_at: Cell::new(0),
            held: RefCell::default(),
            held_ids: Cell::new(0),
            observations: RefCell::default(),
        })
    }
}

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// What the upstream's object answers to `command` about the upstream `configure` reads
    /// from the configuration and secrets: the first time, and again once what was read is
    /// [`CONFIGURATION_TTL_MS`] old (a failure is not kept; the upstream as read before serves
    /// meanwhile). An upstream that changed loses its session and tool list.
    pub async fn answer_configured<F: Future<Output = Result<Target, UpstreamError>>>(
        self: &Rc<Self>,
        configure: impl FnOnce() -> F,
        command: UpstreamCommand,
    ) -> UpstreamAnswer {
        if command == UpstreamCommand::Forget {
            // Nothing to read: what is forgotten is read again at the next command.
            self.forget();
            return UpstreamAnswer::Forgotten;
        }
        let now = self.http.now_ms();
        let configured = self.target.borrow().clone();
        let fresh = now < self.configured_at.get() + CONFIGURATION_TTL_MS;
        let target = match configured {
            Some(target) if fresh => target,
            held => match configure().await {
                Ok(target) => {
                    self.configured_at.set(now);
                    if held.is_some_and(|held| held.config != target.config) {
                        self.forget();
                    }
                    Rc::new(target)
                }
                Err(error) => match held {
                    Some(held) => held,
                    None => return UpstreamAnswer::Failed { error },
                },
            },
        };
        *self.target.borrow_mut() = Some(Rc::clone(&target));
        self.answer(&target, command).await
    }

    /// What the upstream's object answers to `command` about `target`.
    pub async fn answer(
        self: &Rc<Self>,
        target: &Rc<Target>,
        command: UpstreamCommand,
    ) -> UpstreamAnswer {
        match command {
            UpstreamCommand::ListTools { person } => {
                self.list(target, &Learner::new(person.as_deref())).await
            }
            UpstreamCommand::CallTool {
                name,
                arguments,
                execution,
                person,
                approval,
            } => {
                if let Some(refused) = self.unlent(target) {
                    return refused;
                }
                let grant = target.access.grant_for(person.as_ref());
                if !grant.reaches(&target.config.name) {
                    return UpstreamAnswer::NotPermitted {
                        detail: format!("the operator's ACCESS policy does not grant `{name}`"),
                    };
                }
                let stop = (execution.clone()).map_or_else(never, |e| self.stoppable(e));
                let (this, running) = (Rc::clone(self), Rc::clone(target));
                let approved = approval.is_some();
                let make = move |forwarder: Rc<Forwarder>| {
                    async move {
                        let asker = (grant, approved);
                        let call = (name.as_str(), arguments);
                        this.call(&running, call, asker, &*forwarder, stop).await
                    }
                    .boxed_local()
                };
                self.call_asking(target, execution, make).await
            }
            UpstreamCommand::Answer {
                call,
                execution,
                answer,
            } => cold(self.resume(target, &call, execution, answer)).await,
            UpstreamCommand::Cancel { execution, reason } => UpstreamAnswer::Cancelled {
                calls: self.stop(&execution, &reason),
            },
            UpstreamCommand::Forget => {
                self.forget();
                UpstreamAnswer::Forgotten
            }
            UpstreamCommand::Lease { gone } => self.lend(target, gone.as_deref()).await,
            UpstreamCommand::Report { health, observed } => UpstreamAnswer::Observed {
                taught: self.take_report(target, health, observed).await,
            },
            UpstreamCommand::OpenSignIn { .. }
            | UpstreamCommand::CompleteSignIn { .. }
            | UpstreamCommand::Disconnect
            | UpstreamCommand::Connect
            | UpstreamCommand::AccountStatus => cold(self.sign_in(target, command)).await,
            UpstreamCommand::Status => UpstreamAnswer::Status {
                report: cold(self.status(target)).await,
            },
            UpstreamCommand::Refresh => {
                self.stale.set(true);
                // The outcome is in the health the status reports.
                let _ = self.fetch_tools(target).await;
                UpstreamAnswer::Status {
                    report: cold(self.status(target)).await,
                }
            }
        }
    }

    /// The exposed tools, with what `learner`'s calls taught of their results: the cached
    /// list at once (refreshed behind the answer when stale), or the first fetch, waited for
    /// at most [`LIST_WAIT_MS`] (not at all after a failure).
    async fn list(self: &Rc<Self>, target: &Rc<Target>, learner: &Learner) -> UpstreamAnswer {
        if let Some(cached) = self.cached(target).await {
            if self.stale.get()
                || !cached.is_fresh(self.http.now_ms(), target.config.tools_ttl_seconds)
            {
                drop(self.fetch_tools(target));
            }
            return self
                .tools_answer(target.exposed(&cached).cloned().collect(), learner)
                .await;
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
        let wait = Box::pin(self.http.sleep(wait_ms));
        match select(self.fetch_tools(target), wait).await {
            Either::Left((Ok(cached), _)) => {
                self.tools_answer(target.exposed(&cached).cloned().collect(), learner)
                    .await
            }
            Either::Left((Err(error), _)) => UpstreamAnswer::Failed { error },
            Either::Right(_) => UpstreamAnswer::Pending {
                waited_ms: wait_ms,
                last_error,
            },
        }
    }

    /// Makes a call of tool `name` for a person whose `grant` it is, whose call carries an
    /// approval or not, unless the operator's policy refuses it; what the upstream asks
    /// meanwhile goes to `asker`.
    async fn call(
        self: &Rc<Self>,
        target: &Rc<Target>,
        (name, arguments): (&str, Option<Map<String, Value>>),
        (grant, approved): (Grant, bool),
        asker: &dyn Asker,
        stop: Stop,
    ) -> UpstreamAnswer {
        let checker = match self.checker(target, name).await {
            Ok(Some(checker)) => checker,
            Ok(None) => {
                return UpstreamAnswer::NotPermitted {
                    detail: format!("the upstream lists no tool named `{name}`"),
                }
            }
            Err(error) => return UpstreamAnswer::Failed { error },
        };
        let grant = grant.under([&target.config]);
        match grant.verdict(&target.config.name, &checker.tool) {
            Verdict::Block => {
                return UpstreamAnswer::NotPermitted {
                    detail: format!(
                        "the operator's policy (the upstream's `tools`, or ACCESS) does not \
                         grant `{name}`"
                    ),
                }
            }
            Verdict::Approve if !approved => {
                return UpstreamAnswer::NotPermitted {
                    detail: format!("`{name}` needs a person's approval, and the call has none"),
                }
            }
            Verdict::Approve | Verdict::Allow => {}
        }
        // Checked here, against the listed schema, so a wrong call never leaves the runner.
        let arguments = Value::Object(arguments.unwrap_or_default());
        if let Err(detail) = checker.arguments.check(&arguments) {
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
        let mirrored = checker.mirrored.headers(&arguments);
        let params = json!({"name": name, "arguments": arguments});
        let result = self
            .timed(
                target,
                self.request(
                    target,
                    (method::TOOLS_CALL, params),
                    (&mirrored, Some(asker)),
                    stop,
                ),
            )
            .await
            .and_then(|value| {
                serde_json::from_value::<CallToolResult>(target.secrets().value(value)).map_err(
                    |e| UpstreamError::Malformed {
                        detail: format!("tools/call result: {e}"),
                    },
                )
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

    /// Forgets the upstream as configured, its session (ended at the upstream if it was lent),
    /// its tool list (the stored one is only refreshed behind the next answer) and its
    /// checkers.
    fn forget(&self) {
        match self.target.borrow_mut().take() {
            Some(target) => self.connection.end_lent_session(&target),
            None => self.connection.drop_session(),
        }
        self.cache.borrow_mut().take();
        self.cache_loaded.set(true);
        self.stale.set(true);
        self.checkers.clear();
        self.fetching.borrow_mut().take();
        self.account.forget();
    }

    /// Stops the calls of `execution` still in flight or held, for `reason`: how many.
    pub fn stop(&self, execution: &str, reason: &str) -> u32 {
        self.release(execution);
        let stops = self.running.borrow_mut().remove(execution);
        let calls = stops
            .into_iter()
            .flatten()
            .filter_map(|stop| stop.send(reason.to_owned()).ok())
            .count();
        u32::try_from(calls).unwrap_or(u32::MAX)
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
}
