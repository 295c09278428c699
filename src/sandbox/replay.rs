//! Running a program again without making its calls again (SEP-2322, protocol 2026-07-28).
//!
//! A stateless request cannot wait for a person: when a call needs approval, the `execute` is
//! answered with the question, and the client asks again with the answer. The program then runs
//! from the start, so the calls it made the first time must not be made twice. The gate records
//! each call's function, a hash of its arguments and its reply ([`Recording`]); on the rerun it
//! answers the same calls, in the same order, from that record ([`Replay`]), and the call that
//! waited gets the person's decision. A program whose calls differ on the rerun stops there:
//! its record no longer describes it.
//!
//! The record is kept on the trusted side (the runner's storage, under an unguessable id); the
//! client holds only the id, so it cannot forge a recorded result.

use std::collections::VecDeque;

use crate::digest::sha256_hex;
use serde::{Deserialize, Serialize};

use super::asks::Refusal;
use crate::protocol::approval::Approval;

/// The most bytes of replies a recording keeps; past it, a program cannot be resumed.
pub const MAX_RECORDED_BYTES: usize = 1 << 20;

/// One call as recorded for a rerun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedCall {
    /// `namespace.function`.
    pub function: String,
    /// The SHA-256 of its arguments' JSON, as the program sent it.
    pub arguments_sha256: String,
    /// Its reply's JSON, as the program got it.
    pub reply: String,
}

/// The call that waits for the person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingCall {
    /// `namespace.function`.
    pub function: String,
    /// The SHA-256 of its arguments' JSON.
    pub arguments_sha256: String,
}

/// The SHA-256 of a call's arguments, as hex.
pub fn arguments_sha256(arguments: &str) -> String {
    sha256_hex(arguments)
}

/// The calls of one run, recorded as they finish, within [`MAX_RECORDED_BYTES`].
#[derive(Debug, Default)]
pub struct Recording {
    calls: Vec<RecordedCall>,
    bytes: usize,
    /// Whether a reply did not fit, so the run cannot be resumed.
    overflowed: bool,
}

impl Recording {
    /// Records a finished call.
    pub fn push(&mut self, call: RecordedCall) {
        self.bytes += call.reply.len();
        if self.bytes > MAX_RECORDED_BYTES {
            self.overflowed = true;
            self.calls.clear();
        }
        if !self.overflowed {
            self.calls.push(call);
        }
    }

    /// The calls, unless the record overflowed.
    pub fn calls(&self) -> Option<&[RecordedCall]> {
        (!self.overflowed).then_some(self.calls.as_slice())
    }
}

/// What the rerun of a call is.
#[derive(Debug, Clone, PartialEq)]
pub enum Rerun {
    /// The call was made before: its recorded reply.
    Recorded(String),
    /// The call that waited for the person: their decision.
    Decided(Result<Approval, Refusal>),
    /// The program called something else than it did before; it stops.
    Diverged(String),
    /// Past the record: the call is made.
    New,
}

/// The record a rerun follows, and the person's decision on the call that waited.
#[derive(Debug, Default)]
pub struct Replay {
    recorded: VecDeque<RecordedCall>,
    waiting: Option<(WaitingCall, Result<Approval, Refusal>)>,
}

impl Replay {
    /// A rerun of `recorded`, with `decision` on the `waiting` call.
    pub fn new(
        recorded: Vec<RecordedCall>,
        waiting: WaitingCall,
        decision: Result<Approval, Refusal>,
    ) -> Self {
        Self {
            recorded: recorded.into(),
            waiting: Some((waiting, decision)),
        }
    }

    /// What the call of `function` with `arguments_sha256` is on this rerun.
    pub fn rerun(&mut self, function: &str, arguments_sha256: &str) -> Rerun {
        if let Some(expected) = self.recorded.pop_front() {
            if expected.function == function && expected.arguments_sha256 == arguments_sha256 {
                return Rerun::Recorded(expected.reply);
            }
            self.recorded.clear();
            self.waiting = None;
            return Rerun::Diverged(format!(
                "on the rerun the program called {function} where it had called {} (with \
                 the same arguments or not): a resumed program must make the same calls in the \
                 same order; run it again without requestState",
                expected.function
            ));
        }
        match self.waiting.take() {
            Some((waiting, decision))
                if waiting.function == function && waiting.arguments_sha256 == arguments_sha256 =>
            {
                Rerun::Decided(decision)
            }
            Some((waiting, _)) => Rerun::Diverged(format!(
                "on the rerun the program called {function} where it had waited for approval \
                 of {}; run it again without requestState",
                waiting.function
            )),
            None => Rerun::New,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::protocol::approval::ApprovalWay;

    fn recorded(function: &str, arguments: &str, reply: &str) -> RecordedCall {
        RecordedCall {
            function: function.into(),
            arguments_sha256: arguments_sha256(arguments),
            reply: reply.into(),
        }
    }

    fn approved() -> Result<Approval, Refusal> {
        Ok(Approval {
            way: ApprovalWay::Elicitation,
            by: None,
            at_ms: 1,
        })
    }

    fn waiting(function: &str, arguments: &str) -> WaitingCall {
        WaitingCall {
            function: function.into(),
            arguments_sha256: arguments_sha256(arguments),
        }
    }

    #[test]
    fn the_same_calls_get_their_recorded_replies_then_the_waiting_one_its_decision() {
        let calls = vec![
            recorded("a.f", "{\"x\":1}", "r1"),
            recorded("a.g", "{}", "r2"),
        ];
        let mut replay = Replay::new(calls, waiting("a.del", "{\"id\":3}"), approved());
        let sha = arguments_sha256;
        assert_eq!(
            replay.rerun("a.f", &sha("{\"x\":1}")),
            Rerun::Recorded("r1".into())
        );
        assert_eq!(
            replay.rerun("a.g", &sha("{}")),
            Rerun::Recorded("r2".into())
        );
        assert_eq!(
            replay.rerun("a.del", &sha("{\"id\":3}")),
            Rerun::Decided(approved())
        );
        assert_eq!(replay.rerun("a.f", &sha("{}")), Rerun::New);
    }

    #[test]
    fn a_call_that_differs_from_the_record_stops_the_rerun() {
        let sha = arguments_sha256;
        let mut replay = Replay::new(
            vec![recorded("a.f", "{\"x\":1}", "r1")],
            waiting("a.del", "{}"),
            approved(),
        );
        assert!(matches!(
            replay.rerun("a.f", &sha("{\"x\":2}")),
            Rerun::Diverged(_)
        ));
        let mut replay = Replay::new(Vec::new(), waiting("a.del", "{\"id\":1}"), approved());
        assert!(matches!(
            replay.rerun("a.del", &sha("{\"id\":2}")),
            Rerun::Diverged(_)
        ));
    }

    #[test]
    fn a_recording_past_its_size_cannot_be_resumed() {
        let mut recording = Recording::default();
        recording.push(recorded("a.f", "{}", "small"));
        assert_eq!(recording.calls().map(<[_]>::len), Some(1));
        recording.push(recorded("a.f", "{}", &"x".repeat(MAX_RECORDED_BYTES)));
        recording.push(recorded("a.f", "{}", "small"));
        assert_eq!(recording.calls(), None);
    }
}
