//! The metrics in the Prometheus text exposition format, for the operator's scraper
//! (`GET /metrics`): counters by label, and histograms with cumulative buckets, durations in
//! seconds.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::{Histogram, Metrics};

impl Metrics {
    /// The metrics in the Prometheus text exposition format (durations in seconds).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        counter_family(
            &mut out,
            ("executions_total", "Executions, by how they ended."),
            "ending",
            &labelled(&self.executions),
        );
        counter_family(
            &mut out,
            (
                "person_executions_total",
                "Executions, by who ran them (anonymous without sign-in).",
            ),
            "person",
            &labelled(&self.executions_by_person),
        );
        counter_family(
            &mut out,
            (
                "execution_errors_total",
                "Failed executions, by error class.",
            ),
            "class",
            &labelled(&self.errors),
        );
        counter_family(
            &mut out,
            (
                "limits_hit_total",
                "Executions that hit a limit, by its LIMITS name.",
            ),
            "limit",
            &labelled(&self.limits_hit),
        );
        counter_family(
            &mut out,
            (
                "tool_call_errors_total",
                "Failed tool calls, by failure class.",
            ),
            "class",
            &labelled(&self.tool_call_errors),
        );
        counter_family(
            &mut out,
            (
                "tokens_saved_estimate_total",
                "Estimated tokens the agent did not read (4 characters a token), by source.",
            ),
            "source",
            &[
                ("definitions".into(), self.tokens_saved.definitions),
                (
                    "intermediate_results".into(),
                    self.tokens_saved.intermediate_results,
                ),
            ],
        );
        for (name, help, value) in [
            (
                "tool_calls_total",
                "Tool calls made by programs.",
                self.tool_calls,
            ),
            (
                "tool_listings_total",
                "tools/list requests answered.",
                self.tool_listings,
            ),
        ] {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "mir_{name} {value}");
        }
        if let Some(rate) = self.success_rate() {
            let name = "execution_success_ratio";
            header(
                &mut out,
                name,
                "gauge",
                "Share of executions whose program returned.",
            );
            let _ = writeln!(out, "mir_{name} {rate}");
        }
        let upstreams: Vec<(String, &Histogram)> = self
            .upstream_call_ms
            .iter()
            .map(|(name, histogram)| (format!("upstream=\"{}\"", escape(name)), histogram))
            .collect();
        let single = |histogram| vec![(String::new(), histogram)];
        let families = [
            (
                ("execution_duration_seconds", "Whole executions."),
                single(&self.duration_ms),
                MS_PER_SECOND,
            ),
            (
                (
                    "isolate_spawn_seconds",
                    "From loading an isolate to the program starting.",
                ),
                single(&self.spawn_ms),
                MS_PER_SECOND,
            ),
            (
                (
                    "upstream_call_duration_seconds",
                    "Tool calls as programs saw them, by upstream.",
                ),
                upstreams,
                MS_PER_SECOND,
            ),
            (
                ("tool_calls_per_execution", "Tool calls per execution."),
                single(&self.calls_per_execution),
                1.0,
            ),
            (
                ("result_chars", "Result sizes in characters of JSON."),
                single(&self.result_chars),
                1.0,
            ),
        ];
        for (family, histograms, scale) in families {
            histogram_family(&mut out, family, &histograms, scale);
        }
        out
    }
}

/// Milliseconds in a second, to report durations in seconds as Prometheus prefers.
const MS_PER_SECOND: f64 = 1000.0;

/// Writes a family's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP mir_{name} {help}\n# TYPE mir_{name} {kind}");
}

/// Writes one counter family with one label, `key`, per value.
fn counter_family(
    out: &mut String,
    (name, help): (&str, &str),
    key: &str,
    values: &[(String, u64)],
) {
    header(out, name, "counter", help);
    for (value, n) in values {
        let _ = writeln!(out, "mir_{name}{{{key}=\"{}\"}} {n}", escape(value));
    }
}

/// Writes one histogram family; `labels` pairs each histogram with its label set, and values
/// are divided by `scale` ([`MS_PER_SECOND`] turns milliseconds into seconds).
fn histogram_family(
    out: &mut String,
    (name, help): (&str, &str),
    labels: &[(String, &Histogram)],
    scale: f64,
) {
    header(out, name, "histogram", help);
    for (label_set, histogram) in labels {
        let with = |extra: &str| match (label_set.is_empty(), extra.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{{{extra}}}"),
            (false, true) => format!("{{{label_set}}}"),
            (false, false) => format!("{{{label_set},{extra}}}"),
        };
        let mut cumulative = 0;
        for (bound, n) in histogram.bounds.iter().zip(&histogram.counts) {
            cumulative += n;
            let le = format!("le=\"{}\"", *bound as f64 / scale);
            let _ = writeln!(out, "mir_{name}_bucket{} {cumulative}", with(&le));
        }
        let _ = writeln!(
            out,
            "mir_{name}_bucket{} {}",
            with("le=\"+Inf\""),
            histogram.count()
        );
        let _ = writeln!(
            out,
            "mir_{name}_sum{} {}",
            with(""),
            histogram.sum as f64 / scale
        );
        let _ = writeln!(out, "mir_{name}_count{} {}", with(""), histogram.count());
    }
}

/// Counts keyed by label value.
fn labelled<K: Serialize>(counts: &BTreeMap<K, u64>) -> Vec<(String, u64)> {
    counts.iter().map(|(key, n)| (label(key), *n)).collect()
}

/// A key as a label value: a serde unit variant's name (`returned`, `maxToolCalls`) or a
/// string as it is.
fn label(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::super::tests::entry;
    use super::*;
    use crate::audit::Ending;

    #[test]
    fn the_prometheus_text_is_well_formed_with_cumulative_buckets() {
        let mut metrics = Metrics::new(0);
        metrics.record_execution(&entry(Ending::Returned, &[("a\"b.f", 7, None)]));
        metrics.record_execution(&entry(Ending::TimedOut, &[]));
        let text = metrics.prometheus();
        let sample = |line: &str| -> bool {
            let (series, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().is_ok()
                && series.starts_with("mir_")
                && (!series.contains('{') || series.ends_with('}'))
        };
        for line in text.lines() {
            assert!(
                line.starts_with("# HELP mir_") || line.starts_with("# TYPE mir_") || sample(line),
                "{line}"
            );
        }
        assert!(text.contains("mir_executions_total{ending=\"returned\"} 1\n"));
        assert!(text.contains("mir_executions_total{ending=\"timedOut\"} 1\n"));
        assert!(text.contains("mir_person_executions_total{person=\"anonymous\"} 2\n"));
        assert!(text.contains("mir_execution_success_ratio 0.5\n"));
        assert!(text.contains("mir_execution_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("mir_execution_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("mir_execution_duration_seconds_sum 0.08\n"));
        assert!(text.contains(
            "mir_upstream_call_duration_seconds_bucket{upstream=\"a\\\"b\",le=\"0.01\"} 1\n"
        ));
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("mir_execution_duration_seconds_bucket"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
            .collect();
        assert!(buckets.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
