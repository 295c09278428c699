//! A call refused for its arguments (`InvalidArguments`) comes back with the function's
//! declared arguments beside what was wrong, so the model can fix the call without searching
//! again. The declarations are the catalog's; the gate is only told how to get them.

use super::{CallGate, HeldReply};
use crate::sandbox::protocol::{BridgeReply, ToolErrorKind};

/// The declared arguments of `namespace.function`, as TypeScript, when known.
pub type Signatures = Box<dyn Fn(&str, &str) -> Option<String>>;

impl CallGate {
    /// Tells the gate where to find the functions' declared arguments.
    pub fn explain_with(&self, signatures: Signatures) {
        *self.inner.signatures.borrow_mut() = Some(signatures);
    }

    /// `reply` to a call of `namespace.function`, with the declared arguments added when it
    /// says they were invalid.
    pub(super) fn explained<R: HeldReply>(
        &self,
        (namespace, function): (&str, &str),
        reply: R,
    ) -> R {
        if reply.error() != Some(ToolErrorKind::InvalidArguments) {
            return reply;
        }
        let signatures = self.inner.signatures.borrow();
        let Some(declared) = signatures.as_ref().and_then(|s| s(namespace, function)) else {
            return reply;
        };
        match BridgeReply::from_wire(&reply.wire()) {
            Ok(BridgeReply::Error { kind, message }) => R::of(&BridgeReply::Error {
                kind,
                message: format!("{message}; `{namespace}.{function}` takes {declared}"),
            }),
            _ => reply,
        }
    }
}
