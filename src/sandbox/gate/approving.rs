//! A call that needs the person's approval: handed over as an [`Ask::Approval`] and waited for,
//! the wait timed so the execution's deadline can give it back.

use futures::channel::oneshot;

use super::{CallGate, ToolCall};
use crate::protocol::approval::Approval;
use crate::sandbox::asks::{ApprovalAsk, Ask, Refusal};

impl CallGate {
    /// Hands `call` of `function` over for approval and waits for the answer; the wait is
    /// timed by `clock`. A closed gate, or no one to ask, refuses it.
    pub(super) async fn approval(
        &self,
        function: &str,
        call: &ToolCall,
        clock: &impl Fn() -> u64,
    ) -> Result<Approval, Refusal> {
        let (answer, answered) = oneshot::channel();
        let ask = Ask::Approval(ApprovalAsk {
            upstream: call.upstream.clone(),
            function: function.to_owned(),
            tool: call.tool.clone(),
            arguments: call.arguments.clone(),
            answer,
        });
        let nobody = || Refusal::Required("no one can be asked to approve calls here".to_owned());
        self.inner.asks.unbounded_send(ask).map_err(|_| nobody())?;
        self.inner.state.borrow_mut().waiting.begin(clock());
        let answer = answered.await;
        self.inner.state.borrow_mut().waiting.end(clock());
        match answer {
            Ok(answer) => answer,
            // The execution is over: whoever was asking has gone.
            Err(_) => Err(Refusal::Declined(self.closed_message())),
        }
    }

    /// The time calls have spent waiting for approval up to `now_ms`, and whether one still is.
    pub fn approval_wait(&self, now_ms: u64) -> (u64, bool) {
        let waiting = self.inner.state.borrow().waiting;
        (waiting.ms(now_ms), waiting.is_waiting())
    }
}
