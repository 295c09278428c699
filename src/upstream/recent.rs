//! Tool lists the Worker isolate has recently been given by the upstreams' objects.
//!
//! `search` and `execute` need every allowed upstream's tools, and each list is a round trip
//! to that upstream's Durable Object. An agent works in bursts (a search, then a few
//! executes, seconds apart), so the Worker keeps each list it was given for
//! [`RECENT_LISTS_MS`] and answers from it. Only complete lists are kept: an upstream that
//! failed or is still connecting is asked again every time. A tool the upstream adds is
//! therefore seen by programs at most [`RECENT_LISTS_MS`] late; one it removes fails, when
//! called in that window, with the upstream's own error.

use std::collections::{BTreeMap, HashMap};

use rmcp::model::Tool;

use super::observed::ObservedType;

/// How long a tool list the Worker was given stays usable without asking again.
pub const RECENT_LISTS_MS: u64 = 2_000;

/// One upstream's tools as its object listed them, with what was learned of their results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// The exposed tools.
    pub tools: Vec<Tool>,
    /// The observed result types of those without `outputSchema`, by tool name.
    pub observed: BTreeMap<String, ObservedType>,
}

/// Upstream name → the listing its object gave, and when.
#[derive(Debug, Default)]
pub struct RecentLists {
    lists: HashMap<String, (u64, Listing)>,
}

impl RecentLists {
    /// `upstream`'s listing if it was given less than [`RECENT_LISTS_MS`] before `now_ms`.
    pub fn get(&self, upstream: &str, now_ms: u64) -> Option<Listing> {
        let (listed_at, listing) = self.lists.get(upstream)?;
        (now_ms.saturating_sub(*listed_at) < RECENT_LISTS_MS).then(|| listing.clone())
    }

    /// Forgets `upstream`'s listing, so the next is asked for.
    pub fn forget(&mut self, upstream: &str) {
        self.lists.remove(upstream);
    }

    /// Keeps `listing` as `upstream`'s at `now_ms`, replacing the one before.
    pub fn put(&mut self, upstream: &str, listing: Listing, now_ms: u64) {
        self.lists.insert(upstream.to_owned(), (now_ms, listing));
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::Arc;

    use serde_json::Map;

    use super::*;

    fn listing(names: &[&'static str]) -> Listing {
        let tools = names
            .iter()
            .map(|name| Tool::new(*name, "a tool", Arc::new(Map::new())));
        Listing {
            tools: tools.collect(),
            observed: BTreeMap::new(),
        }
    }

    #[test]
    fn a_list_is_served_until_it_is_two_seconds_old() {
        let mut recent = RecentLists::default();
        recent.put("inventory", listing(&["list_items"]), 10_000);
        let names = |listing: Option<Listing>| -> Option<Vec<String>> {
            listing.map(|l| l.tools.iter().map(|t| t.name.to_string()).collect())
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
        recent.put("inventory", listing(&["list_items"]), 0);
        recent.put("inventory", listing(&["list_items", "added"]), 1_000);
        assert_eq!(
            recent.get("inventory", 2_500).map(|l| l.tools.len()),
            Some(2)
        );
        assert_eq!(recent.get("everything", 1_000), None);
        recent.forget("inventory");
        assert_eq!(recent.get("inventory", 2_500), None);
    }

    #[test]
    fn a_clock_that_went_back_still_serves_the_list() {
        let mut recent = RecentLists::default();
        recent.put("inventory", listing(&["list_items"]), 5_000);
        assert!(recent.get("inventory", 4_000).is_some());
    }
}
