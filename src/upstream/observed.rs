//! What the runner learns of the results of the tools that declare no `outputSchema`: the
//! [`Shape`] of the values their calls returned, how many, and when the last came. It is kept
//! per tool in the upstream's object, survives restarts, and counts only while the tool's
//! definition stays the same: a changed tool starts over. The declarations show it as the
//! function's return type, marked as observed.
//!
//! What a person's calls taught is shown to that person only ([`Learner`]): a shape holds the
//! results' field names, and a result's keys may be the caller's own words (a label, a
//! project, a file asked about), so on an upstream people share, one person's calls would
//! otherwise write text into another person's declarations.

use std::collections::BTreeMap;

use rmcp::model::Tool;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shape::Shape;
use crate::digest::{hex, sha256, sha256_hex};

/// What was learned of one tool's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedResults {
    /// The SHA-256 of the tool's definition it was learned under ([`definition`]).
    pub definition: String,
    /// The results' shape, merged.
    pub shape: Shape,
    /// How many results.
    pub results: u32,
    /// When the last came, in milliseconds since the Unix epoch.
    pub last_at_ms: u64,
}

/// What was learned of each tool's results, by tool name.
pub type Observations = BTreeMap<String, ObservedResults>;

/// Whose calls a record was learned from, and so who is shown it: one person, or everyone
/// where the runner signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Learner(Option<String>);

impl Learner {
    /// The person with id `person`, or everyone for `None`.
    pub fn new(person: Option<&str>) -> Self {
        Self(person.map(str::to_owned))
    }

    /// The prefix of the storage keys of this learner's records; the tool's name follows (one
    /// key per tool keeps each value small). A person's holds a digest of their id, so storage
    /// names nobody, and no tool name can make one learner's key another's.
    pub fn storage_prefix(&self) -> String {
        match &self.0 {
            None => "observed:".to_owned(),
            Some(person) => {
                format!("observed@{}:", hex(&sha256(person)[..16]))
            }
        }
    }
}

/// An observed result type as the declarations show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedType {
    /// The results' shape, as JSON Schema.
    pub schema: Value,
    /// How many results it was learned from.
    pub results: u32,
    /// When the last came, in milliseconds since the Unix epoch.
    pub last_at_ms: u64,
}

/// The SHA-256 of `tool`'s definition, as hex: what a learned shape is valid for.
pub fn definition(tool: &Tool) -> String {
    sha256_hex(serde_json::to_string(tool).unwrap_or_default())
}

/// What recording one result did.
#[derive(Debug, Default, PartialEq)]
pub struct Recorded {
    /// Whether the learned shape changed (the first result included), so a declaration written
    /// now differs in its type, not only in its count.
    pub changed: bool,
    /// The record to store when it is worth storing now (its shape changed, or its count
    /// reached a power of two).
    pub store: Option<ObservedResults>,
}

/// Records `value`, returned at `now_ms` by a call of `tool` (whose [`definition`] is
/// `definition`), in `observations`. A tool with an `outputSchema` is not observed.
pub fn record(
    observations: &mut Observations,
    (tool, definition): (&Tool, &str),
    value: &Value,
    now_ms: u64,
) -> Recorded {
    if tool.output_schema.is_some() {
        return Recorded::default();
    }
    let shape = Shape::of(value);
    let name = tool.name.to_string();
    let current = observations
        .get_mut(&name)
        .filter(|observed| observed.definition == definition);
    let (changed, worth_storing) = match current {
        Some(observed) => {
            let merged = observed.shape.clone().merge(shape);
            let changed = merged != observed.shape;
            observed.shape = merged;
            observed.results = observed.results.saturating_add(1);
            observed.last_at_ms = now_ms;
            (changed, changed || observed.results.is_power_of_two())
        }
        None => {
            let observed = ObservedResults {
                definition: definition.to_owned(),
                shape,
                results: 1,
                last_at_ms: now_ms,
            };
            observations.insert(name.clone(), observed);
            (true, true)
        }
    };
    Recorded {
        changed,
        store: worth_storing.then(|| observations[&name].clone()),
    }
}

/// The observed types of those of `tools` that declare no `outputSchema`, learned under their
/// current definitions.
pub fn types<'a>(
    observations: &Observations,
    tools: impl IntoIterator<Item = &'a Tool>,
) -> BTreeMap<String, ObservedType> {
    tools
        .into_iter()
        .filter(|tool| tool.output_schema.is_none())
        .filter_map(|tool| {
            let observed = observations.get(tool.name.as_ref())?;
            (observed.definition == definition(tool)).then(|| {
                let observed_type = ObservedType {
                    schema: observed.shape.schema(),
                    results: observed.results,
                    last_at_ms: observed.last_at_ms,
                };
                (tool.name.to_string(), observed_type)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    fn tool(description: &str, output: Option<Value>) -> Tool {
        let mut tool = json!({"name": "search_issues", "description": description,
                              "inputSchema": {"type": "object"}});
        if let Some(output) = output {
            tool["outputSchema"] = output;
        }
        serde_json::from_value(tool).unwrap()
    }

    /// Whether recording `value` stores a record.
    fn observe(observations: &mut Observations, tool: &Tool, value: Value, at: u64) -> bool {
        record(observations, (tool, &definition(tool)), &value, at)
            .store
            .is_some()
    }

    #[test]
    fn only_a_first_result_or_a_new_shape_counts_as_changed() {
        let issues = tool("Find issues", None);
        let mut observations = Observations::new();
        let mut changed = |value: Value, at| {
            record(
                &mut observations,
                (&issues, &definition(&issues)),
                &value,
                at,
            )
            .changed
        };
        assert!(changed(json!({"items": []}), 1), "the first result");
        assert!(
            !changed(json!({"items": []}), 2),
            "stored (2 results) but not changed"
        );
        assert!(!changed(json!({"items": []}), 3));
        assert!(changed(json!({"items": [], "next": "c"}), 4), "a new field");
        let declared = tool("Typed", Some(json!({"type": "object"})));
        let outcome = record(&mut observations, (&declared, "d"), &json!(1), 5);
        assert_eq!(
            outcome,
            Recorded::default(),
            "a declared type is not learned"
        );
    }

    #[test]
    fn results_are_merged_counted_and_stored_when_they_change_or_double() {
        let tool = tool("Find issues", None);
        let mut observations = Observations::new();
        assert!(observe(
            &mut observations,
            &tool,
            json!({"items": [{"title": "a"}]}),
            10
        ));
        assert!(
            observe(
                &mut observations,
                &tool,
                json!({"items": [{"title": "b"}]}),
                20
            ),
            "2 results"
        );
        assert!(
            !observe(&mut observations, &tool, json!({"items": []}), 30),
            "3: same shape"
        );
        assert!(
            observe(
                &mut observations,
                &tool,
                json!({"items": [], "total": 0}),
                40
            ),
            "changed"
        );
        let types = types(&observations, [&tool]);
        let observed = &types["search_issues"];
        assert_eq!((observed.results, observed.last_at_ms), (4, 40));
        assert_eq!(observed.schema["required"], json!(["items"]));
    }

    #[test]
    fn a_changed_tool_starts_over_and_a_declared_output_schema_is_never_observed() {
        let mut observations = Observations::new();
        let old = tool("Find issues", None);
        observe(&mut observations, &old, json!({"items": []}), 10);
        let changed = tool("Find issues and pull requests", None);
        assert!(
            types(&observations, [&changed]).is_empty(),
            "learned under another definition"
        );
        observe(&mut observations, &changed, json!(["x"]), 20);
        assert_eq!(types(&observations, [&changed])["search_issues"].results, 1);
        let declared = tool("Find issues", Some(json!({"type": "object"})));
        assert!(!observe(&mut observations, &declared, json!({"a": 1}), 30));
        assert!(types(&observations, [&declared]).is_empty());
    }
}
