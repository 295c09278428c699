//! What each upstream's object listed last, as a Worker isolate's executions read it: the
//! lessees of the object's session check calls against these tools, with rules built once per
//! isolate, and keep for the object only the values it can learn a type from.

use std::collections::HashMap;

use rmcp::model::Tool;
use serde_json::Value;

use crate::upstream::health::CachedTools;
use crate::upstream::keeper::Checkers;
use crate::upstream::protocol::{LentValue, UpstreamCommand};

/// How often, at most, an isolate tells an object that its upstream said its tools changed: an
/// upstream may say so in every answer, and each telling has the object fetch the list again.
pub const CHANGE_TOLD_EVERY_MS: u64 = 2_000;

/// One object's tools as listed last, and the rules its lessees built for them.
#[derive(Default)]
struct Listing {
    tools: CachedTools,
    checkers: Checkers,
    /// When this isolate last told the object its tools changed.
    change_told_at_ms: Option<u64>,
}

/// The tools each object listed last, by object.
#[derive(Default)]
pub struct Listings(HashMap<String, Listing>);

impl Listings {
    /// Notes that `object` listed `tools` at `now_ms`; the rules built for its former tools are
    /// dropped when these differ.
    pub fn note(&mut self, object: &str, tools: &[&Tool], now_ms: u64) {
        let listing = self.0.entry(object.to_owned()).or_default();
        if !tools.iter().copied().eq(listing.tools.tools.iter()) {
            listing.tools.tools = tools.iter().map(|tool| (*tool).clone()).collect();
            listing.checkers.clear();
        }
        listing.tools.fetched_at_ms = now_ms;
    }

    /// Keeps `cached` as what `object` listed, as a lessee fetched it itself.
    pub fn save(&mut self, object: &str, cached: &CachedTools) {
        let listing = self.0.entry(object.to_owned()).or_default();
        if cached.tools != listing.tools.tools {
            listing.checkers.clear();
        }
        listing.tools = cached.clone();
    }

    /// What `object` listed, if it listed any tool.
    pub fn tools(&self, object: &str) -> Option<CachedTools> {
        let listing = self.0.get(object)?;
        (!listing.tools.tools.is_empty()).then(|| listing.tools.clone())
    }

    /// The rules the lessees of `object` share.
    pub fn checkers(&mut self, object: &str) -> Checkers {
        self.0
            .entry(object.to_owned())
            .or_default()
            .checkers
            .clone()
    }

    /// Whether to tell `object`, at `now_ms`, that its upstream said its tools changed: not
    /// when this isolate told it less than [`CHANGE_TOLD_EVERY_MS`] before, so a lessee's
    /// upstream that says so in every answer has its object fetch the list at most that often
    /// for this isolate (a change it heard meanwhile is read at the list's TTL, or with the next
    /// telling).
    pub fn change_heard(&mut self, object: &str, now_ms: u64) -> bool {
        let listing = self.0.entry(object.to_owned()).or_default();
        let recent = (listing.change_told_at_ms)
            .is_some_and(|told| now_ms.saturating_sub(told) < CHANGE_TOLD_EVERY_MS);
        if !recent {
            listing.change_told_at_ms = Some(now_ms);
        }
        !recent
    }

    /// What the object is to learn from `value`, which `command` returned in a lent session:
    /// the value of a tool it listed without an `outputSchema`, whose type it learns from
    /// calls; nothing for any other.
    pub fn to_learn(
        &self,
        object: &str,
        command: &UpstreamCommand,
        value: &Value,
    ) -> Option<LentValue> {
        let UpstreamCommand::CallTool { name, person, .. } = command else {
            return None;
        };
        let listing = self.0.get(object)?;
        let tool = listing.tools.tools.iter().find(|tool| tool.name == *name)?;
        tool.output_schema.is_none().then(|| LentValue {
            tool: name.clone(),
            person: person.as_ref().map(|person| person.id.clone()),
            value: value.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;
    use crate::protocol::person::Person;

    fn tool(name: &str, output: Option<Value>) -> Tool {
        let mut tool = json!({"name": name, "inputSchema": {"type": "object"}});
        if let Some(output) = output {
            tool["outputSchema"] = output;
        }
        serde_json::from_value(tool).unwrap()
    }

    fn call(name: &str, person: Option<&str>) -> UpstreamCommand {
        UpstreamCommand::CallTool {
            name: name.into(),
            arguments: None,
            execution: None,
            person: person.map(|id| Person {
                id: id.into(),
                name: id.into(),
                email: None,
                groups: Vec::new(),
            }),
            approval: None,
        }
    }

    #[test]
    fn an_objects_rules_are_kept_while_its_tools_stay_and_dropped_when_they_change() {
        let mut listings = Listings::default();
        let (echo, sum) = (tool("echo", None), tool("sum", None));
        listings.note("docs", &[&echo], 1_000);
        let checkers = listings.checkers("docs");
        listings.note("docs", &[&echo], 2_000);
        assert_eq!(listings.tools("docs").unwrap().fetched_at_ms, 2_000);
        checkers.build(&echo);
        listings.note("docs", &[&echo], 3_000);
        assert_eq!(checkers.len(), 1, "the same tools keep their rules");
        listings.note("docs", &[&echo, &sum], 4_000);
        assert_eq!(checkers.len(), 0, "new tools drop them");
        checkers.build(&echo);
        let fetched = CachedTools {
            tools: vec![sum.clone()],
            ..CachedTools::default()
        };
        listings.save("docs", &fetched);
        assert_eq!(checkers.len(), 0, "a list a lessee fetched drops them too");
        assert_eq!(listings.tools("docs").unwrap().tools, [sum]);
        assert!(listings.tools("github").is_none());
    }

    #[test]
    fn only_a_value_of_a_listed_tool_without_an_output_schema_is_kept_to_learn_from() {
        let mut listings = Listings::default();
        let typed = tool("typed", Some(json!({"type": "object"})));
        listings.note("docs", &[&tool("untyped", None), &typed], 1_000);
        let value = json!({"items": []});
        let learned = listings.to_learn("docs", &call("untyped", Some("key:alice")), &value);
        assert_eq!(
            learned,
            Some(LentValue {
                tool: "untyped".into(),
                person: Some("key:alice".into()),
                value: value.clone(),
            })
        );
        for (object, name) in [
            ("docs", "typed"),
            ("docs", "unlisted"),
            ("github", "untyped"),
        ] {
            assert_eq!(
                listings.to_learn(object, &call(name, None), &value),
                None,
                "{object}.{name}"
            );
        }
        assert_eq!(
            listings.to_learn("docs", &UpstreamCommand::Status, &value),
            None
        );
    }

    #[test]
    fn an_upstream_that_says_its_tools_changed_in_every_answer_has_its_object_told_once_in_a_while()
    {
        let mut listings = Listings::default();
        assert!(listings.change_heard("docs", 1_000));
        assert!(!listings.change_heard("docs", 1_000 + CHANGE_TOLD_EVERY_MS - 1));
        assert!(
            listings.change_heard("github", 1_500),
            "each object has its own"
        );
        assert!(listings.change_heard("docs", 1_000 + CHANGE_TOLD_EVERY_MS));
        assert!(!listings.change_heard("docs", 1_000 + CHANGE_TOLD_EVERY_MS + 1));
    }
}
