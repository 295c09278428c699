//! Bounds on one execution. Each is enforced where noted; the isolate itself is the security
//! boundary, these keep a runaway program from hurting the runner or the agent's context.

/// Largest accepted `code` argument, checked before parsing.
pub const MAX_CODE_BYTES: usize = 64 * 1024;

/// Wall-clock budget of one execution, enforced by the runner: past it, the isolate is
/// abandoned and the agent told.
pub const EXECUTION_TIMEOUT_MS: u32 = 30_000;

/// CPU budget handed to the Worker Loader (`limits.cpuMs`); enforced in production, not by
/// local workerd.
pub const ISOLATE_CPU_MS: u32 = 30_000;

/// Console entries kept per execution; later ones are counted, not kept (harness).
pub const MAX_LOG_ENTRIES: usize = 200;

/// Characters kept of one console entry (harness).
pub const MAX_LOG_ENTRY_CHARS: usize = 2_000;

/// Characters of the serialized result returned to the agent; longer results are cut with a
/// marker that gives the original size (runner).
pub const MAX_RESULT_CHARS: usize = 100_000;

/// The compatibility date dynamic isolates run with.
pub const ISOLATE_COMPATIBILITY_DATE: &str = "2026-11-01";
