//! The keeper's part in learning result types: each value a call of a tool without
//! `outputSchema` returned is recorded ([`crate::upstream::observed`]), and the tool list's
//! answer carries what was learned.

use std::collections::BTreeMap;

use rmcp::model::Tool;
use serde_json::Value;

use super::{ToolStore, UpstreamAnswer, UpstreamKeeper};
use crate::upstream::observed::{self, Observations, ObservedType};
use crate::upstream::session::Http;

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// Records `value`, which a call of tool `name` just returned to the program; stores the
    /// record when it is worth it. Whether the learned type changed, so the tool list should
    /// be read afresh. A tool not called through this object is not known here.
    pub async fn observe(&self, name: &str, value: &Value) -> bool {
        let Some(rules) = self.checkers.borrow().get(name).cloned() else {
            return false;
        };
        self.load_observations().await;
        let recorded = {
            let mut observations = self.observations.borrow_mut();
            let observations = observations.get_or_insert_with(Observations::new);
            let tool = (&rules.tool, rules.definition.as_str());
            observed::record(observations, tool, value, self.http.now_ms())
        };
        if let Some(stored) = &recorded.store {
            self.store.save_observed(name, stored).await;
        }
        recorded.changed
    }

    /// The tool list's answer for `tools`, with what was learned of their results.
    pub(super) async fn tools_answer(&self, tools: Vec<Tool>) -> UpstreamAnswer {
        self.load_observations().await;
        let observed: BTreeMap<String, ObservedType> = match &*self.observations.borrow() {
            Some(observations) => observed::types(observations, &tools),
            None => BTreeMap::new(),
        };
        UpstreamAnswer::Tools { tools, observed }
    }

    /// Reads what was learned from storage, the first time.
    async fn load_observations(&self) {
        if self.observations.borrow().is_none() {
            let stored = self.store.load_observed().await;
            self.observations.borrow_mut().get_or_insert(stored);
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::executor::block_on;
    use serde_json::json;

    use super::super::tests::{ask, call, keeper, listing, target, tool, MemoryStore};
    use super::*;
    use crate::upstream::protocol::UpstreamCommand;
    use crate::upstream::session::fake::{result, FakeHttp};

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
        assert!(
            block_on(first.observe("search", &value)),
            "a first type is news"
        );
        assert!(
            !block_on(first.observe("search", &value)),
            "the same again is not"
        );
        assert!(!block_on(first.observe("unknown", &json!(1))));
        let listed = observed(ask(&first, &target, UpstreamCommand::ListTools));
        assert_eq!(listed.keys().collect::<Vec<_>>(), ["search"]);
        assert_eq!(listed["search"].results, 2);
        assert_eq!(
            listed["search"].schema["properties"]["items"]["items"]["required"],
            json!(["title"])
        );

        let restarted = keeper(&http, &store);
        let listed = observed(ask(&restarted, &target, UpstreamCommand::ListTools));
        assert_eq!(listed["search"].results, 2, "kept in storage");

        http.replies
            .borrow_mut()
            .push_back(listing(&[tool("search", "Find, now with pull requests.")]));
        ask(&restarted, &target, UpstreamCommand::Refresh);
        let listed = observed(ask(&restarted, &target, UpstreamCommand::ListTools));
        assert!(listed.is_empty(), "learned under the old definition");
    }
}
