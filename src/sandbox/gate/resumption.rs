//! A stateless run's resumption, on the gate's side (see [`crate::sandbox::replay`]): its
//! calls recorded for a rerun, the record's calls answered on the rerun, and the run stopped
//! where a call waits for the person's answer in the client's next request.

use std::future::Future;

use futures::channel::oneshot;
use futures::future::pending;
use serde_json::Value;

use super::CallGate;
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};
use crate::sandbox::replay::{
    arguments_sha256, RecordedCall, Recording, Replay, Rerun, WaitingCall,
};

/// What the gate keeps of a resumable run.
pub(super) struct Resumption {
    replay: Replay,
    recording: Recording,
    /// The call waiting for the person, and the question to ask, once one waits.
    waiting: Option<(WaitingCall, Value)>,
    /// Told when a call waits.
    told: Option<oneshot::Sender<()>>,
}

/// Where a run stopped for the person: the call that waits, the question, and the calls
/// made before it.
pub struct Stopped {
    /// The call that waits.
    pub waiting: WaitingCall,
    /// The `elicitation/create` params to ask the person with.
    pub question: Value,
    /// The calls before it, for the rerun.
    pub recorded: Vec<RecordedCall>,
}

impl CallGate {
    /// Makes this run resumable: its calls are recorded, and those of `replay` answered from
    /// its record. Resolves when a call waits for the person's answer in the client's next
    /// request (the run is then over); never otherwise.
    pub fn resumable(&self, replay: Replay) -> impl Future<Output = ()> + 'static {
        let (told, waits) = oneshot::channel();
        *self.inner.resumption.borrow_mut() = Some(Resumption {
            replay,
            recording: Recording::default(),
            waiting: None,
            told: Some(told),
        });
        async move {
            if waits.await.is_err() {
                pending::<()>().await;
            }
        }
    }

    /// Whether the run may be resumed, so its calls are recorded.
    pub(super) fn is_resumable(&self) -> bool {
        self.inner.resumption.borrow().is_some()
    }

    /// Whether the run stopped for the person (its outcome then is moot).
    pub fn waits_for_person(&self) -> bool {
        let resumption = self.inner.resumption.borrow();
        resumption.as_ref().is_some_and(|r| r.waiting.is_some())
    }

    /// Where the run stopped for the person, once it has.
    pub fn stopped(&self) -> Option<Stopped> {
        let resumption = self.inner.resumption.borrow();
        let resumption = resumption.as_ref()?;
        let (waiting, question) = resumption.waiting.clone()?;
        Some(Stopped {
            waiting,
            question,
            recorded: resumption.recording.calls()?.to_vec(),
        })
    }

    /// What the call of `name` with `arguments` is on this run: `None` when the run is not
    /// resumable, or the call is past the record.
    pub(super) fn rerun(&self, name: &str, arguments: &str) -> Option<Rerun> {
        let mut resumption = self.inner.resumption.borrow_mut();
        let rerun = resumption
            .as_mut()?
            .replay
            .rerun(name, &arguments_sha256(arguments));
        (rerun != Rerun::New).then_some(rerun)
    }

    /// Records a finished call of `name` with `arguments` for a rerun, with its reply's JSON.
    pub(super) fn keep_for_rerun(&self, name: &str, arguments: &str, reply: &str) {
        if let Some(resumption) = self.inner.resumption.borrow_mut().as_mut() {
            resumption.recording.push(RecordedCall {
                function: name.to_owned(),
                arguments_sha256: arguments_sha256(arguments),
                reply: reply.to_owned(),
            });
        }
    }

    /// The reply to a call of `name` with `arguments` that waits for the person, who is asked
    /// `question` in the client's next request: the run stops here, to be resumed. A run that
    /// cannot be resumed refuses the call instead, saying why.
    pub(super) fn wait_for_person(
        &self,
        name: String,
        arguments: &str,
        question: Value,
    ) -> BridgeReply {
        let told = {
            let mut resumption = self.inner.resumption.borrow_mut();
            let resumable = resumption
                .as_mut()
                .filter(|r| r.recording.calls().is_some());
            resumable.and_then(|resumption| {
                let waiting = WaitingCall {
                    function: name.clone(),
                    arguments_sha256: arguments_sha256(arguments),
                };
                resumption.waiting = Some((waiting, question));
                resumption.told.take()
            })
        };
        let Some(told) = told else {
            let reply = BridgeReply::Error {
                kind: ToolErrorKind::ApprovalRequired,
                message: format!(
                    "{name} needs a person's approval, asked in the client's next request, but \
                     this run's results are too large to replay then; use a client with a \
                     session and elicitation"
                ),
            };
            return self.refuse(name, reply, None);
        };
        let reason = "a call waits for the person's approval, asked in the client's next request";
        let reply = self.refuse(
            name,
            BridgeReply::Error {
                kind: ToolErrorKind::Cancelled,
                message: reason.to_owned(),
            },
            None,
        );
        self.close(reason);
        // The run's watcher may have gone with the run.
        let _ = told.send(());
        reply
    }
}
