//! The keeper's tool list: read from storage, fetched (page by page, capped, redacted) once
//! for everyone waiting, each tool's argument checker, and the health every request records.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::FutureExt;
use rmcp::model::{ListToolsResult, Tool};
use serde_json::json;

use super::{SharedFetch, ToolStore, UpstreamKeeper};
use crate::protocol::method;
use crate::upstream::arguments::ArgumentChecker;
use crate::upstream::client::UpstreamError;
use crate::upstream::health::{CachedTools, UpstreamStatus};
use crate::upstream::observed;
use crate::upstream::param_headers::ParamHeaders;
use crate::upstream::session::{never, Http};
use crate::upstream::target::Target;
use crate::upstream::tool_caps::ToolBudget;

/// Pages of `tools/list` followed before giving up on a server that never stops paginating.
const MAX_TOOL_PAGES: usize = 50;

/// Each tool's rules, by name, as keepers build them: one keeper's own, or shared by the
/// lessees of one object in a Worker's isolate, so a tool's input schema is compiled once
/// there rather than for every execution. Whoever shares them clears them when the tools
/// change.
#[derive(Clone, Default)]
pub struct Checkers(Rc<RefCell<HashMap<String, Rc<ToolRules>>>>);

impl Checkers {
    /// Forgets every tool's rules.
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// Tool `name`'s rules, if built.
    pub(super) fn get(&self, name: &str) -> Option<Rc<ToolRules>> {
        self.0.borrow().get(name).cloned()
    }

    /// Keeps `rules` as tool `name`'s.
    pub(super) fn insert(&self, name: &str, rules: Rc<ToolRules>) {
        self.0.borrow_mut().insert(name.to_owned(), rules);
    }
}

#[cfg(test)]
impl Checkers {
    /// Builds `tool`'s rules, as a keeper's first call of it does.
    pub(crate) fn build(&self, tool: &Tool) {
        self.insert(&tool.name, ToolRules::of(tool));
    }

    /// How many tools' rules are built.
    pub(crate) fn len(&self) -> usize {
        self.0.borrow().len()
    }
}

/// What a call of one tool is checked against and sends along.
pub(super) struct ToolRules {
    /// The tool as listed, whose annotations the operator's policy may read.
    pub(super) tool: Tool,
    /// Its input schema, compiled.
    pub(super) arguments: ArgumentChecker,
    /// The arguments it mirrors into headers.
    pub(super) mirrored: ParamHeaders,
    /// The SHA-256 of its definition, which what is learned of its results is valid for.
    pub(super) definition: String,
}

impl ToolRules {
    /// The rules of `tool`, its input schema compiled.
    fn of(tool: &Tool) -> Rc<Self> {
        Rc::new(Self {
            tool: tool.clone(),
            arguments: ArgumentChecker::new(&tool.input_schema),
            mirrored: ParamHeaders::of(tool).unwrap_or_default(),
            definition: observed::definition(tool),
        })
    }
}

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// The rules of tool `name`'s calls (compiled once, from the listed tool), or `None` when
    /// the upstream lists no such tool. A name missing from the cached list is looked for once
    /// more in a fresh list: the tool may be new.
    pub(super) async fn checker(
        self: &Rc<Self>,
        target: &Rc<Target>,
        name: &str,
    ) -> Result<Option<Rc<ToolRules>>, UpstreamError> {
        if let Some(checker) = self.checkers.get(name) {
            return Ok(Some(checker));
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
        let checker = ToolRules::of(tool);
        self.checkers.insert(name, Rc::clone(&checker));
        Ok(Some(checker))
    }

    /// The cached list, read from storage the first time. A stored list is redacted again as it
    /// is read, for a list stored before a secret was configured or changed.
    pub(super) async fn cached(&self, target: &Target) -> Option<Rc<CachedTools>> {
        if !self.cache_loaded.get() {
            let stored = self.store.load().await;
            self.cache_loaded.set(true);
            if self.cache.borrow().is_none() {
                *self.cache.borrow_mut() = stored.map(|stored| {
                    Rc::new(CachedTools {
                        tools: target.secrets().tools(stored.tools),
                        ..stored
                    })
                });
            }
        }
        self.cache.borrow().clone()
    }

    /// Fetches the tool list and stores it; a fetch already in progress is joined rather than
    /// repeated. The fetch runs to its end even if every caller stops waiting.
    pub(super) fn fetch_tools(self: &Rc<Self>, target: &Rc<Target>) -> SharedFetch {
        if let Some(fetching) = self.fetching.borrow().as_ref() {
            return fetching.clone();
        }
        let (this, target) = (Rc::clone(self), Rc::clone(target));
        let fetch = async move {
            let outcome = this.timed(&target, this.list_tools(&target)).await;
            this.fetching.borrow_mut().take();
            // Redacted before it is stored: a tool list reaches the model, the sandbox's
            // manifest and the operator's counts.
            let (tools, left_out) = outcome?;
            let cached = CachedTools {
                tools: target.secrets().tools(tools),
                fetched_at_ms: this.http.now_ms(),
                left_out,
            };
            this.store.save(&cached).await;
            let cached = Rc::new(cached);
            *this.cache.borrow_mut() = Some(Rc::clone(&cached));
            this.stale.set(false);
            this.checkers.clear();
            Ok(cached)
        }
        .boxed_local()
        .shared();
        *self.fetching.borrow_mut() = Some(fetch.clone());
        self.http.spawn(fetch.clone().map(drop));
        fetch
    }

    /// Every page of the upstream's tool list, each tool capped, within the list's budget:
    /// the tools kept, and how many were left out.
    pub(super) async fn list_tools(
        self: &Rc<Self>,
        target: &Rc<Target>,
    ) -> Result<(Vec<Tool>, usize), UpstreamError> {
        let mut budget = ToolBudget::default();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_TOOL_PAGES {
            let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
            let page = self
                .request(target, (method::TOOLS_LIST, params), (&[], None), never())
                .await?;
            let page: ListToolsResult =
                serde_json::from_value(page).map_err(|e| UpstreamError::Malformed {
                    detail: format!("tools/list result: {e}"),
                })?;
            // A tool whose header markings are invalid is left out (SEP-2243).
            let valid = page.tools.into_iter();
            budget.add(
                valid
                    .filter(|tool| ParamHeaders::of(tool).is_ok())
                    .collect(),
            );
            match page.next_cursor {
                Some(next) if !budget.is_full() => cursor = Some(next),
                _ => return Ok(budget.finish()),
            }
        }
        Err(UpstreamError::Malformed {
            detail: format!("tools/list had over {MAX_TOOL_PAGES} pages"),
        })
    }

    /// Runs `work` against the upstream, recording its outcome in the health and removing
    /// secrets from its error.
    pub(super) async fn timed<T>(
        &self,
        target: &Target,
        work: impl std::future::Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let started = self.http.now_ms();
        let outcome = work
            .await
            .map_err(|error| error.redacted(&target.secrets()));
        let now = self.http.now_ms();
        let mut health = self.health.borrow_mut();
        match &outcome {
            Ok(_) => health.record_success(now, now - started),
            // The client's choice, and a person yet to sign in, say nothing about the upstream.
            Err(UpstreamError::Cancelled { .. } | UpstreamError::AuthorizationRequired { .. }) => {}
            Err(error) => health.record_failure(now, error),
        }
        outcome
    }

    pub(super) async fn status(&self, target: &Target) -> UpstreamStatus {
        let cached = self.cached(target).await;
        let fresh = cached.as_ref().is_some_and(|c| {
            !self.stale.get() && c.is_fresh(self.http.now_ms(), target.config.tools_ttl_seconds)
        });
        UpstreamStatus::new(
            &target.config.name,
            cached.as_deref(),
            cached.as_ref().map(|c| target.exposed(c).count()),
            fresh,
            &self.health.borrow(),
        )
    }
}

#[cfg(test)]
mod tests;
