//! The MCP server side: JSON-RPC framing ([`jsonrpc`]), method dispatch against a
//! [`ServerBackend`] ([`server`]), what a handler may tell the client before it answers
//! ([`context`]), SSE answers ([`events`]), the streamable HTTP transport ([`http`]) and the
//! Host/Origin check that keeps DNS rebinding out ([`guard`]).
//!
//! Nothing here does I/O: the transport takes an
//! [`HttpRequest`](crate::protocol::http::HttpRequest) value and returns an
//! [`HttpResponse`](crate::protocol::http::HttpResponse) value, and everything stateful
//! (sessions, tools, resources) sits behind the backend trait that the Worker shell implements.
//! Nothing here knows what the product is: the backend names its tools and resources.
//!
//! Spec: <https://modelcontextprotocol.io/specification/2025-11-25/basic/transports>

pub mod context;
pub mod events;
pub mod guard;
pub mod http;
pub mod jsonrpc;
pub mod server;
pub mod stateless;
#[cfg(test)]
mod testing;

pub use server::{BackendError, Caller, ServerBackend};
