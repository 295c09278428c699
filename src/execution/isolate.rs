//! What an execution asks of the isolate it runs in, and how that run can fail.

use crate::mcp::context::RequestContext;
use crate::sandbox::gate::CallGate;
use crate::sandbox::program::{RunRequest, WorkerCode};

/// One program to run in a fresh isolate.
pub struct IsolateRun<'a> {
    /// The execution's id, which its upstream calls carry so that abandoning it stops them.
    pub id: &'a str,
    /// The MCP session it belongs to, told of what an abandonment stopped.
    pub session: Option<&'a str>,
    /// The request it answers: told of each finished call as progress, and watched for its
    /// cancellation.
    pub context: &'a RequestContext,
    /// The isolate's modules: the harness and the prepared program.
    pub code: WorkerCode,
    /// What the harness is asked to run.
    pub request: &'a RunRequest,
    /// The gate every tool call of the program passes, on the trusted side.
    pub gate: &'a CallGate,
    /// How long the program may take (`timeoutMs`).
    pub timeout_ms: u32,
}

/// Why a program did not produce an outcome (as opposed to failing while running).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The isolate could not be loaded or the harness not called.
    #[error("the sandbox could not start: {0}")]
    Start(String),
    /// The program was still running at `timeoutMs`, and was abandoned.
    #[error("the program did not finish within {0} ms (timeoutMs) and was abandoned")]
    Timeout(u32),
    /// The program returned, but after `timeoutMs`: it held the CPU, so no timer could fire.
    #[error(
        "the program ran for {ms} ms, past its limit of {limit} ms (timeoutMs): it held the CPU \
         without pausing, so it could not be stopped in time; its result is discarded"
    )]
    Overran {
        /// How long it ran.
        ms: u64,
        /// Its `timeoutMs`.
        limit: u32,
    },
    /// The client cancelled the request, for this reason.
    #[error("the client cancelled the execution ({0})")]
    Cancelled(String),
    /// A call waits for the person, who is asked in the client's next request (a stateless
    /// request cannot wait); the run stopped there, to be resumed.
    #[error("a call waits for the person's approval, asked in the client's next request")]
    AwaitingPerson,
    /// The isolate failed, or its harness's report was unreadable.
    #[error("the sandbox stopped unexpectedly: {0}")]
    Crashed(String),
}

impl SandboxError {
    /// Whether the program ran out of time, either way.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            SandboxError::Timeout(_) | SandboxError::Overran { .. }
        )
    }
}
