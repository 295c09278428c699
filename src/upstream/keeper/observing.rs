//! The keeper's part in learning result types: each value a call of a tool without
//! `outputSchema` returned is recorded for the person whose call it was
//! ([`crate::upstream::observed`]), and the tool list's answer carries what that person's
//! calls taught.

use std::collections::BTreeMap;
use std::rc::Rc;

use rmcp::model::Tool;
use serde_json::Value;

use super::{ToolStore, UpstreamAnswer, UpstreamKeeper};
use crate::upstream::health::Health;
use crate::upstream::observed::{self, Learner, Observations, ObservedType};
use crate::upstream::protocol::LentValue;
use crate::upstream::session::Http;
use crate::upstream::target::Target;

/// How many learners' records an object holds in memory. Past it, the others are read again
/// from storage when next needed, losing what their counts gained since last stored.
const LEARNERS_HELD: usize = 64;

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// Records `value`, which a call of tool `name` by `learner` just returned to the program;
    /// stores the record when it is worth it. Whether the learned type changed, so the tool
    /// list should be read afresh. A tool not called through this object is not known here.
    pub async fn observe(&self, name: &str, value: &Value, learner: &Learner) -> bool {
        let Some(rules) = self.checkers.get(name) else {
            return false;
        };
        self.load_observations(learner).await;
        let recorded = {
            let mut held = self.observations.borrow_mut();
            let observations = held.entry(learner.clone()).or_default();
            let tool = (&rules.tool, rules.definition.as_str());
            observed::record(observations, tool, value, self.http.now_ms())
        };
        if let Some(stored) = &recorded.store {
            self.store.save_observed(learner, name, stored).await;
        }
        recorded.changed
    }

    /// Takes a lessee's report of one execution's calls: their `health` counts as the
    /// object's own, and each of the `observed` values is recorded as [`observe`](Self::observe)
    /// records the object's own calls' (a tool the upstream does not list teaches nothing).
    /// Whether a learned type changed.
    pub(super) async fn take_report(
        self: &Rc<Self>,
        target: &Rc<Target>,
        health: Health,
        observed: Vec<LentValue>,
    ) -> bool {
        self.health.borrow_mut().merge(health);
        let mut taught = false;
        for LentValue {
            tool,
            person,
            value,
        } in observed
        {
            if matches!(self.checker(target, &tool).await, Ok(Some(_))) {
                let learner = Learner::new(person.as_deref());
                taught |= self.observe(&tool, &value, &learner).await;
            }
        }
        taught
    }

    /// What the requests of this keeper came to since the last time this was asked: a
    /// lessee's report to its object.
    pub fn take_health(&self) -> Health {
        std::mem::take(&mut *self.health.borrow_mut())
    }

    /// The tool list's answer for `tools`, with what `learner`'s calls taught of their
    /// results.
    pub(super) async fn tools_answer(&self, tools: Vec<Tool>, learner: &Learner) -> UpstreamAnswer {
        self.load_observations(learner).await;
        let observed: BTreeMap<String, ObservedType> = match self.observations.borrow().get(learner)
        {
            Some(observations) => observed::types(observations, &tools),
            None => BTreeMap::new(),
        };
        UpstreamAnswer::Tools { tools, observed }
    }

    /// Reads what `learner`'s calls taught from storage, unless it is held.
    async fn load_observations(&self, learner: &Learner) {
        if self.observations.borrow().contains_key(learner) {
            return;
        }
        let stored: Observations = self.store.load_observed(learner).await;
        let mut held = self.observations.borrow_mut();
        if held.len() >= LEARNERS_HELD {
            held.clear();
        }
        held.entry(learner.clone()).or_insert(stored);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::executor::block_on;
    use serde_json::json;

    use std::rc::Rc;

    use super::super::testing::{ask, call, keeper, listing, target, tool, Keeper, MemoryStore};
    use super::*;
    use crate::upstream::protocol::UpstreamCommand;
    use crate::upstream::session::fake::{result, FakeHttp};
    use crate::upstream::target::Target;

    /// The tool list's answer for the person with id `person`.
    fn list_for(person: Option<&str>) -> UpstreamCommand {
        UpstreamCommand::ListTools {
            person: person.map(str::to_owned),
        }
    }

    /// A keeper whose upstream lists the one tool `name` and has answered one call of it (so
    /// the keeper knows the tool), its upstream, and its store.
    fn called_once(name: &str) -> (Keeper, Rc<Target>, MemoryStore) {
        let answered = result(json!({"content": [{"type": "text", "text": "{}"}]}));
        let http = FakeHttp::answering([listing(&[tool(name, "A tool.")]), answered]);
        let store = MemoryStore::default();
        let (keeper, target) = (keeper(&http, &store), target(json!({})));
        ask(&keeper, &target, call(name, json!({}), None));
        (keeper, target, store)
    }

    /// The observed types in a tool list's answer.
    fn observed(answer: UpstreamAnswer) -> BTreeMap<String, ObservedType> {
        match answer {
            UpstreamAnswer::Tools { observed, .. } => observed,
            other => panic!("expected tools, got {other:?}"),
        }
    }

    #[test]
    fn what_calls_returned_is_listed_survives_a_restart_and_is_dropped_when_the_tool_changes() {
        let http = FakeHttp::answering([
            listing(&[tool("search", "Find.")]),
            result(
                json!({"content": [{"type": "text", "text": "{\"items\": [{\"title\": \"t\"}]}"}]}),
            ),
        ]);
        let store = MemoryStore::default();
        let target = target(json!({}));
        let first = keeper(&http, &store);
        ask(&first, &target, call("search", json!({"text": "t"}), None));
        let value = json!({"items": [{"title": "t"}]});
        let everyone = Learner::new(None);
        assert!(
            block_on(first.observe("search", &value, &everyone)),
            "a first type is news"
        );
        assert!(
            !block_on(first.observe("search", &value, &everyone)),
            "the same again is not"
        );
        assert!(!block_on(first.observe("unknown", &json!(1), &everyone)));
        let listed = observed(ask(&first, &target, list_for(None)));
        assert_eq!(listed.keys().collect::<Vec<_>>(), ["search"]);
        assert_eq!(listed["search"].results, 2);
        assert_eq!(
            listed["search"].schema["properties"]["items"]["items"]["required"],
            json!(["title"])
        );

        let restarted = keeper(&http, &store);
        let listed = observed(ask(&restarted, &target, list_for(None)));
        assert_eq!(listed["search"].results, 2, "kept in storage");

        http.replies
            .borrow_mut()
            .push_back(listing(&[tool("search", "Find, now with pull requests.")]));
        ask(&restarted, &target, UpstreamCommand::Refresh);
        let listed = observed(ask(&restarted, &target, list_for(None)));
        assert!(listed.is_empty(), "learned under the old definition");
    }

    #[test]
    fn what_one_persons_calls_taught_is_listed_for_them_alone() {
        let (keeper, target, store) = called_once("count_by_label");
        let (alice, bob) = (
            Learner::new(Some("key:alice")),
            Learner::new(Some("key:bob")),
        );
        let planted = json!({"project_falcon_layoffs": 2});
        assert!(block_on(keeper.observe("count_by_label", &planted, &alice)));
        let listed = |person| observed(ask(&keeper, &target, list_for(person)));
        let shown = listed(Some("key:alice"))["count_by_label"]
            .schema
            .to_string();
        assert!(shown.contains("project_falcon_layoffs"), "{shown}");
        assert!(
            listed(Some("key:bob")).is_empty(),
            "bob's calls taught nothing"
        );
        assert!(listed(None).is_empty(), "nor did anyone else's");

        assert!(block_on(keeper.observe(
            "count_by_label",
            &json!({"bug": 1}),
            &bob
        )));
        let shown = listed(Some("key:bob"))["count_by_label"].schema.to_string();
        assert!(!shown.contains("project_falcon"), "{shown}");
        let stored = store.1.borrow();
        assert_eq!(stored.len(), 2, "one record for each");
        assert!(
            stored
                .keys()
                .all(|key| !key.contains("alice") && !key.contains("bob")),
            "storage names nobody: {:?}",
            stored.keys()
        );
    }

    #[test]
    fn many_learners_are_held_in_bounded_memory_and_read_again_from_storage() {
        let (keeper, target, _) = called_once("search");
        for person in 0..=LEARNERS_HELD {
            let learner = Learner::new(Some(&format!("key:p{person}")));
            block_on(keeper.observe("search", &json!({"items": []}), &learner));
        }
        assert!(keeper.observations.borrow().len() <= LEARNERS_HELD);
        let first = observed(ask(&keeper, &target, list_for(Some("key:p0"))));
        assert_eq!(first["search"].results, 1, "read again from storage");
    }
}
