//! The runner's metrics: every audit entry and every `tools/list` folded into one [`Metrics`]
//! value that the ledger Durable Object keeps, and shown two ways: the `runner://metrics` MCP
//! resource (JSON, for an agent or a person) and `GET /metrics` (Prometheus text format, for
//! the operator's scraper).
//!
//! Token savings are estimates at [`CHARS_PER_TOKEN`] characters a token (the benchmarks
//! count real tokens): definitions not sent are what listing every upstream tool would have
//! cost minus what the two code-mode tools cost, per `tools/list`; intermediate results kept
//! out of context are what the tool calls returned inside a program minus the result it
//! returned.

use std::collections::BTreeMap;

use rmcp::model::{Resource, ResourceContents};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit::{Ending, ExecutionAudit};
use crate::codemode::loop_guard::LOOP_LIMIT_ERROR;
use crate::codemode::source::SourceError;
use crate::json_size::json_bytes;
use crate::sandbox::limits::Limit;
use crate::sandbox::protocol::ToolErrorKind;

pub mod ledger;
mod prometheus;

/// The estimate of characters per token used for token savings.
pub const CHARS_PER_TOKEN: u64 = 4;
/// The URI of the metrics resource.
pub const METRICS_URI: &str = "runner://metrics";
/// What `resources/list` says of the metrics resource.
pub fn metrics_resource() -> Resource {
    Resource::new(METRICS_URI, "metrics")
        .with_title("Runner metrics")
        .with_description(
            "Executions, success rate, errors by class, latency (execution, isolate spawn, your \
             upstreams' calls), tool calls and result sizes, and an estimate of the tokens code \
             mode saved, for the whole runner.",
        )
        .with_mime_type("application/json")
}

/// The metrics resource's contents: `summary` as indented JSON.
pub fn metrics_contents(summary: &Value) -> ResourceContents {
    let text = serde_json::to_string_pretty(summary).unwrap_or_default();
    ResourceContents::text(text, METRICS_URI).with_mime_type("application/json")
}

/// The Prometheus text format's content type.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Bucket bounds for durations, in milliseconds.
const DURATION_BOUNDS_MS: &[u64] = &[
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000,
];
/// Bucket bounds for tool calls per execution.
const CALL_COUNT_BOUNDS: &[u64] = &[0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000];
/// Bucket bounds for result sizes, in characters.
const SIZE_BOUNDS_CHARS: &[u64] = &[100, 1_000, 10_000, 100_000, 1_000_000];

/// How many characters of JSON `tools`' definitions take, as a `tools/list` would send them.
pub fn definition_chars<'a>(tools: impl IntoIterator<Item = &'a rmcp::model::Tool>) -> usize {
    tools.into_iter().map(json_bytes).sum()
}

/// Counts of observations per bucket, as Prometheus histograms have them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Each bucket's upper bound, inclusive; the last bucket (past every bound) is `+Inf`.
    bounds: Vec<u64>,
    /// Observations per bucket, not cumulative; one more than `bounds`.
    counts: Vec<u64>,
    /// The sum of every observation.
    sum: u64,
    /// The largest observation.
    max: u64,
}

impl Histogram {
    fn new(bounds: &[u64]) -> Self {
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0,
            max: 0,
        }
    }

    fn observe(&mut self, value: u64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket] += 1;
        self.sum = self.sum.saturating_add(value);
        self.max = self.max.max(value);
    }

    /// How many observations there are.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The upper bound of the bucket holding quantile `q` (the largest observation for the
    /// last bucket); none while empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (bucket, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(
                    self.bounds
                        .get(bucket)
                        .map_or(self.max, |b| *b.min(&self.max)),
                );
            }
        }
        Some(self.max)
    }

    fn summary(&self) -> Value {
        let count = self.count();
        json!({
            "count": count,
            "mean": if count == 0 { 0.0 } else { self.sum as f64 / count as f64 },
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
            "max": self.max,
        })
    }
}

/// Estimated tokens an agent did not have to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokensSaved {
    /// Upstream tool definitions not sent, per `tools/list`.
    pub definitions: u64,
    /// Tool results consumed inside programs instead of read by the agent.
    pub intermediate_results: u64,
}

/// The `person` label of executions run without sign-in.
const ANONYMOUS: &str = "anonymous";

/// JavaScript's own error classes, and what the harness names a thrown value that is not an
/// `Error`.
const JAVASCRIPT_ERRORS: &[&str] = &[
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "AggregateError",
    "AbortError",
    "TimeoutError",
    "NonErrorThrown",
];

/// The label of errors whose name is the program's own.
const OTHER_ERRORS: &str = "other";

/// The label an execution's error is counted under: its name when JavaScript or the runner
/// gives it, else [`OTHER_ERRORS`]. A program names its own errors (`e.name = …`), and the
/// metrics are kept, rewritten with each execution and exported, whatever programs throw, so
/// a program must not add labels; the audit entry keeps the name itself.
fn error_label(name: &str) -> &str {
    let known = JAVASCRIPT_ERRORS.contains(&name)
        || SourceError::NAMES.contains(&name)
        || name == LOOP_LIMIT_ERROR
        || ToolErrorKind::named(name).is_ok();
    if known {
        name
    } else {
        OTHER_ERRORS
    }
}

/// Everything the runner counts, since `since_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// When counting started, in milliseconds since the Unix epoch.
    pub since_ms: u64,
    /// Executions by how they ended.
    pub executions: BTreeMap<Ending, u64>,
    /// Executions, by who ran them (the person's name; `anonymous` without sign-in).
    #[serde(default)]
    pub executions_by_person: BTreeMap<String, u64>,
    /// Executions that failed, by error class (`TypeError`, `LoopLimitExceeded`, …).
    pub errors: BTreeMap<String, u64>,
    /// Executions that hit each limit.
    pub limits_hit: BTreeMap<Limit, u64>,
    /// Tool calls made by programs.
    pub tool_calls: u64,
    /// Failed tool calls, by failure class.
    pub tool_call_errors: BTreeMap<String, u64>,
    /// `tools/list` requests answered.
    pub tool_listings: u64,
    /// Whole executions, in milliseconds.
    pub duration_ms: Histogram,
    /// From loading an isolate to the program starting, in milliseconds.
    pub spawn_ms: Histogram,
    /// Tool calls as programs saw them, by upstream, in milliseconds.
    pub upstream_call_ms: BTreeMap<String, Histogram>,
    /// Tool calls per execution.
    pub calls_per_execution: Histogram,
    /// Result sizes, in characters of JSON.
    pub result_chars: Histogram,
    /// Estimated tokens saved.
    pub tokens_saved: TokensSaved,
}

impl Metrics {
    /// Nothing counted yet, from `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        Self {
            since_ms: now_ms,
            executions: BTreeMap::new(),
            executions_by_person: BTreeMap::new(),
            errors: BTreeMap::new(),
            limits_hit: BTreeMap::new(),
            tool_calls: 0,
            tool_call_errors: BTreeMap::new(),
            tool_listings: 0,
            duration_ms: Histogram::new(DURATION_BOUNDS_MS),
            spawn_ms: Histogram::new(DURATION_BOUNDS_MS),
            upstream_call_ms: BTreeMap::new(),
            calls_per_execution: Histogram::new(CALL_COUNT_BOUNDS),
            result_chars: Histogram::new(SIZE_BOUNDS_CHARS),
            tokens_saved: TokensSaved::default(),
        }
    }

    /// Counts one execution.
    pub fn record_execution(&mut self, entry: &ExecutionAudit) {
        *self.executions.entry(entry.ending).or_default() += 1;
        let person = entry.person.as_ref().map_or(ANONYMOUS, |p| p.name.as_str());
        *self
            .executions_by_person
            .entry(person.to_owned())
            .or_default() += 1;
        if let Some(error) = &entry.error {
            let label = error_label(error).to_owned();
            *self.errors.entry(label).or_default() += 1;
        }
        for limit in &entry.limits_hit {
            *self.limits_hit.entry(*limit).or_default() += 1;
        }
        self.tool_calls += entry.calls_total as u64;
        for call in &entry.calls {
            let upstream = call.tool.split('.').next().unwrap_or_default();
            self.upstream_call_ms
                .entry(upstream.to_owned())
                .or_insert_with(|| Histogram::new(DURATION_BOUNDS_MS))
                .observe(call.ms);
            if let Some(kind) = call.error {
                *self
                    .tool_call_errors
                    .entry(format!("{kind:?}"))
                    .or_default() += 1;
            }
        }
        self.duration_ms.observe(entry.ms);
        if let Some(spawn_ms) = entry.spawn_ms {
            self.spawn_ms.observe(spawn_ms);
        }
        if entry.ending != Ending::Refused {
            self.calls_per_execution.observe(entry.calls_total as u64);
            self.result_chars.observe(entry.result_chars as u64);
        }
        let kept_out = entry.call_result_chars.saturating_sub(entry.result_chars);
        self.tokens_saved.intermediate_results += kept_out as u64 / CHARS_PER_TOKEN;
    }

    /// Counts one `tools/list` answered with `served_chars` of definitions where listing the
    /// upstream tools themselves would have taken `upstream_chars`.
    pub fn record_listing(&mut self, upstream_chars: usize, served_chars: usize) {
        self.tool_listings += 1;
        self.tokens_saved.definitions +=
            upstream_chars.saturating_sub(served_chars) as u64 / CHARS_PER_TOKEN;
    }

    /// How many executions there were.
    pub fn execution_count(&self) -> u64 {
        self.executions.values().sum()
    }

    /// The share of executions whose program returned; none before the first.
    pub fn success_rate(&self) -> Option<f64> {
        let total = self.execution_count();
        let returned = self.executions.get(&Ending::Returned).copied().unwrap_or(0);
        (total > 0).then(|| returned as f64 / total as f64)
    }

    /// The metrics as the `runner://metrics` resource shows them: counts, rates and latency
    /// quantiles, with per-upstream figures only for `upstreams` (the caller's own).
    pub fn summary(&self, upstreams: &[String]) -> Value {
        let upstream_calls: BTreeMap<&String, Value> = self
            .upstream_call_ms
            .iter()
            .filter(|(name, _)| upstreams.contains(name))
            .map(|(name, histogram)| (name, histogram.summary()))
            .collect();
        json!({
            "sinceMs": self.since_ms,
            "executions": self.execution_count(),
            "successRate": self.success_rate(),
            "endings": self.executions,
            "errors": self.errors,
            "limitsHit": self.limits_hit,
            "toolCalls": self.tool_calls,
            "toolCallErrors": self.tool_call_errors,
            "toolListings": self.tool_listings,
            "latencyMs": {
                "execution": self.duration_ms.summary(),
                "isolateSpawn": self.spawn_ms.summary(),
                "upstreamCalls": upstream_calls,
            },
            "callsPerExecution": self.calls_per_execution.summary(),
            "resultChars": self.result_chars.summary(),
            "tokensSavedEstimate": {
                "definitions": self.tokens_saved.definitions,
                "intermediateResults": self.tokens_saved.intermediate_results,
                "total": self.tokens_saved.definitions + self.tokens_saved.intermediate_results,
                "charsPerToken": CHARS_PER_TOKEN,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sandbox::protocol::{CallTrace, ToolErrorKind};

    pub(super) fn entry(
        ending: Ending,
        calls: &[(&str, u64, Option<ToolErrorKind>)],
    ) -> ExecutionAudit {
        let mut entry =
            ExecutionAudit::begin(0, "e".into(), None, None, "return 1;", vec!["a".into()]);
        entry.ending = ending;
        entry.calls = calls
            .iter()
            .map(|(tool, ms, error)| CallTrace {
                tool: (*tool).into(),
                ms: *ms,
                ok: error.is_none(),
                error: *error,
                approval: None,
                replayed: false,
            })
            .collect();
        entry.calls_total = calls.len();
        entry.spawn_ms = Some(3);
        entry.ms = 40;
        entry
    }

    #[test]
    fn a_histogram_puts_each_value_in_the_first_bucket_it_fits() {
        let mut histogram = Histogram::new(&[10, 100]);
        for value in [0, 10, 11, 100, 5_000] {
            histogram.observe(value);
        }
        assert_eq!(histogram.counts, [2, 2, 1]);
        assert_eq!(histogram.count(), 5);
        assert_eq!(histogram.quantile(0.4), Some(10));
        assert_eq!(histogram.quantile(0.8), Some(100));
        assert_eq!(
            histogram.quantile(1.0),
            Some(5_000),
            "past every bound: the max"
        );
        assert_eq!(Histogram::new(&[1]).quantile(0.5), None);
    }

    #[test]
    fn executions_are_counted_by_ending_error_upstream_and_limit() {
        let mut metrics = Metrics::new(0);
        let mut returned = entry(
            Ending::Returned,
            &[
                ("a.f", 7, None),
                ("b.g", 30, Some(ToolErrorKind::UpstreamTimeout)),
            ],
        );
        returned.call_result_chars = 4_000;
        returned.result_chars = 400;
        metrics.record_execution(&returned);
        let mut threw = entry(Ending::Threw, &[]);
        threw.error = Some("LoopLimitExceeded".into());
        threw.limits_hit = vec![Limit::MaxLoopIterations];
        metrics.record_execution(&threw);
        metrics.record_listing(10_000, 2_000);

        assert_eq!(metrics.execution_count(), 2);
        assert_eq!(metrics.success_rate(), Some(0.5));
        assert_eq!(metrics.errors["LoopLimitExceeded"], 1);
        assert_eq!(metrics.limits_hit[&Limit::MaxLoopIterations], 1);
        assert_eq!(metrics.tool_calls, 2);
        assert_eq!(metrics.tool_call_errors["UpstreamTimeout"], 1);
        assert_eq!(metrics.upstream_call_ms["b"].count(), 1);
        assert_eq!(metrics.tokens_saved.intermediate_results, 900);
        assert_eq!(metrics.tokens_saved.definitions, 2_000);
        assert_eq!(metrics.tool_listings, 1);
    }

    #[test]
    fn a_programs_own_error_names_are_counted_as_other() {
        let mut metrics = Metrics::new(0);
        for name in [
            "UpstreamToolError",
            "CodeTooLarge",
            "x".repeat(10_000).as_str(),
            "Mine",
        ] {
            let mut named = entry(Ending::Threw, &[]);
            named.error = Some(name.to_owned());
            metrics.record_execution(&named);
        }
        let labels: Vec<&str> = metrics.errors.keys().map(String::as_str).collect();
        assert_eq!(
            labels,
            ["CodeTooLarge", "UpstreamToolError", "other"],
            "a program's own error names are counted as other"
        );
        assert_eq!(metrics.errors["other"], 2);
    }

    #[test]
    fn the_summary_shows_only_the_callers_upstreams() {
        let mut metrics = Metrics::new(0);
        metrics.record_execution(&entry(
            Ending::Returned,
            &[("mine.f", 5, None), ("theirs.g", 5, None)],
        ));
        let summary = metrics.summary(&["mine".to_owned()]);
        let upstreams = summary["latencyMs"]["upstreamCalls"].as_object().unwrap();
        assert_eq!(upstreams.keys().collect::<Vec<_>>(), ["mine"]);
        assert_eq!(summary["successRate"], 1.0);
        assert_eq!(summary["endings"]["returned"], 1);
        assert_eq!(
            summary["latencyMs"]["isolateSpawn"]["p50"], 3,
            "capped at the max"
        );
    }
}
