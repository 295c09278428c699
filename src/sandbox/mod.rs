//! The sandbox contract: what crosses between the runner and a dynamic isolate.
//!
//! - [`limits`]: every bound on an execution, in one place.
//! - [`protocol`]: the values that cross: the [`protocol::BridgeReply`] each tool call returns
//!   and the [`protocol::Outcome`] the harness reports.
//! - [`depth`]: JSON nested too deep to parse, cut with a marker instead of lost.
//! - [`program`]: the isolate's code (harness plus the user's module), its configuration and
//!   the [`program::Manifest`] of functions it is given.
//! - [`gate`]: the trusted side of every tool call: resolution, counting limits, the trace.
//!
//! The JavaScript side of the same contract is `worker-template/harness.js`.

pub mod asks;
pub mod depth;
pub mod gate;
pub mod limits;
pub mod program;
pub mod protocol;
pub mod replay;
