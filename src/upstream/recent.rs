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

/// The listings objects gave, by object and by the person they were given for (their
/// observed types are that person's), with when.
#[derive(Debug, Default)]
pub struct RecentLists {
    lists: HashMap<(String, Option<String>), (u64, Listing)>,
}

impl RecentLists {
    /// The listing `upstream`'s object gave for `person`, if given less than
    /// [`RECENT_LISTS_MS`] before `now_ms`.
    pub fn get(&self, upstream: &str, person: Option<&str>, now_ms: u64) -> Option<Listing> {
        let key = (upstream.to_owned(), person.map(str::to_owned));
        let (listed_at, listing) = self.lists.get(&key)?;
        is_recent(*listed_at, now_ms).then(|| listing.clone())
    }

    /// Forgets every listing of `upstream`, so the next is asked for.
    pub fn forget(&mut self, upstream: &str) {
        self.lists.retain(|(object, _), _| object != upstream);
    }

    /// Keeps `listing` as the one `upstream`'s object gave for `person` at `now_ms`, replacing
    /// the one before; listings too old to serve are dropped, so an isolate serving many
    /// people holds only the last two seconds' worth.
    pub fn put(&mut self, upstream: &str, person: Option<&str>, listing: Listing, now_ms: u64) {
        self.lists
            .retain(|_, (listed_at, _)| is_recent(*listed_at, now_ms));
        let key = (upstream.to_owned(), person.map(str::to_owned));
        self.lists.insert(key, (now_ms, listing));
    }
}

/// Whether a listing given at `listed_at` may still be served at `now_ms`; a clock that went
/// back serves it.
fn is_recent(listed_at: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(listed_at) < RECENT_LISTS_MS
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
        recent.put("inventory", None, listing(&["list_items"]), 10_000);
        let names = |listing: Option<Listing>| -> Option<Vec<String>> {
            listing.map(|l| l.tools.iter().map(|t| t.name.to_string()).collect())
        };
        assert_eq!(
            names(recent.get("inventory", None, 10_000 + RECENT_LISTS_MS - 1)),
            Some(vec!["list_items".to_owned()])
        );
        assert_eq!(
            recent.get("inventory", None, 10_000 + RECENT_LISTS_MS),
            None
        );
    }

    #[test]
    fn each_upstream_has_its_own_list_and_a_new_list_replaces_the_old() {
        let mut recent = RecentLists::default();
        recent.put("inventory", None, listing(&["list_items"]), 0);
        recent.put("inventory", None, listing(&["list_items", "added"]), 1_000);
        assert_eq!(
            recent.get("inventory", None, 2_500).map(|l| l.tools.len()),
            Some(2)
        );
        assert_eq!(recent.get("everything", None, 1_000), None);
        recent.forget("inventory");
        assert_eq!(recent.get("inventory", None, 2_500), None);
    }

    #[test]
    fn a_list_given_for_one_person_is_never_served_to_another() {
        let mut recent = RecentLists::default();
        recent.put("tracker", Some("key:alice"), listing(&["search"]), 0);
        assert!(recent.get("tracker", Some("key:alice"), 1).is_some());
        assert_eq!(recent.get("tracker", Some("key:bob"), 1), None);
        assert_eq!(recent.get("tracker", None, 1), None);
        recent.put("tracker", Some("key:bob"), listing(&["search"]), 1);
        recent.forget("tracker");
        assert_eq!(
            recent.get("tracker", Some("key:bob"), 2),
            None,
            "all forgotten"
        );
    }

    #[test]
    fn lists_too_old_to_serve_are_dropped_when_another_is_kept() {
        let mut recent = RecentLists::default();
        for person in 0..100 {
            let person = format!("key:p{person}");
            recent.put("tracker", Some(&person), listing(&["search"]), 0);
        }
        recent.put("tracker", None, listing(&["search"]), RECENT_LISTS_MS);
        assert_eq!(recent.lists.len(), 1);
    }

    #[test]
    fn a_clock_that_went_back_still_serves_the_list() {
        let mut recent = RecentLists::default();
        recent.put("inventory", None, listing(&["list_items"]), 5_000);
        assert!(recent.get("inventory", None, 4_000).is_some());
    }
}
