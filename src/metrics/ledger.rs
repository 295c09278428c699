//! The ledger: one Durable Object for the whole runner that keeps the last [`AUDIT_KEPT`]
//! audit entries, for `GET /admin/audit`, and the runner's [`Metrics`], which every entry and
//! every `tools/list` updates. This is what the object does; the object only adapts its
//! storage to a [`LedgerStore`].
//!
//! One object serves every execution, which bounds the rate it can record at (a Durable
//! Object handles on the order of a thousand requests a second); entries are sent after the
//! response, so a slow ledger never slows an execution, and the log line is written first,
//! so nothing is lost from Workers Logs when the ledger is busy.

use serde_json::Value;

use super::Metrics;
use crate::audit::{ExecutionAudit, LedgerCommand, AUDIT_KEPT, SESSIONS_KEPT_MS};

/// Where the ledger keeps its entries and its metrics, as JSON text.
pub trait LedgerStore {
    /// Why the storage failed.
    type Error: std::error::Error + 'static;
    /// Stores `entries`, oldest first, then drops all but the newest `kept`.
    fn append(&self, entries: &[String], kept: usize) -> Result<(), Self::Error>;
    /// The newest `limit` entries, newest first.
    fn recent(&self, limit: usize) -> Result<Vec<String>, Self::Error>;
    /// The stored metrics, if any.
    fn metrics(&self) -> Result<Option<String>, Self::Error>;
    /// Stores the metrics in place of the ones before.
    fn put_metrics(&self, metrics: &str) -> Result<(), Self::Error>;
    /// Remembers that `person` opened `session` at `at_ms`, and forgets sessions opened
    /// before `forget_before_ms`.
    fn add_session(
        &self,
        person: &str,
        session: &str,
        at_ms: u64,
        forget_before_ms: u64,
    ) -> Result<(), Self::Error>;
    /// Forgets `sessions`.
    fn remove_sessions(&self, sessions: &[String]) -> Result<(), Self::Error>;
    /// The sessions `person` opened, newest first.
    fn sessions_of(&self, person: &str) -> Result<Vec<String>, Self::Error>;
}

/// Why the ledger could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError<E: std::error::Error + 'static> {
    /// Its storage failed.
    #[error("the ledger's storage failed: {0}")]
    Storage(#[source] E),
    /// What it stored, or was sent, is not the JSON it expects.
    #[error("the ledger could not read or write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The ledger over its storage, with the metrics cached after their first use.
pub struct Ledger<S> {
    store: S,
    /// The metrics as last stored, read on first use.
    metrics: Option<Metrics>,
}

impl<S: LedgerStore> Ledger<S> {
    /// The ledger kept in `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            metrics: None,
        }
    }

    /// Carries out `command` at `now_ms`; its answer as the runner reads it (see
    /// [`LedgerCommand`]).
    pub fn answer(
        &mut self,
        command: LedgerCommand,
        now_ms: u64,
    ) -> Result<Value, LedgerError<S::Error>> {
        match command {
            LedgerCommand::Record { entries } => {
                let json = entries
                    .iter()
                    .map(serde_json::to_string)
                    .collect::<Result<Vec<_>, _>>()?;
                self.store
                    .append(&json, AUDIT_KEPT)
                    .map_err(LedgerError::Storage)?;
                self.update_metrics(now_ms, |metrics| {
                    entries
                        .iter()
                        .for_each(|entry| metrics.record_execution(entry));
                })?;
                Ok(Value::Bool(true))
            }
            LedgerCommand::Recent { limit } => {
                let entries = self
                    .store
                    .recent(limit.min(AUDIT_KEPT))
                    .map_err(LedgerError::Storage)?
                    .iter()
                    .map(|json| serde_json::from_str::<ExecutionAudit>(json))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(serde_json::to_value(entries)?)
            }
            LedgerCommand::Listed {
                upstream_chars,
                served_chars,
            } => {
                self.update_metrics(now_ms, |metrics| {
                    metrics.record_listing(upstream_chars, served_chars)
                })?;
                Ok(Value::Bool(true))
            }
            LedgerCommand::Metrics => Ok(serde_json::to_value(self.metrics(now_ms)?)?),
            LedgerCommand::SessionOpened { person, session } => {
                let forget_before = now_ms.saturating_sub(SESSIONS_KEPT_MS);
                self.store
                    .add_session(&person, &session, now_ms, forget_before)
                    .map_err(LedgerError::Storage)?;
                Ok(Value::Bool(true))
            }
            LedgerCommand::SessionsEnded { sessions } => {
                self.store
                    .remove_sessions(&sessions)
                    .map_err(LedgerError::Storage)?;
                Ok(Value::Bool(true))
            }
            LedgerCommand::SessionsOf { person } => {
                let sessions = self
                    .store
                    .sessions_of(&person)
                    .map_err(LedgerError::Storage)?;
                Ok(serde_json::to_value(sessions)?)
            }
        }
    }

    /// Applies `change` to the metrics and stores them.
    fn update_metrics(
        &mut self,
        now_ms: u64,
        change: impl FnOnce(&mut Metrics),
    ) -> Result<(), LedgerError<S::Error>> {
        let metrics = self.metrics(now_ms)?;
        change(metrics);
        let json = serde_json::to_string(metrics)?;
        self.store.put_metrics(&json).map_err(LedgerError::Storage)
    }

    /// The metrics, read from storage on first use (new ones from `now_ms` when none are).
    fn metrics(&mut self, now_ms: u64) -> Result<&mut Metrics, LedgerError<S::Error>> {
        let metrics = match self.metrics.take() {
            Some(metrics) => metrics,
            None => match self.store.metrics().map_err(LedgerError::Storage)? {
                Some(json) => serde_json::from_str(&json)?,
                None => Metrics::new(now_ms),
            },
        };
        Ok(self.metrics.insert(metrics))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use super::*;
    use crate::audit::Ending;

    /// A ledger's storage in memory, shared so a test can look at it or restart the ledger.
    #[derive(Clone, Default)]
    struct Memory {
        entries: Rc<RefCell<Vec<String>>>,
        metrics: Rc<RefCell<Option<String>>>,
        /// How many times the metrics were read from storage.
        metrics_reads: Rc<Cell<u32>>,
        /// How many times the metrics were written.
        metrics_writes: Rc<Cell<u32>>,
        /// Whether every write fails.
        broken: Rc<Cell<bool>>,
        /// (person, session, opened at).
        sessions: Rc<RefCell<Vec<(String, String, u64)>>>,
    }

    impl LedgerStore for Memory {
        type Error = std::io::Error;

        fn append(&self, added: &[String], kept: usize) -> Result<(), Self::Error> {
            self.fail()?;
            let mut entries = self.entries.borrow_mut();
            entries.extend_from_slice(added);
            let excess = entries.len().saturating_sub(kept);
            entries.drain(..excess);
            Ok(())
        }

        fn recent(&self, limit: usize) -> Result<Vec<String>, Self::Error> {
            Ok(self
                .entries
                .borrow()
                .iter()
                .rev()
                .take(limit)
                .cloned()
                .collect())
        }

        fn metrics(&self) -> Result<Option<String>, Self::Error> {
            self.metrics_reads.set(self.metrics_reads.get() + 1);
            Ok(self.metrics.borrow().clone())
        }

        fn put_metrics(&self, metrics: &str) -> Result<(), Self::Error> {
            self.fail()?;
            self.metrics_writes.set(self.metrics_writes.get() + 1);
            *self.metrics.borrow_mut() = Some(metrics.to_owned());
            Ok(())
        }

        fn add_session(
            &self,
            person: &str,
            session: &str,
            at_ms: u64,
            forget_before_ms: u64,
        ) -> Result<(), Self::Error> {
            self.fail()?;
            let mut sessions = self.sessions.borrow_mut();
            sessions.retain(|(_, _, at)| *at >= forget_before_ms);
            sessions.push((person.to_owned(), session.to_owned(), at_ms));
            Ok(())
        }

        fn remove_sessions(&self, ended: &[String]) -> Result<(), Self::Error> {
            self.sessions
                .borrow_mut()
                .retain(|(_, session, _)| !ended.contains(session));
            Ok(())
        }

        fn sessions_of(&self, person: &str) -> Result<Vec<String>, Self::Error> {
            let sessions = self.sessions.borrow();
            let mine = sessions.iter().rev().filter(|(p, _, _)| p == person);
            Ok(mine.map(|(_, session, _)| session.clone()).collect())
        }
    }

    impl Memory {
        fn fail(&self) -> Result<(), std::io::Error> {
            match self.broken.get() {
                true => Err(std::io::Error::other("the disk is full")),
                false => Ok(()),
            }
        }
    }

    fn audit(execution: &str) -> ExecutionAudit {
        ExecutionAudit::begin(5, execution.into(), None, None, "return 1", vec![])
            .stopped(Ending::Returned)
            .took(3)
    }

    fn entry(execution: &str) -> LedgerCommand {
        LedgerCommand::Record {
            entries: vec![audit(execution)],
        }
    }

    fn metrics(ledger: &mut Ledger<Memory>) -> Metrics {
        serde_json::from_value(ledger.answer(LedgerCommand::Metrics, 7).unwrap()).unwrap()
    }

    #[test]
    fn the_newest_entries_are_kept_and_listed_newest_first() {
        let mut ledger = Ledger::new(Memory::default());
        for n in 0..AUDIT_KEPT + 2 {
            let answer = ledger.answer(entry(&format!("exec-{n}")), 10).unwrap();
            assert_eq!(answer, Value::Bool(true));
        }
        assert_eq!(ledger.store.entries.borrow().len(), AUDIT_KEPT);
        let recent = ledger
            .answer(LedgerCommand::Recent { limit: 2 }, 10)
            .unwrap();
        let recent: Vec<ExecutionAudit> = serde_json::from_value(recent).unwrap();
        let names: Vec<&str> = recent.iter().map(|e| e.execution.as_str()).collect();
        let newest = AUDIT_KEPT + 1;
        assert_eq!(
            names,
            [format!("exec-{newest}"), format!("exec-{}", newest - 1)]
        );
        let all = ledger
            .answer(LedgerCommand::Recent { limit: usize::MAX }, 10)
            .unwrap();
        assert_eq!(all.as_array().unwrap().len(), AUDIT_KEPT);
    }

    #[test]
    fn entries_and_listings_are_counted_in_metrics_read_once_and_stored_each_time() {
        let store = Memory::default();
        let mut ledger = Ledger::new(store.clone());
        ledger.answer(entry("exec-1"), 10).unwrap();
        let listed = LedgerCommand::Listed {
            upstream_chars: 4_000,
            served_chars: 400,
        };
        assert_eq!(ledger.answer(listed, 11).unwrap(), Value::Bool(true));
        let counted = metrics(&mut ledger);
        assert_eq!(counted.since_ms, 10, "counting started with the first use");
        assert_eq!(counted.execution_count(), 1);
        assert_eq!(counted.tool_listings, 1);
        assert_eq!(store.metrics_reads.get(), 1);
        // A restarted object reads what was stored.
        let mut restarted = Ledger::new(store.clone());
        assert_eq!(metrics(&mut restarted), counted);
    }

    #[test]
    fn the_entries_of_one_request_are_kept_in_order_and_counted_with_one_metrics_write() {
        let store = Memory::default();
        let mut ledger = Ledger::new(store.clone());
        let entries = ["exec-1", "exec-2", "exec-3"].map(audit).to_vec();
        let answer = ledger.answer(LedgerCommand::Record { entries }, 10);
        assert_eq!(answer.unwrap(), Value::Bool(true));
        let recent = ledger.answer(LedgerCommand::Recent { limit: 10 }, 10);
        let recent: Vec<ExecutionAudit> = serde_json::from_value(recent.unwrap()).unwrap();
        let names: Vec<&str> = recent.iter().map(|e| e.execution.as_str()).collect();
        assert_eq!(names, ["exec-3", "exec-2", "exec-1"]);
        assert_eq!(metrics(&mut ledger).execution_count(), 3);
        assert_eq!(store.metrics_writes.get(), 1);
    }

    #[test]
    fn a_fresh_ledger_counts_from_now_and_a_failed_write_is_an_error() {
        let store = Memory::default();
        let mut ledger = Ledger::new(store.clone());
        assert_eq!(metrics(&mut ledger).since_ms, 7);
        store.broken.set(true);
        let failed = ledger.answer(entry("exec-1"), 10).unwrap_err();
        assert!(matches!(failed, LedgerError::Storage(_)), "{failed}");
        assert!(failed.to_string().contains("the disk is full"), "{failed}");
    }

    #[test]
    fn unreadable_stored_metrics_are_an_error_not_a_reset() {
        let store = Memory::default();
        *store.metrics.borrow_mut() = Some("{not json".into());
        let mut ledger = Ledger::new(store);
        let failed = ledger.answer(LedgerCommand::Metrics, 1).unwrap_err();
        assert!(matches!(failed, LedgerError::Json(_)), "{failed}");
    }

    #[test]
    fn a_persons_sessions_are_remembered_until_they_end_or_a_month_passes() {
        let memory = Memory::default();
        let mut ledger = Ledger::new(memory.clone());
        let opened = |person: &str, session: &str| LedgerCommand::SessionOpened {
            person: person.into(),
            session: session.into(),
        };
        let sessions_of = |ledger: &mut Ledger<Memory>, now| {
            let command = LedgerCommand::SessionsOf {
                person: "key:alice".into(),
            };
            ledger.answer(command, now).unwrap()
        };
        ledger.answer(opened("key:alice", "s-1"), 1_000).unwrap();
        ledger.answer(opened("key:bob", "s-2"), 2_000).unwrap();
        ledger.answer(opened("key:alice", "s-3"), 3_000).unwrap();
        assert_eq!(
            sessions_of(&mut ledger, 4_000),
            serde_json::json!(["s-3", "s-1"])
        );
        let ended = LedgerCommand::SessionsEnded {
            sessions: vec!["s-3".into()],
        };
        ledger.answer(ended, 5_000).unwrap();
        assert_eq!(sessions_of(&mut ledger, 6_000), serde_json::json!(["s-1"]));
        let a_month_on = 1_000 + SESSIONS_KEPT_MS + 1;
        ledger.answer(opened("key:bob", "s-4"), a_month_on).unwrap();
        assert_eq!(sessions_of(&mut ledger, a_month_on), serde_json::json!([]));
    }
}
