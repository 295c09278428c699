//! The MCP client side: talking to upstream MCP servers.
//!
//! - [`arguments`]: checking a call's arguments against the tool's input schema before sending.
//! - [`bounds`]: the size, nesting and session rules an upstream's answers are read under.
//! - [`client`]: building requests and reading responses (JSON or SSE) as plain values.
//! - [`sse`]: the Server-Sent Events parser for streamed responses.
//! - [`tool_caps`]: the caps on descriptions, enums and schema depth of a received tool list.
//! - [`health`]: the cached tool list and the upstream's record of answers, for the operator.
//! - [`protocol`]: the messages between the runner and an upstream's Durable Object.
//! - [`queue`]: the calls waiting their turn under an upstream's `maxConcurrentCalls`.
//! - [`recent`]: the tool lists a Worker isolate reuses for a moment instead of asking again.
//! - [`reports`]: what calls made in lent sessions came to, held until reported to the objects.
//! - [`oauth`]: the runner as the OAuth client of an upstream that requires one.
//! - [`param_headers`]: the call arguments a tool asks to see as headers (SEP-2243).
//! - [`keeper`]: one upstream's session, tool list, health, calls and OAuth account.
//! - [`session`]: the MCP session over the platform's HTTP.
//! - [`target`]: where and how to reach an upstream, its secrets resolved.
//! - [`error`]: why a request to an upstream failed.
//!
//! The Durable Object that holds each upstream's session is in the Worker shell.

pub mod arguments;
pub mod bounds;
pub mod client;
pub mod error;
pub mod health;
pub mod keeper;
pub mod listings;
pub mod oauth;
pub mod observed;
pub mod param_headers;
pub mod protocol;
pub mod queue;
pub mod recent;
pub mod reports;
pub mod session;
pub mod shape;
pub mod sse;
pub mod target;
pub mod tool_caps;
