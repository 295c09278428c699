//! Session records a Worker isolate has recently read from their objects.
//!
//! Every request of a session needs its record (who holds it, what it may use, what its client
//! can do), and each read is a round trip to the session's Durable Object, wherever in the
//! world that is. An agent works in bursts, so an isolate keeps each record it read for
//! [`RECENT_SESSIONS_MS`] and serves the session's next requests from it.
//!
//! A change made through this isolate (the session opened, ended, or its log level set) is
//! seen by it at once; a read that began before such a change is not kept. Another isolate may
//! serve an ended session, or log at the old level, until its copy is [`RECENT_SESSIONS_MS`]
//! old, as it may use the operator's policy (see `runner::policy`). What a stale copy lacks
//! cannot widen anything: the person who holds the session never changes, and the tools
//! approved for the session are read from the object again before a person is asked.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::SessionRecord;

/// How long an isolate serves a session from the record it read, without asking its object.
pub const RECENT_SESSIONS_MS: u64 = 10_000;

/// How many records an isolate keeps; past it, the oldest read goes first.
pub const MAX_RECENT_SESSIONS: usize = 1_000;

/// Session id → the record read from its object, and when.
#[derive(Debug, Default)]
pub struct RecentSessions {
    records: RefCell<HashMap<String, (u64, SessionRecord)>>,
    /// How many changes were made through this isolate: a read that began before one is not
    /// kept.
    changes: Cell<u64>,
}

/// Where a read of a session's record began, for [`RecentSessions::keep`].
#[derive(Debug, Clone, Copy)]
pub struct ReadMark(u64);

impl RecentSessions {
    /// The record of `session` read less than [`RECENT_SESSIONS_MS`] before `now_ms`, if the
    /// session has not expired by then.
    pub fn get(&self, session: &str, now_ms: u64) -> Option<SessionRecord> {
        let records = self.records.borrow();
        let (read_at, record) = records.get(session)?;
        let fresh = (*read_at..read_at.saturating_add(RECENT_SESSIONS_MS)).contains(&now_ms);
        (fresh && !record.is_expired(now_ms)).then(|| record.clone())
    }

    /// Marks the start of a read of a record from its object.
    pub fn mark(&self) -> ReadMark {
        ReadMark(self.changes.get())
    }

    /// Keeps `record`, read at `now_ms` by a read that began at `mark`, as `session`'s, unless
    /// a change was made through this isolate since.
    pub fn keep(&self, session: &str, record: SessionRecord, now_ms: u64, mark: ReadMark) {
        if mark.0 != self.changes.get() {
            return;
        }
        let mut records = self.records.borrow_mut();
        if records.len() >= MAX_RECENT_SESSIONS && !records.contains_key(session) {
            records.retain(|_, (read_at, _)| now_ms.saturating_sub(*read_at) < RECENT_SESSIONS_MS);
            if records.len() >= MAX_RECENT_SESSIONS {
                let oldest = records.iter().min_by_key(|(_, (read_at, _))| *read_at);
                if let Some(oldest) = oldest.map(|(id, _)| id.clone()) {
                    records.remove(&oldest);
                }
            }
        }
        records.insert(session.to_owned(), (now_ms, record));
    }

    /// Forgets `session`'s record: a change was made to it through this isolate, so its next
    /// request reads it again.
    pub fn forget(&self, session: &str) {
        self.records.borrow_mut().remove(session);
        self.changes.set(self.changes.get() + 1);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::session::SESSION_IDLE_TIMEOUT_MS;

    const OPENED: u64 = 1_000;

    fn record() -> SessionRecord {
        SessionRecord::new("2025-11-25".into(), vec!["docs".into()], None, OPENED)
    }

    fn kept(recent: &RecentSessions, session: &str, at_ms: u64) {
        recent.keep(session, record(), at_ms, recent.mark());
    }

    #[test]
    fn a_record_is_served_within_its_ttl_and_read_again_after_it() {
        let recent = RecentSessions::default();
        kept(&recent, "s", OPENED);
        assert_eq!(
            recent.get("s", OPENED + RECENT_SESSIONS_MS - 1),
            Some(record())
        );
        assert_eq!(recent.get("s", OPENED + RECENT_SESSIONS_MS), None);
        assert_eq!(recent.get("other", OPENED), None);
    }

    #[test]
    fn an_expired_session_is_not_served_however_recently_it_was_read() {
        let recent = RecentSessions::default();
        let expires = OPENED + SESSION_IDLE_TIMEOUT_MS;
        kept(&recent, "s", expires - 1);
        assert_eq!(recent.get("s", expires - 1), Some(record()));
        assert_eq!(recent.get("s", expires), None);
    }

    #[test]
    fn a_clock_that_went_back_reads_the_record_again() {
        let recent = RecentSessions::default();
        kept(&recent, "s", OPENED + 50);
        assert_eq!(recent.get("s", OPENED + 49), None);
    }

    #[test]
    fn a_change_through_this_isolate_is_seen_at_once() {
        let recent = RecentSessions::default();
        kept(&recent, "s", OPENED);
        recent.forget("s");
        assert_eq!(recent.get("s", OPENED), None);
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let recent = RecentSessions::default();
        let mark = recent.mark();
        recent.forget("s");
        recent.keep("s", record(), OPENED, mark);
        assert_eq!(recent.get("s", OPENED), None);
        kept(&recent, "s", OPENED);
        assert_eq!(
            recent.get("s", OPENED),
            Some(record()),
            "a read after it is"
        );
    }

    #[test]
    fn a_full_isolate_drops_stale_records_then_the_oldest() {
        let recent = RecentSessions::default();
        kept(&recent, "stale", OPENED);
        for i in 1..MAX_RECENT_SESSIONS {
            kept(
                &recent,
                &format!("s{i}"),
                OPENED + RECENT_SESSIONS_MS + i as u64,
            );
        }
        let now = OPENED + RECENT_SESSIONS_MS + MAX_RECENT_SESSIONS as u64;
        kept(&recent, "new", now);
        assert_eq!(recent.records.borrow().len(), MAX_RECENT_SESSIONS);
        assert!(!recent.records.borrow().contains_key("stale"));

        kept(&recent, "newer", now + 1);
        assert_eq!(recent.records.borrow().len(), MAX_RECENT_SESSIONS);
        assert!(
            !recent.records.borrow().contains_key("s1"),
            "the oldest read went"
        );
        assert_eq!(recent.get("newer", now + 1), Some(record()));
    }
}
