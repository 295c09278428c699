//! What the gate needs a person for, as it hands it over: approving a call, and answering what
//! an upstream asks during one.
//!
//! The gate cannot ask anyone itself: asking takes the client's request stream and the
//! session's object. So it sends an [`Ask`] down a channel, to whoever the execution set to
//! answer (they ask one question at a time, in order), and waits for the answer. The time
//! calls spend waiting is kept here, so the execution's timeout can leave it out: a person
//! reading a question is not the program using its time.

use futures::channel::{mpsc, oneshot};
use serde_json::{Map, Value};

use super::protocol::{BridgeReply, ToolErrorKind};
use crate::protocol::approval::Approval;
use crate::upstream::protocol::QuestionAnswer;

/// Something only the person can answer.
pub enum Ask {
    /// May this call be made?
    Approval(ApprovalAsk),
    /// An upstream's own question, during a call.
    Question(UpstreamQuestion),
}

/// A question an upstream asked during a call (`elicitation/create`, `sampling/createMessage`,
/// `roots/list`), to pass on to the person's client.
pub struct UpstreamQuestion {
    /// The upstream that asks.
    pub upstream: String,
    /// What it asks.
    pub method: String,
    /// Its params: the upstream's words.
    pub params: Value,
    /// Where the answer goes.
    pub answer: oneshot::Sender<QuestionAnswer>,
}

/// One call waiting for approval.
pub struct ApprovalAsk {
    /// The upstream (the program's namespace).
    pub upstream: String,
    /// The function the program called.
    pub function: String,
    /// The upstream tool's MCP name.
    pub tool: String,
    /// The call's arguments, for the question's summary (never recorded).
    pub arguments: Map<String, Value>,
    /// Where the answer goes.
    pub answer: oneshot::Sender<Result<Approval, Refusal>>,
}

/// The asks of one execution, in the order calls made them.
pub type Asks = mpsc::UnboundedReceiver<Ask>;

/// Why a call was not approved; the program's call throws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The person said no, or did not answer in time.
    Declined(String),
    /// No one could be asked here; the message says how to get approval.
    Required(String),
    /// The person can be asked only through the client's next request (a stateless request
    /// cannot wait): the `elicitation/create` params to ask with.
    Wanted(Value),
}

impl Refusal {
    /// The reply the program's call gets.
    pub fn reply(self) -> BridgeReply {
        let (kind, message) = match self {
            Self::Declined(message) => (ToolErrorKind::ApprovalDeclined, message),
            Self::Required(message) => (ToolErrorKind::ApprovalRequired, message),
            Self::Wanted(_) => (
                ToolErrorKind::ApprovalRequired,
                "the person is asked in the client's next request".to_owned(),
            ),
        };
        BridgeReply::Error { kind, message }
    }
}

/// The time an execution's calls spent waiting for people, overlapping waits counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Calls waiting now.
    calls: u32,
    /// When the current stretch of waiting began.
    since_ms: u64,
    /// Earlier stretches, all together.
    total_ms: u64,
}

impl Waiting {
    /// A call starts waiting at `now_ms`.
    pub fn begin(&mut self, now_ms: u64) {
        if self.calls == 0 {
            self.since_ms = now_ms;
        }
        self.calls += 1;
    }

    /// A call stops waiting at `now_ms`.
    pub fn end(&mut self, now_ms: u64) {
        self.calls = self.calls.saturating_sub(1);
        if self.calls == 0 {
            self.total_ms += now_ms.saturating_sub(self.since_ms);
        }
    }

    /// Whether a call is waiting now.
    pub fn is_waiting(&self) -> bool {
        self.calls > 0
    }

    /// The time spent waiting up to `now_ms`.
    pub fn ms(&self, now_ms: u64) -> u64 {
        let current = if self.calls > 0 {
            now_ms.saturating_sub(self.since_ms)
        } else {
            0
        };
        self.total_ms + current
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn overlapping_waits_count_once_and_a_current_wait_counts_so_far() {
        let mut waiting = Waiting::default();
        waiting.begin(100);
        waiting.begin(150);
        assert_eq!(waiting.ms(170), 70);
        waiting.end(200);
        assert!(waiting.is_waiting());
        waiting.end(300);
        assert!(!waiting.is_waiting());
        assert_eq!(waiting.ms(1_000), 200);
        waiting.begin(2_000);
        waiting.end(2_050);
        assert_eq!(waiting.ms(5_000), 250);
    }

    #[test]
    fn a_refusal_is_the_error_class_the_program_catches() {
        let BridgeReply::Error { kind, message } = Refusal::Declined("no".into()).reply() else {
            panic!("a refusal is an error");
        };
        assert_eq!(
            (kind, message.as_str()),
            (ToolErrorKind::ApprovalDeclined, "no")
        );
        let required = Refusal::Required("open the link".into()).reply();
        assert!(matches!(
            required,
            BridgeReply::Error {
                kind: ToolErrorKind::ApprovalRequired,
                ..
            }
        ));
    }
}
