//! The audit log: one [`ExecutionAudit`] per `execute`, written as one JSON line to the Worker's
//! log (so `wrangler tail` and Workers Logs show it) and kept, the last [`AUDIT_KEPT`] of them,
//! in the ledger Durable Object that the operator reads at `GET /admin/audit`. The ledger also
//! folds every entry into the runner's [metrics](crate::metrics).
//!
//! An entry says who ran what and what it did, never with what data: the code is a SHA-256,
//! the caller the [`Person`] the runner signed in, a tool call its name, duration and outcome. Arguments,
//! results, console output and error messages stay out, because any of them may hold what an
//! upstream returned.

mod outbox;

use crate::digest::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::codemode::source::SourceError;
use crate::protocol::person::Person;
use crate::sandbox::gate::CallRecord;
use crate::sandbox::limits::{ExecutionLimits, Limit};
use crate::sandbox::protocol::{CallTrace, Outcome, QuestionTrace};

pub use outbox::AuditOutbox;

/// How many entries the ledger keeps; older ones are dropped.
pub const AUDIT_KEPT: usize = 1_000;
/// How many tool calls an entry lists one by one; the rest are only counted.
pub const AUDITED_CALLS: usize = 100;

/// What the runner asks of the ledger Durable Object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum LedgerCommand {
    /// Keep executions' entries, oldest first; answers `true`.
    Record {
        /// The entries.
        entries: Vec<ExecutionAudit>,
    },
    /// The newest `limit` entries, newest first; answers `Vec<ExecutionAudit>`.
    Recent {
        /// How many at most.
        limit: usize,
    },
    /// Count a `tools/list` answer; answers `true`.
    Listed {
        /// Characters of JSON the upstreams' own tool definitions would have taken.
        upstream_chars: usize,
        /// Characters of JSON of the definitions served instead.
        served_chars: usize,
    },
    /// The metrics so far; answers [`Metrics`](crate::metrics::Metrics).
    Metrics,
    /// Remember that `person` (their id) opened `session`; answers `true`.
    SessionOpened {
        /// The person's id.
        person: String,
        /// The session's id.
        session: String,
    },
    /// Forget these sessions (ended, or found gone); answers `true`.
    SessionsEnded {
        /// The sessions' ids.
        sessions: Vec<String>,
    },
    /// The sessions `person` opened and that were not seen to end, newest first; answers
    /// `Vec<String>`.
    SessionsOf {
        /// The person's id.
        person: String,
    },
}

/// How long the ledger remembers a session after it was opened: sessions end after a day
/// unused, so one not seen to end is forgotten after a month.
pub const SESSIONS_KEPT_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// What one execution did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionAudit {
    /// When it started, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The execution's id (the same one upstream cancellations carry).
    pub execution: String,
    /// The MCP session; none for a stateless request.
    pub session: Option<String>,
    /// Who ran it; none when the runner asks for no sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Person>,
    /// SHA-256 of the code as the client sent it, in hex.
    pub code_sha256: String,
    /// The code's size in bytes.
    pub code_bytes: usize,
    /// The upstreams the execution was allowed to call.
    pub upstreams: Vec<String>,
    /// How it ended.
    pub ending: Ending,
    /// The class of the error it ended with (`TypeError`, `LoopLimitExceeded`, …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The first [`AUDITED_CALLS`] tool calls, in the order they finished.
    pub calls: Vec<CallTrace>,
    /// What upstreams asked the person during calls (never their words or the answers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionTrace>,
    /// How many tool calls it made in all, refused ones included.
    pub calls_total: usize,
    /// The limits it ran into, by their `LIMITS` names.
    pub limits_hit: Vec<Limit>,
    /// The length of its result's JSON before any cut; 0 without a result.
    pub result_chars: usize,
    /// The length of what the tool calls returned to the program, all together: a text as
    /// itself, any other value as its JSON.
    pub call_result_chars: usize,
    /// Milliseconds from loading the isolate until the program started, when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_ms: Option<u64>,
    /// Milliseconds from receiving the code to having the outcome.
    pub ms: u64,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Ending {
    /// The program returned.
    Returned,
    /// The program threw, or a limit stopped it from inside the isolate.
    Threw,
    /// The code was refused before it ran (too large, not valid, not allowed).
    Refused,
    /// It ran out of time and was abandoned.
    TimedOut,
    /// The client cancelled it.
    Cancelled,
    /// A call waited for the person, asked in the client's next request; that request resumes
    /// the program.
    AwaitingPerson,
    /// The sandbox failed to start or stopped unexpectedly.
    SandboxFailed,
}

impl ExecutionAudit {
    /// The entry for `code`, started at `at_ms`, before anything is known of how it ends.
    pub fn begin(
        at_ms: u64,
        execution: String,
        session: Option<String>,
        person: Option<Person>,
        code: &str,
        upstreams: Vec<String>,
    ) -> Self {
        Self {
            at_ms,
            execution,
            session,
            person,
            code_sha256: sha256_hex(code),
            code_bytes: code.len(),
            upstreams,
            ending: Ending::SandboxFailed,
            error: None,
            calls: Vec::new(),
            questions: Vec::new(),
            calls_total: 0,
            limits_hit: Vec::new(),
            result_chars: 0,
            call_result_chars: 0,
            spawn_ms: None,
            ms: 0,
        }
    }

    /// The entry with the tool calls the bridge's gate recorded, however the execution ended.
    pub fn called(mut self, record: &CallRecord) -> Self {
        self.calls = record.calls.iter().take(AUDITED_CALLS).cloned().collect();
        self.questions = record
            .questions
            .iter()
            .take(AUDITED_CALLS)
            .cloned()
            .collect();
        self.calls_total = record.calls_total;
        self.call_result_chars = record.call_result_chars;
        self.hit(record.limits_hit.iter().copied());
        self
    }

    /// The entry of a program that ran, from its raw outcome (before it is bounded for the
    /// client). `spawn_ms` is how long the isolate took to start it.
    pub fn ran(mut self, outcome: &Outcome, limits: &ExecutionLimits, spawn_ms: u64) -> Self {
        self.ending = match outcome.error {
            None => Ending::Returned,
            Some(_) => Ending::Threw,
        };
        self.error = outcome.error.as_ref().map(|thrown| thrown.name.clone());
        self.result_chars = outcome
            .result_chars
            .or_else(|| {
                outcome
                    .result_json
                    .as_ref()
                    .map(|json| json.chars().count())
            })
            .unwrap_or(0);
        let hit = limits_hit(outcome, limits, self.result_chars);
        self.hit(hit);
        self.spawn_ms = Some(spawn_ms);
        self
    }

    /// The entry of a run whose result was cut to fit `maxResultTokens`.
    pub fn result_cut(mut self) -> Self {
        self.hit([Limit::MaxResultTokens]);
        self
    }

    /// The entry of code refused before it ran, for `error`.
    pub fn refused(mut self, error: &SourceError) -> Self {
        self.ending = Ending::Refused;
        self.error = Some(error.name().to_owned());
        if matches!(error, SourceError::TooLarge { .. }) {
            self.hit([Limit::MaxCodeBytes]);
        }
        self
    }

    /// The entry of an execution that produced no outcome, or whose outcome came too late to
    /// count (it ran past `timeoutMs`).
    pub fn stopped(mut self, ending: Ending) -> Self {
        self.ending = ending;
        if ending == Ending::TimedOut {
            self.error = None;
            self.hit([Limit::TimeoutMs]);
        }
        self
    }

    /// Adds `limits` to the limits hit, each named once, in order.
    fn hit(&mut self, limits: impl IntoIterator<Item = Limit>) {
        self.limits_hit.extend(limits);
        self.limits_hit.sort_unstable();
        self.limits_hit.dedup();
    }

    /// The entry with its total duration.
    pub fn took(mut self, ms: u64) -> Self {
        self.ms = ms;
        self
    }

    /// The entry as one log line: `{"audit":"execution",…}`, so a log search finds them all.
    pub fn log_line(&self) -> String {
        let mut line = serde_json::json!({ "audit": "execution" });
        if let (Some(line), Ok(serde_json::Value::Object(entry))) =
            (line.as_object_mut(), serde_json::to_value(self))
        {
            line.extend(entry);
        }
        line.to_string()
    }
}

/// The limits a program's outcome shows it ran into; the bridge's gate records the rest.
fn limits_hit(outcome: &Outcome, limits: &ExecutionLimits, result_chars: usize) -> Vec<Limit> {
    let checks = [
        (outcome.loop_limit_hit, Limit::MaxLoopIterations),
        (
            result_chars > limits.max_result_chars,
            Limit::MaxResultChars,
        ),
        (
            outcome.dropped_logs > 0 || outcome.logs.len() > limits.max_log_entries,
            Limit::MaxLogEntries,
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(hit, limit)| hit.then_some(limit))
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::{json, Value};

    use super::*;
    use crate::codemode::loop_guard::LOOP_LIMIT_ERROR;
    use crate::sandbox::protocol::{ThrownError, ToolErrorKind};

    const CODE: &str = "return await everything.get_sum({ a: 2, b: 40 });";

    fn begun() -> ExecutionAudit {
        ExecutionAudit::begin(
            1_000,
            "exec-1".into(),
            Some("session-1".into()),
            Some(Person::access_key("alpha")),
            CODE,
            vec!["everything".into()],
        )
    }

    fn call(tool: &str, error: Option<ToolErrorKind>) -> CallTrace {
        CallTrace {
            tool: tool.into(),
            ms: 3,
            ok: error.is_none(),
            error,
            approval: None,
            replayed: false,
        }
    }

    fn limits() -> ExecutionLimits {
        ExecutionLimits {
            max_tool_calls: 2,
            max_result_chars: 10,
            max_log_entries: 1,
            ..ExecutionLimits::default()
        }
    }

    #[test]
    fn an_entry_names_the_code_by_hash_and_the_caller_by_person() {
        let line: Value = serde_json::from_str(&begun().took(5).log_line()).unwrap();
        assert_eq!(line["audit"], "execution");
        assert_eq!(line["session"], "session-1");
        assert_eq!(line["codeBytes"], CODE.len());
        assert_eq!(
            line["codeSha256"].as_str().unwrap().len(),
            64,
            "a hex SHA-256"
        );
        assert_eq!(line["person"]["id"], json!("key:alpha"));
        assert_eq!(line["person"]["name"], json!("alpha"));
        assert!(!line.to_string().contains("get_sum"), "no code in the log");
    }

    fn record(calls: Vec<CallTrace>, limits_hit: &[Limit]) -> CallRecord {
        CallRecord {
            calls_total: calls.len(),
            calls,
            call_result_chars: 30,
            limits_hit: limits_hit.iter().copied().collect(),
            questions: Vec::new(),
        }
    }

    #[test]
    fn a_returned_program_lists_its_calls_without_arguments_or_results() {
        let outcome = Outcome {
            result_json: Some("\"The sum of 2 and 40 is 42.\"".into()),
            ..Outcome::default()
        };
        let entry = begun()
            .called(&record(vec![call("everything.get_sum", None)], &[]))
            .ran(&outcome, &ExecutionLimits::default(), 4);
        assert_eq!(entry.ending, Ending::Returned);
        assert_eq!(entry.calls_total, 1);
        assert_eq!(entry.call_result_chars, 30);
        assert_eq!(entry.result_chars, 28);
        assert_eq!(entry.spawn_ms, Some(4));
        assert!(entry.limits_hit.is_empty());
        assert!(!entry.log_line().contains("42"));
    }

    #[test]
    fn every_limit_the_outcome_or_the_gate_shows_is_named_once() {
        let outcome = Outcome {
            result_json: Some("x".repeat(10)),
            result_chars: Some(500),
            logs: vec!["a".into(), "b".into()],
            error: Some(ThrownError {
                name: LOOP_LIMIT_ERROR.into(),
                message: "stopped".into(),
                stack: None,
            }),
            loop_limit_hit: true,
            ..Outcome::default()
        };
        let gate = record(
            vec![call("a.f", Some(ToolErrorKind::LimitExceeded))],
            &[Limit::MaxArgumentBytes, Limit::MaxToolCalls],
        );
        let entry = begun().called(&gate).ran(&outcome, &limits(), 1);
        assert_eq!(entry.ending, Ending::Threw);
        assert_eq!(entry.error.as_deref(), Some(LOOP_LIMIT_ERROR));
        assert_eq!(
            entry.limits_hit,
            [
                Limit::MaxLoopIterations,
                Limit::MaxToolCalls,
                Limit::MaxArgumentBytes,
                Limit::MaxResultChars,
                Limit::MaxLogEntries,
            ]
        );
        let serialized = serde_json::to_value(&entry.limits_hit).unwrap();
        assert_eq!(serialized[0], "maxLoopIterations");
    }

    #[test]
    fn an_entry_lists_a_bounded_number_of_calls_and_counts_them_all() {
        let mut gate = record(vec![call("a.f", None); AUDITED_CALLS + 5], &[]);
        gate.calls_total += 7;
        let entry = begun()
            .called(&gate)
            .ran(&Outcome::default(), &ExecutionLimits::default(), 1);
        assert_eq!(entry.calls.len(), AUDITED_CALLS);
        assert_eq!(entry.calls_total, AUDITED_CALLS + 12);
    }

    #[test]
    fn a_program_that_returned_after_its_deadline_is_audited_as_timed_out() {
        let outcome = Outcome {
            result_json: Some("1".into()),
            ..Outcome::default()
        };
        let entry = begun()
            .ran(&outcome, &ExecutionLimits::default(), 1)
            .stopped(Ending::TimedOut);
        assert_eq!(entry.ending, Ending::TimedOut);
        assert_eq!(entry.limits_hit, [Limit::TimeoutMs]);
    }

    #[test]
    fn refused_and_stopped_executions_say_why() {
        let refused = begun().refused(&SourceError::TooLarge {
            bytes: 70_000,
            limit: 65_536,
        });
        assert_eq!(
            (refused.ending, refused.limits_hit),
            (Ending::Refused, vec![Limit::MaxCodeBytes])
        );
        let timed_out = begun().stopped(Ending::TimedOut);
        assert_eq!(timed_out.limits_hit, [Limit::TimeoutMs]);
        assert!(begun().stopped(Ending::Cancelled).limits_hit.is_empty());
    }
}
