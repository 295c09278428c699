//! What the keeper's tests share: an in-memory store, a keeper over a scripted upstream, the
//! upstream `fake` as configured, and helpers to list, call and ask.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::executor::block_on;
use rmcp::model::Tool;
use serde_json::{json, Value};

use super::{CachedTools, Target, ToolStore, UpstreamAnswer, UpstreamCommand, UpstreamKeeper};
use crate::config::{AccessPolicy, RunnerConfig};
use crate::upstream::oauth::testing::{counter, MemoryVault};
use crate::upstream::observed::{Learner, Observations, ObservedResults};
use crate::upstream::session::fake::{result, FakeHttp, Reply};

/// The value of the fake upstream's secret, `FAKE_TOKEN`.
pub(super) const SECRET: &str = "t0ken-value";

/// A store in memory, shared with the test: the tool list, and what was learned of results
/// by storage key.
#[derive(Clone, Default)]
pub(super) struct MemoryStore(
    pub(super) Rc<RefCell<Option<CachedTools>>>,
    pub(super) Rc<RefCell<BTreeMap<String, ObservedResults>>>,
);

impl ToolStore for MemoryStore {
    async fn load(&self) -> Option<CachedTools> {
        self.0.borrow().clone()
    }

    async fn save(&self, cached: &CachedTools) {
        *self.0.borrow_mut() = Some(cached.clone());
    }

    async fn load_observed(&self, learner: &Learner) -> Observations {
        let prefix = learner.storage_prefix();
        let stored = self.1.borrow();
        let learned = stored.iter().filter_map(|(key, observed)| {
            let name = key.strip_prefix(&prefix)?;
            Some((name.to_owned(), observed.clone()))
        });
        learned.collect()
    }

    async fn save_observed(&self, learner: &Learner, name: &str, observed: &ObservedResults) {
        let key = format!("{}{name}", learner.storage_prefix());
        self.1.borrow_mut().insert(key, observed.clone());
    }
}

pub(super) type Keeper = Rc<UpstreamKeeper<Rc<FakeHttp>, MemoryStore>>;

pub(super) fn keeper(http: &Rc<FakeHttp>, store: &MemoryStore) -> Keeper {
    UpstreamKeeper::new(
        Rc::clone(http),
        store.clone(),
        Box::new(MemoryVault::default()),
        counter(),
    )
}

/// The upstream `fake`, whose `Authorization` header holds [`SECRET`], with `extra`
/// configuration.
pub(super) fn target(extra: Value) -> Rc<Target> {
    Rc::new(configured(extra))
}

/// The upstream of [`target`], not yet shared.
pub(super) fn configured(extra: Value) -> Target {
    let mut entry = json!({"name": "fake", "url": "http://127.0.0.1:9/mcp",
                           "headers": {"Authorization": "Bearer ${FAKE_TOKEN}"}});
    entry
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let config = RunnerConfig::from_json(&json!([entry]).to_string()).unwrap();
    let lookup = |_: &str| Some(SECRET.to_owned());
    let public_url = Some("https://runner.example".to_owned());
    Target::configured(&config, AccessPolicy::default(), "fake", public_url, lookup).unwrap()
}

pub(super) fn tool(name: &str, description: &str) -> Tool {
    serde_json::from_value(json!({
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}},
                        "required": ["text"]},
    }))
    .unwrap()
}

pub(super) fn listing(tools: &[Tool]) -> Reply {
    result(json!({"tools": tools}))
}

pub(super) fn ask(
    keeper: &Keeper,
    target: &Rc<Target>,
    command: UpstreamCommand,
) -> UpstreamAnswer {
    block_on(keeper.answer(target, command))
}

pub(super) fn call(name: &str, arguments: Value, execution: Option<&str>) -> UpstreamCommand {
    UpstreamCommand::CallTool {
        name: name.into(),
        arguments: arguments.as_object().cloned(),
        execution: execution.map(str::to_owned),
        person: None,
        approval: None,
    }
}

pub(super) fn sent(http: &FakeHttp, method: &str) -> usize {
    http.received
        .borrow()
        .iter()
        .filter(|r| r.method() == method)
        .count()
}

pub(super) fn names(answer: &UpstreamAnswer) -> Vec<String> {
    match answer {
        UpstreamAnswer::Tools { tools, .. } => tools.iter().map(|t| t.name.to_string()).collect(),
        other => panic!("expected tools, got {other:?}"),
    }
}
