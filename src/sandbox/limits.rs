//! Bounds on one execution, configurable by the operator with the `LIMITS` variable (a JSON
//! object; every field is optional). The isolate itself is the security boundary; these keep
//! a runaway or hostile program from hurting the runner, the upstreams or the agent's context,
//! and each one, when hit, gives the program or the agent an error that names it.
//!
//! Each field's default is in [`ExecutionLimits::default`]; SECURITY.md's limits table says
//! what enforces each one.

use std::ops::RangeInclusive;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The compatibility date dynamic isolates run with.
pub const ISOLATE_COMPATIBILITY_DATE: &str = "2026-11-01";
/// Compatibility flags of dynamic isolates. Since 2026-08-04 a compatibility date turns on
/// Node.js compatibility, which gives the program `process`, `Buffer` and `node:` modules it
/// has no use for, and has workerd build its Node.js modules for every isolate it starts.
pub const ISOLATE_COMPATIBILITY_FLAGS: [&str; 2] = ["no_nodejs_compat", "no_nodejs_compat_v2"];

/// Every bound on one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ExecutionLimits {
    /// Wall-clock budget of one execution, in milliseconds.
    pub timeout_ms: u32,
    /// CPU budget handed to the Worker Loader; enforced in production, not by local workerd.
    pub cpu_ms: u32,
    /// Subrequests the isolate may make (its tool calls are RPC subrequests).
    pub sub_requests: u32,
    /// Loop iterations plus function calls the program may make before it is stopped.
    pub max_loop_iterations: u64,
    /// Tool calls one execution may make.
    pub max_tool_calls: u32,
    /// Tool calls one execution may have in flight at once.
    pub max_concurrent_tool_calls: u32,
    /// Largest accepted `code` argument, in bytes.
    pub max_code_bytes: usize,
    /// Largest arguments of one tool call, as JSON bytes.
    pub max_argument_bytes: usize,
    /// Characters of the result's JSON the runner reads from the isolate; the rest is never
    /// sent, and the result is shown as the start of its text.
    pub max_result_chars: usize,
    /// Estimated tokens of the result returned to the agent: a larger one is cut to fit,
    /// keeping its structure, with a note saying what was cut.
    pub max_result_tokens: usize,
    /// Estimated tokens of one `search` answer: the best matches that fit, saying how many
    /// more there are.
    pub max_search_tokens: usize,
    /// Console entries kept per execution; later ones are counted, not kept.
    pub max_log_entries: usize,
    /// Characters kept of one console entry.
    pub max_log_entry_chars: usize,
    /// Estimated tokens of all the console entries the agent gets; later entries are counted,
    /// not kept.
    pub max_log_tokens: usize,
    /// How long a call waits for a person's approval before it is declined; the wait does not
    /// count toward `timeoutMs`.
    pub approval_timeout_ms: u32,
}

impl Default for ExecutionLimits {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            cpu_ms: 30_000,
            sub_requests: 1_000,
            max_loop_iterations: 10_000_000,
            max_tool_calls: 1_000,
            max_concurrent_tool_calls: 32,
            max_code_bytes: 64 * 1024,
            max_argument_bytes: 256 * 1024,
            max_result_chars: 12_000_000,
            // Room, with the report around it, under Claude Code's 25,000 per tool result.
            max_result_tokens: 18_000,
            max_search_tokens: 8_000,
            max_log_entries: 200,
            max_log_entry_chars: 2_000,
            max_log_tokens: 4_000,
            approval_timeout_ms: 120_000,
        }
    }
}

/// An execution limit, by its name in `LIMITS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    /// `timeoutMs`: the execution was abandoned.
    TimeoutMs,
    /// `maxLoopIterations`: the loop guard stopped the program.
    MaxLoopIterations,
    /// `maxToolCalls`: calls past it were refused.
    MaxToolCalls,
    /// `maxArgumentBytes`: a call's arguments were refused.
    MaxArgumentBytes,
    /// `maxCodeBytes`: the code was refused.
    MaxCodeBytes,
    /// `maxResultChars`: the result was too long to read whole.
    MaxResultChars,
    /// `maxResultTokens`: the result was cut to fit.
    MaxResultTokens,
    /// `maxLogEntries`: console entries were dropped.
    MaxLogEntries,
}

/// A `LIMITS` value the runner refuses, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// Not a JSON object of known fields with numbers.
    #[error("LIMITS is not a JSON object of known limits: {0}")]
    Malformed(String),
    /// A value outside what the runner can honour.
    #[error("LIMITS.{field} is {value}; it must be from {min} to {max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The least allowed.
        min: u64,
        /// The most allowed.
        max: u64,
    },
}

impl ExecutionLimits {
    /// Parses and checks the `LIMITS` JSON text; absent fields keep their defaults.
    pub fn from_json(text: &str) -> Result<Self, LimitsError> {
        let malformed = |e: serde_json::Error| LimitsError::Malformed(e.to_string());
        let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        if !value.is_object() {
            return Err(LimitsError::Malformed(format!(
                "expected an object, got {value}"
            )));
        }
        let limits: Self = serde_json::from_value(value).map_err(malformed)?;
        limits.validate()?;
        Ok(limits)
    }

    fn validate(&self) -> Result<(), LimitsError> {
        let checks: [(&'static str, u64, RangeInclusive<u64>); 15] = [
            ("timeoutMs", self.timeout_ms.into(), 1_000..=300_000),
            ("cpuMs", self.cpu_ms.into(), 10..=300_000),
            ("subRequests", self.sub_requests.into(), 1..=100_000),
            (
                "maxLoopIterations",
                self.max_loop_iterations,
                1_000..=1 << 40,
            ),
            ("maxToolCalls", self.max_tool_calls.into(), 1..=100_000),
            (
                "maxConcurrentToolCalls",
                self.max_concurrent_tool_calls.into(),
                1..=1_000,
            ),
            ("maxCodeBytes", self.max_code_bytes as u64, 64..=1 << 20),
            (
                "maxArgumentBytes",
                self.max_argument_bytes as u64,
                64..=16 << 20,
            ),
            (
                "maxResultChars",
                self.max_result_chars as u64,
                100..=16 << 20,
            ),
            (
                "maxResultTokens",
                self.max_result_tokens as u64,
                100..=1_000_000,
            ),
            (
                "maxSearchTokens",
                self.max_search_tokens as u64,
                500..=1_000_000,
            ),
            ("maxLogEntries", self.max_log_entries as u64, 0..=100_000),
            (
                "maxLogEntryChars",
                self.max_log_entry_chars as u64,
                10..=1 << 20,
            ),
            ("maxLogTokens", self.max_log_tokens as u64, 0..=1_000_000),
            (
                "approvalTimeoutMs",
                self.approval_timeout_ms.into(),
                1_000..=600_000,
            ),
        ];
        for (field, value, range) in checks {
            if !range.contains(&value) {
                return Err(LimitsError::OutOfRange {
                    field,
                    value,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn an_empty_object_means_every_default() {
        assert_eq!(
            ExecutionLimits::from_json("{}").unwrap(),
            ExecutionLimits::default()
        );
    }

    #[test]
    fn given_fields_replace_their_defaults_only() {
        let limits =
            ExecutionLimits::from_json(r#"{"maxToolCalls": 5, "timeoutMs": 2000}"#).unwrap();
        assert_eq!(limits.max_tool_calls, 5);
        assert_eq!(limits.timeout_ms, 2_000);
        assert_eq!(
            limits.max_result_chars,
            ExecutionLimits::default().max_result_chars
        );
    }

    #[test]
    fn an_out_of_range_value_names_its_field_and_the_range() {
        let error = ExecutionLimits::from_json(r#"{"timeoutMs": 5}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "LIMITS.timeoutMs is 5; it must be from 1000 to 300000"
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        for text in [r#"{"maxToolCall": 5}"#, r#"{"maxToolCalls": "5"}"#, "[]"] {
            assert!(
                matches!(
                    ExecutionLimits::from_json(text),
                    Err(LimitsError::Malformed(_))
                ),
                "{text}"
            );
        }
    }
}
