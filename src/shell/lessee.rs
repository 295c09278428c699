//! Tool calls this isolate makes itself, in the sessions the upstreams' objects lend
//! ([`Lease`]): each execution has a keeper per upstream object (a lessee), which makes the
//! execution's calls of that upstream with the checks the object's keeper makes, without a
//! round trip through the object for each call. An object that lends no session (see
//! [`Target::lendable`]) gets the calls, as before.
//!
//! A lessee lives for one execution, so nothing it starts is shared by two requests (workerd
//! binds I/O to the request that started it). What the isolate keeps across requests is
//! data: the leases, each shared out in parts ([`LeaseBook`]), and the tools each object
//! listed last, which the executions' catalogs read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use std::future::Future;

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use worker::{Context, Env};

use super::catalog::forget_listing;
use super::js::{new_secret, now_ms};
use super::objects::{ask_json, ask_text, CallReply};
use super::services::{operator_policy, POLICY};
use super::upstream_object::WorkerHttp;
use crate::codemode::catalog::Catalog;
use crate::config::{Accounts, PUBLIC_URL_VAR};
use crate::execution::objects::Object;
use crate::sandbox::gate::{HeldReply, Sent};
use crate::sandbox::protocol::BridgeReply;
use crate::upstream::client::UpstreamError;
use crate::upstream::health::CachedTools;
use crate::upstream::keeper::{lease_of, ToolStore, UpstreamKeeper};
use crate::upstream::listings::Listings;
use crate::upstream::observed::{Learner, Observations, ObservedResults};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::reports::{HeldValue, Reports};
use crate::upstream::session::{Lease, LeaseBook, Lessor};
use crate::upstream::target::Target;

thread_local! {
    /// The leases this isolate holds.
    static BOOK: RefCell<LeaseBook> = RefCell::default();
    /// What each object listed last, as executions' catalogs read it.
    static LISTED: RefCell<Listings> = RefCell::default();
    /// What lessees' calls came to, until it is reported.
    static REPORTS: RefCell<Reports> = RefCell::default();
    /// The lessees of the executions running here, by execution, to stop when one is
    /// abandoned.
    static RUNNING: RefCell<HashMap<String, Weak<Lessees>>> = RefCell::default();
}

/// A keeper in this isolate, calling in a lent session.
type Lessee = UpstreamKeeper<WorkerHttp, ListedTools>;

/// One execution's lessees, by object.
pub(crate) struct Lessees {
    env: Env,
    /// The request the execution runs in, kept alive for what a lessee starts in the
    /// background and for the reports.
    context: Rc<Context>,
    keepers: RefCell<HashMap<String, Rc<Lessee>>>,
    /// The values the calls returned since the last report, by object.
    values: RefCell<HashMap<String, Vec<HeldValue>>>,
}

impl Lessees {
    /// The lessees of `execution`, none made yet.
    pub(crate) fn new(env: Env, context: Rc<Context>, execution: &str) -> Rc<Self> {
        let lessees = Rc::new(Self {
            env,
            context,
            keepers: RefCell::default(),
            values: RefCell::default(),
        });
        RUNNING.with(|running| {
            let mut running = running.borrow_mut();
            running.retain(|_, lessees| lessees.strong_count() > 0);
            running.insert(execution.to_owned(), Rc::downgrade(&lessees));
        });
        lessees
    }

    /// The answer of the lessee for `object` to `command` (a call, or the answer to what its
    /// upstream asked); `None` when the object lends no session, so the object is to be asked.
    pub(crate) async fn answer(
        &self,
        object: &str,
        command: UpstreamCommand,
    ) -> Option<UpstreamAnswer> {
        if BOOK.with(|book| book.borrow().refuses(object, now_ms())) {
            return None;
        }
        let keeper = Rc::clone(
            self.keepers
                .borrow_mut()
                .entry(object.to_owned())
                .or_insert_with(|| self.lessee(object)),
        );
        let env = &self.env;
        let configure = || async {
            let cache = POLICY.with(Rc::clone);
            let policy = cache.policy(now_ms(), || operator_policy(env)).await;
            let (config, access) = policy.map_err(|e| UpstreamError::Misconfigured {
                detail: e.to_string(),
            })?;
            let lookup = |secret: &str| env.secret(secret).ok().map(|s| s.to_string());
            let public_url = env.var(PUBLIC_URL_VAR).ok().map(|url| url.to_string());
            Target::configured(&config, access, object, public_url, lookup)
        };
        match keeper.answer_configured(configure, command).await {
            UpstreamAnswer::Failed {
                error: UpstreamError::NoLease { .. },
            } => {
                BOOK.with(|book| book.borrow_mut().refuse(object, now_ms()));
                None
            }
            answer => Some(answer),
        }
    }

    /// The bridge's form of a lessee's `answer` to `command`, sent for `object`: the call's
    /// reply, or what its upstream asked. The value a call returned is kept for the object to
    /// learn from ([`Lessees::report`]).
    pub(crate) fn reply(
        &self,
        object: &str,
        command: &UpstreamCommand,
        answer: UpstreamAnswer,
    ) -> Sent<CallReply> {
        if let UpstreamAnswer::Asked {
            call,
            method,
            params,
        } = answer
        {
            return Sent::Asked {
                call,
                method,
                params,
            };
        }
        let reply = BridgeReply::from_answer(answer);
        let held = CallReply::of(&reply);
        if let BridgeReply::Ok { value } = &reply {
            let learned = LISTED.with(|listed| listed.borrow().to_learn(object, command, value));
            if let Some(value) = learned {
                let chars = held.chars();
                let mut values = self.values.borrow_mut();
                let values = values.entry(object.to_owned()).or_default();
                values.push(HeldValue { value, chars });
            }
        }
        Sent::Reply(held)
    }

    /// Holds what the lessees' calls came to since the last time, and sends the isolate's
    /// reports that are due ([`Reports`]), after the response if need be; a report that taught
    /// an object a new result type makes the isolate's recent tool list of it stale.
    pub(crate) fn report(&self) {
        let mut values = std::mem::take(&mut *self.values.borrow_mut());
        let now = now_ms();
        let due = REPORTS.with(|reports| {
            let mut reports = reports.borrow_mut();
            for (object, keeper) in self.keepers.borrow().iter() {
                let values = values.remove(object).unwrap_or_default();
                reports.add(object, keeper.take_health(), values, now);
            }
            reports.due(now)
        });
        for (object, command) in due {
            let told = tell(&self.env, &object, &command);
            self.context.wait_until(async move {
                // A lost report only leaves the operator's counts and a learned type behind.
                if let Some(UpstreamAnswer::Observed { taught: true }) = told.await {
                    forget_listing(&object);
                }
            });
        }
    }

    /// A lessee for `object`.
    fn lessee(&self, object: &str) -> Rc<Lessee> {
        let lessor = Rc::new(ObjectLessor {
            env: self.env.clone(),
            context: Rc::clone(&self.context),
            object: object.to_owned(),
        });
        let store = ListedTools(object.to_owned());
        let http = WorkerHttp::keeping(Rc::clone(&self.context));
        let checkers = LISTED.with(|listed| listed.borrow_mut().checkers(object));
        UpstreamKeeper::lessee(http, store, (lessor, checkers), Box::new(new_secret))
    }
}

/// Stops the calls the lessees of `execution` have in flight, for `reason`, and reports what
/// they came to.
pub(crate) fn stop(execution: &str, reason: &str) {
    let lessees = RUNNING.with(|running| running.borrow_mut().remove(execution));
    if let Some(lessees) = lessees.and_then(|lessees| lessees.upgrade()) {
        for keeper in lessees.keepers.borrow().values() {
            keeper.stop(execution, reason);
        }
        lessees.report();
    }
}

/// Keeps the tools of each upstream `catalog` lists, by the object `accounts` names, for the
/// lessees to check calls against; the rules built for an object's former tools are dropped
/// when they change.
pub(crate) fn listed(catalog: &Catalog, accounts: &Accounts) {
    LISTED.with(|listed| {
        let mut listed = listed.borrow_mut();
        for namespace in catalog.namespaces() {
            if namespace.unavailable.is_none() {
                let tools: Vec<_> = namespace.functions.iter().map(|f| &f.tool).collect();
                listed.note(accounts.object(&namespace.name), &tools, now_ms());
            }
        }
    });
}

/// The upstream's object as the lessor of its session, through the isolate's book: a part of
/// the lease the book holds, else a new lease.
struct ObjectLessor {
    env: Env,
    context: Rc<Context>,
    object: String,
}

impl Lessor for ObjectLessor {
    fn lease(&self, gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>> {
        async move {
            let object = self.object.as_str();
            let held = BOOK.with(|book| {
                let mut book = book.borrow_mut();
                if let Some(gone) = &gone {
                    book.ended(object, gone);
                }
                book.take(object, now_ms())
            });
            if let Some(lease) = held {
                return Ok(lease);
            }
            let command = UpstreamCommand::Lease { gone };
            let answer = ask_json::<UpstreamAnswer>(&self.env, Object::Upstream(object), &command);
            let lease = lease_of(answer.await.map_err(UpstreamError::unreachable)?)?;
            BOOK.with(|book| {
                let mut book = book.borrow_mut();
                let now = now_ms();
                book.hold(object, lease, now);
                book.take(object, now)
            })
            .ok_or_else(|| UpstreamError::unreachable("the lease was used up at once"))
        }
        .boxed_local()
    }

    fn tools_changed(&self) {
        let heard = LISTED.with(|listed| listed.borrow_mut().change_heard(&self.object, now_ms()));
        if !heard {
            return;
        }
        let told = tell(&self.env, &self.object, &UpstreamCommand::Refresh);
        let object = self.object.clone();
        self.context.wait_until(async move {
            // Best effort: the object reads the list again at its TTL either way.
            let _ = told.await;
            forget_listing(&object);
        });
    }
}

/// Sends `command` to `object`, for its answer (`None` when there is none to read). The future
/// owns what it needs, so it can finish after the request.
fn tell(
    env: &Env,
    object: &str,
    command: &UpstreamCommand,
) -> impl Future<Output = Option<UpstreamAnswer>> + 'static {
    let sent =
        serde_json::to_string(command).map(|json| ask_text(env, Object::Upstream(object), json));
    async move { serde_json::from_str(&sent.ok()?.await.ok()?).ok() }
}

/// A lessee's tools: those its object listed last. A lessee learns nothing itself (the values
/// its calls return go to the object in its report), so it reads and keeps no observations.
struct ListedTools(String);

impl ToolStore for ListedTools {
    async fn load(&self) -> Option<CachedTools> {
        LISTED.with(|listed| listed.borrow().tools(&self.0))
    }

    async fn save(&self, cached: &CachedTools) {
        LISTED.with(|listed| listed.borrow_mut().save(&self.0, cached));
    }

    async fn load_observed(&self, _learner: &Learner) -> Observations {
        Observations::new()
    }

    async fn save_observed(&self, _learner: &Learner, _name: &str, _observed: &ObservedResults) {}
}
