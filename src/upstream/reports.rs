//! What lessees' calls came to ([`Lease`](super::session::Lease)), held in a Worker's isolate
//! until it is reported to each upstream's object: the calls' health, which the object counts
//! as its own, and the values they returned, which it learns from. A report is a request to the
//! object, which the lease saves a call, so the isolate sends at most one per object each
//! [`REPORT_EVERY_MS`], but at once when the object needs it now: a failure (the operator's
//! view of the upstream), or a value whose shape the person's declarations may not show yet
//! (their next `search` should). The isolate tells that by the shapes it reported: a value
//! that widens none of them widens none of the object's either, since the object learned them
//! all.

use std::collections::HashMap;

use super::health::Health;
use super::protocol::{LentValue, UpstreamCommand};
use super::shape::Shape;

/// How long an isolate holds what is not needed at once before reporting it.
pub const REPORT_EVERY_MS: u64 = 1_000;

/// The most characters of values (as the programs got them) held for one object; past it,
/// further values teach nothing, as sending them would cost what the lease saves.
pub const REPORTED_VALUE_CHARS: usize = 256 * 1024;

/// The most shapes an isolate keeps; past it, it forgets them all, and reports the next value
/// of each tool at once again.
const SHAPES_KEPT: usize = 4_096;

/// A value a lessee's call returned, as the isolate holds it for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldValue {
    /// The value, with its tool and person.
    pub value: LentValue,
    /// Its characters, as the program got it.
    pub chars: usize,
}

/// Whose results of which tool of which object a shape was learned from.
type ShapeKey = (String, Option<String>, String);

/// What is held for each object.
#[derive(Debug, Default)]
pub struct Reports {
    pending: HashMap<String, Pending>,
    /// The shapes of the values this isolate reported, merged.
    shapes: HashMap<ShapeKey, Shape>,
}

/// Merges `shape` into the one kept under `key`: whether that widened it (a first shape does).
fn widens(shapes: &mut HashMap<ShapeKey, Shape>, key: ShapeKey, shape: Shape) -> bool {
    if shapes.len() >= SHAPES_KEPT && !shapes.contains_key(&key) {
        shapes.clear();
    }
    match shapes.get_mut(&key) {
        Some(kept) => {
            let merged = kept.clone().merge(shape);
            let widened = merged != *kept;
            *kept = merged;
            widened
        }
        None => {
            shapes.insert(key, shape);
            true
        }
    }
}

/// What is held for one object.
#[derive(Debug, Default)]
struct Pending {
    health: Health,
    values: Vec<LentValue>,
    chars: usize,
    /// When the oldest of it came.
    since_ms: u64,
    /// Whether the object needs it now.
    urgent: bool,
}

impl Reports {
    /// Holds what one execution's lessee of `object` came to at `now_ms`.
    pub fn add(&mut self, object: &str, health: Health, values: Vec<HeldValue>, now_ms: u64) {
        if health == Health::default() && values.is_empty() {
            return;
        }
        let pending = self
            .pending
            .entry(object.to_owned())
            .or_insert_with(|| Pending {
                since_ms: now_ms,
                ..Pending::default()
            });
        pending.urgent |= health.failures > 0;
        pending.health.merge(health);
        for held in values {
            if pending.chars + held.chars > REPORTED_VALUE_CHARS {
                continue;
            }
            pending.chars += held.chars;
            let LentValue { tool, person, .. } = &held.value;
            let key = (object.to_owned(), person.clone(), tool.clone());
            pending.urgent |= widens(&mut self.shapes, key, Shape::of(&held.value.value));
            pending.values.push(held.value);
        }
    }

    /// The reports due at `now_ms`, taken: each object's that is needed now or was held
    /// [`REPORT_EVERY_MS`].
    pub fn due(&mut self, now_ms: u64) -> Vec<(String, UpstreamCommand)> {
        let due: Vec<String> = (self.pending.iter())
            .filter(|(_, p)| p.urgent || now_ms >= p.since_ms + REPORT_EVERY_MS)
            .map(|(object, _)| object.clone())
            .collect();
        due.into_iter()
            .filter_map(|object| {
                let pending = self.pending.remove(&object)?;
                let command = UpstreamCommand::Report {
                    health: pending.health,
                    observed: pending.values,
                };
                Some((object, command))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::{json, Value};

    use super::*;
    use crate::upstream::client::UpstreamError;

    fn held(tool: &str, chars: usize, value: Value) -> HeldValue {
        HeldValue {
            value: LentValue {
                tool: tool.into(),
                person: None,
                value,
            },
            chars,
        }
    }

    fn successes(count: u64) -> Health {
        let mut health = Health::default();
        (0..count).for_each(|i| health.record_success(1_000 + i, 3));
        health
    }

    fn reported(due: Vec<(String, UpstreamCommand)>) -> Vec<(String, u64, usize)> {
        due.into_iter()
            .map(|(object, command)| match command {
                UpstreamCommand::Report { health, observed } => {
                    (object, health.successes + health.failures, observed.len())
                }
                other => panic!("expected a report, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn what_the_object_knows_already_waits_and_goes_in_one_report() {
        let mut reports = Reports::default();
        reports.add(
            "docs",
            successes(1),
            vec![held("search", 10, json!({"n": 1}))],
            4_000,
        );
        assert_eq!(
            reported(reports.due(4_000)),
            [("docs".to_owned(), 1, 1)],
            "a first shape"
        );
        reports.add(
            "docs",
            successes(2),
            vec![held("search", 10, json!({"n": 2}))],
            5_000,
        );
        reports.add(
            "docs",
            successes(3),
            vec![held("search", 10, json!({"n": 3}))],
            5_400,
        );
        assert_eq!(reported(reports.due(5_000 + REPORT_EVERY_MS - 1)), []);
        assert_eq!(
            reported(reports.due(5_000 + REPORT_EVERY_MS)),
            [("docs".to_owned(), 5, 2)]
        );
        assert_eq!(reported(reports.due(99_000)), [], "taken once");
        reports.add("docs", Health::default(), Vec::new(), 99_000);
        assert_eq!(reported(reports.due(200_000)), [], "nothing is no report");
    }

    #[test]
    fn a_failure_or_a_value_that_widens_a_shape_is_reported_at_once() {
        let mut reports = Reports::default();
        reports.add(
            "wiki",
            successes(1),
            vec![held("read", 10, json!({"n": 1}))],
            4_000,
        );
        reports.due(4_000);
        let mut failed = Health::default();
        failed.record_failure(5_000, &UpstreamError::SessionExpired);
        reports.add("docs", failed, Vec::new(), 5_000);
        let widened = json!({"n": null, "more": "x"});
        reports.add(
            "notes",
            successes(1),
            vec![held("list", 10, widened)],
            5_000,
        );
        reports.add(
            "wiki",
            successes(1),
            vec![held("read", 10, json!({"n": 2}))],
            5_000,
        );
        let mut due = reported(reports.due(5_000));
        due.sort();
        assert_eq!(due, [("docs".to_owned(), 1, 0), ("notes".to_owned(), 1, 1)]);
        let wider = json!({"n": 3, "note": "new field"});
        reports.add("wiki", successes(1), vec![held("read", 10, wider)], 5_100);
        assert_eq!(reported(reports.due(5_100)), [("wiki".to_owned(), 2, 2)]);
    }

    #[test]
    fn values_past_their_characters_are_left_out_and_the_health_still_counts() {
        let mut reports = Reports::default();
        let value = || json!({"n": 1});
        let big = held("read", REPORTED_VALUE_CHARS - 5, value());
        let values = vec![big, held("read", 10, value()), held("read", 5, value())];
        reports.add("wiki", successes(3), values, 0);
        assert_eq!(
            reported(reports.due(REPORT_EVERY_MS)),
            [("wiki".to_owned(), 3, 2)]
        );
    }
}
