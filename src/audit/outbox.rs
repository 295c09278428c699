//! The audit entries of an isolate's finished executions on their way to the ledger. One
//! request to the ledger is in flight at a time, and it carries every entry that finished while
//! the one before it was: an execution that finds the ledger idle sends its entry at once, so
//! nothing waits on a timer, and under load many executions share one request, one write of
//! the entries and one write of the metrics. The ledger is a single Durable Object for the
//! whole runner, so this is also what lets it keep up with many isolates.
//!
//! An entry is written to the log before it is held here, so one that never reaches the ledger
//! (the isolate was evicted, or more piled up than [`ENTRIES_HELD`]) is only missing from
//! `/admin/audit` and the metrics.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::ExecutionAudit;

/// The most entries one request to the ledger carries.
pub const ENTRIES_PER_REQUEST: usize = 64;
/// The most entries held while a request is in flight; past it the oldest are let go.
pub const ENTRIES_HELD: usize = 1_024;
/// How long a request may be in flight before the next entry starts another, so a ledger that
/// never answers holds nothing back for longer.
pub const REQUEST_PATIENCE_MS: u64 = 10_000;

/// An isolate's entries not yet sent to the ledger.
#[derive(Debug, Default)]
pub struct AuditOutbox(RefCell<Outbox>);

#[derive(Debug, Default)]
struct Outbox {
    held: VecDeque<ExecutionAudit>,
    /// When the request in flight was sent, if one is.
    in_flight_since: Option<u64>,
}

impl AuditOutbox {
    /// Holds `entry`, finished at `now_ms`. The entries to send now, when no request is in
    /// flight (or the one in flight has been for [`REQUEST_PATIENCE_MS`]): the caller sends
    /// them, then calls [`sent`](Self::sent) once the ledger answered or the request failed.
    pub fn hold(&self, entry: ExecutionAudit, now_ms: u64) -> Option<Vec<ExecutionAudit>> {
        let mut outbox = self.0.borrow_mut();
        if outbox.held.len() == ENTRIES_HELD {
            outbox.held.pop_front();
        }
        outbox.held.push_back(entry);
        let waiting = outbox
            .in_flight_since
            .is_some_and(|since| now_ms.saturating_sub(since) < REQUEST_PATIENCE_MS);
        (!waiting).then(|| outbox.next_request(now_ms))
    }

    /// A request sent from [`hold`](Self::hold) or from here is over, at `now_ms`: the entries
    /// held meanwhile, for the next request, or none (and no request is in flight any more).
    pub fn sent(&self, now_ms: u64) -> Option<Vec<ExecutionAudit>> {
        let mut outbox = self.0.borrow_mut();
        if outbox.held.is_empty() {
            outbox.in_flight_since = None;
            return None;
        }
        Some(outbox.next_request(now_ms))
    }
}

impl Outbox {
    /// Takes the oldest entries a request carries, and marks it in flight from `now_ms`.
    fn next_request(&mut self, now_ms: u64) -> Vec<ExecutionAudit> {
        self.in_flight_since = Some(now_ms);
        let count = self.held.len().min(ENTRIES_PER_REQUEST);
        self.held.drain(..count).collect()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    /// The entry of execution `id`.
    fn entry(id: &str) -> ExecutionAudit {
        ExecutionAudit::begin(0, id.into(), None, None, "return 1;", Vec::new())
    }

    /// The executions of entries `entries`, in order.
    fn executions(entries: &[ExecutionAudit]) -> Vec<&str> {
        entries.iter().map(|e| e.execution.as_str()).collect()
    }

    #[test]
    fn an_entry_that_finds_the_ledger_idle_is_sent_at_once_and_alone() {
        let outbox = AuditOutbox::default();
        let sent = outbox.hold(entry("a"), 0).expect("sent at once");
        assert_eq!(executions(&sent), ["a"]);
        assert!(outbox.sent(5).is_none(), "nothing else was held");
        let sent = outbox
            .hold(entry("b"), 10)
            .expect("the ledger is idle again");
        assert_eq!(executions(&sent), ["b"]);
    }

    #[test]
    fn entries_that_finish_while_a_request_is_in_flight_go_together_in_the_next() {
        let outbox = AuditOutbox::default();
        assert!(outbox.hold(entry("a"), 0).is_some());
        assert!(outbox.hold(entry("b"), 1).is_none());
        assert!(outbox.hold(entry("c"), 2).is_none());
        let next = outbox.sent(3).expect("what was held meanwhile");
        assert_eq!(executions(&next), ["b", "c"]);
        assert!(
            outbox.hold(entry("d"), 4).is_none(),
            "the next request is in flight"
        );
        assert_eq!(executions(&outbox.sent(5).expect("d")), ["d"]);
        assert!(outbox.sent(6).is_none());
    }

    #[test]
    fn no_entry_is_lost_and_none_is_sent_twice_however_requests_and_entries_interleave() {
        let outbox = AuditOutbox::default();
        let mut delivered = Vec::new();
        let mut in_flight: Vec<Vec<ExecutionAudit>> = Vec::new();
        for n in 0..200_u64 {
            in_flight.extend(outbox.hold(entry(&n.to_string()), n));
            // Every third step, the oldest request in flight is answered.
            if n % 3 == 0 && !in_flight.is_empty() {
                delivered.extend(in_flight.remove(0));
                in_flight.extend(outbox.sent(n));
            }
        }
        while !in_flight.is_empty() {
            delivered.extend(in_flight.remove(0));
            in_flight.extend(outbox.sent(1_000));
        }
        let expected: Vec<String> = (0..200).map(|n| n.to_string()).collect();
        assert_eq!(executions(&delivered), expected);
    }

    #[test]
    fn a_request_carries_at_most_its_share_and_the_rest_follows() {
        let outbox = AuditOutbox::default();
        assert!(outbox.hold(entry("first"), 0).is_some());
        for n in 0..ENTRIES_PER_REQUEST + 3 {
            assert!(outbox.hold(entry(&n.to_string()), 1).is_none());
        }
        assert_eq!(
            outbox.sent(2).expect("a full request").len(),
            ENTRIES_PER_REQUEST
        );
        assert_eq!(outbox.sent(3).expect("the rest").len(), 3);
        assert!(outbox.sent(4).is_none());
    }

    #[test]
    fn a_ledger_that_never_answers_holds_entries_back_only_so_long_and_only_so_many() {
        let outbox = AuditOutbox::default();
        assert!(outbox.hold(entry("lost"), 0).is_some());
        for n in 0..ENTRIES_HELD + 1 {
            assert!(outbox.hold(entry(&n.to_string()), 1).is_none());
        }
        let retried = outbox
            .hold(entry("late"), REQUEST_PATIENCE_MS)
            .expect("a request in flight this long no longer holds the next back");
        assert_eq!(retried.len(), ENTRIES_PER_REQUEST);
        assert_eq!(retried[0].execution, "2", "the oldest held were let go");
    }
}
