//! Tool lists the Worker isolate has recently been given by the upstreams' objects.
//!
//! `search` and `execute` need every allowed upstream's tools, and each list is a round trip
//! to that upstream's Durable Object. An agent works in bursts (a search, then a few
//! executes, seconds apart), so the Worker keeps each list it was given for
//! [`RECENT_LISTS_MS`] and answers from it. Only complete lists are kept: an upstream that
//! failed or is still connecting is asked again every time. A tool the upstream adds is
//! therefore seen by programs at most [`RECENT_LISTS_MS`] late; one it removes fails, when
//! called in that window, with the upstream's own error.

use std::collections::HashMap;

use rmcp::model::Tool;

/// How long a tool list the Worker was given stays usable without asking again.
pub const RECENT_LISTS_MS: u64 = 2_000;

/// Upstream name → the tools its object listed, and when.
#[derive(Debug, Default)]
pub struct RecentLists {
    lists: HashMap<String, (u64, Vec<Tool>)>,
}

impl RecentLists {
    /// `upstream`'s tools if they were listed less than [`RECENT_LISTS_MS`] before `now_ms`.
    pub fn get(&self, upstream: &str, now_ms: u64) -> Option<Vec<Tool>> {
        let (listed_at, tools) = self.lists.get(upstream)?;
        (now_ms.saturating_sub(*listed_at) < RECENT_LISTS_MS).then(|| tools.clone())
    }

    /// Keeps `tools` as `upstream`'s list at `now_ms`, replacing the one before.
    pub fn put(&mut self, upstream: &str, tools: Vec<Tool>, now_ms: u64) {
        self.lists.insert(upstream.to_owned(), (now_ms, tools));
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::Arc;

    use serde_json::Map;

    use super::*;

    fn tool(name: &'static str) -> Tool {
        Tool::new(name, "a tool", Arc::new(Map::new()))
    }

    #[test]
    fn a_list_is_served_until_it_is_two_seconds_old() {
        let mut recent = RecentLists::default();
        recent.put("inventory", vec![tool("list_items")], 10_000);
        let names = |tools: Option<Vec<Tool>>| -> Option<Vec<String>> {
            tools.map(|t| t.iter().map(|t| t.name.to_string()).collect())
        };
        assert_eq!(
            names(recent.get("inventory", 10_000 + RECENT_LISTS_MS - 1)),
            Some(vec!["list_items".to_owned()])
        );
        assert_eq!(recent.get("inventory", 10_000 + RECENT_LISTS_MS), None);
    }

    #[test]
    fn each_upstream_has_its_own_list_and_a_new_list_replaces_the_old() {
        let mut recent = RecentLists::default();
        recent.put("inventory", vec![tool("list_items")], 0);
        recent.put("inventory", vec![tool("list_items"), tool("added")], 1_000);
        assert_eq!(recent.get("inventory", 2_500).map(|t| t.len()), Some(2));
        assert_eq!(recent.get("everything", 1_000), None);
    }

    #[test]
    fn a_clock_that_went_back_still_serves_the_list() {
        let mut recent = RecentLists::default();
        recent.put("inventory", vec![tool("list_items")], 5_000);
        assert!(recent.get("inventory", 4_000).is_some());
    }
}
