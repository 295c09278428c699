//! The vocabulary of MCP over HTTP, defined once on the ground floor so that the server side
//! ([`crate::mcp`]), the client side ([`crate::upstream`]), the product modules and the Worker
//! shell all name the same thing the same way. Nothing here imports the rest of the crate.
//!
//! - [`http`]: HTTP requests and responses as plain values, and the header names MCP uses.
//! - [`method`]: the JSON-RPC method names of requests; [`notification`]: of notifications.
//! - [`error_code`]: the JSON-RPC error codes rmcp's `ErrorCode` does not name.
//! - [`version`]: the protocol versions spoken, to clients and to upstreams.
//! - [`log_level`]: the severities of `logging/setLevel`.
//! - [`meta`]: the `_meta` keys and headers of the stateless protocol.
//! - [`token`]: who presented a bearer token, without the token.
//! - [`person`]: who is using the runner, as the runner signed them in.
//! - [`approval`]: a person's approval of one tool call.

pub mod approval;
pub mod error_code;
pub mod http;
pub mod log_level;
pub mod meta;
pub mod method;
pub mod notification;
pub mod person;
pub mod token;
pub mod version;
