//! The sandbox contract: what crosses between the runner and a dynamic isolate.
//!
//! - [`limits`]: every bound on an execution, in one place.
//! - [`protocol`]: the values that cross: the [`protocol::Grant`] the runner sets as the bridge
//!   stub's props, the [`protocol::BridgeReply`] each tool call returns, and the
//!   [`protocol::Outcome`] the harness reports.
//! - [`depth`]: JSON nested too deep to parse, cut with a marker instead of lost.
//! - [`program`]: the isolate's code (harness plus the user's module) and its configuration.
//!
//! The JavaScript side of the same contract is `worker-template/harness.js`.

pub mod depth;
pub mod limits;
pub mod program;
pub mod protocol;
