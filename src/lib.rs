//! MCP Isolate Runner: a remote MCP server on Cloudflare Workers that exposes upstream MCP
//! servers in *code mode*.
//!
//! Instead of one tool definition per upstream tool, an agent sees two tools: `search`, which
//! returns TypeScript declarations of the upstream tools, and `execute`, which runs TypeScript
//! against them in a fresh dynamic isolate that has no network and exactly one capability: an
//! RPC stub back to this Worker that forwards tool calls to the right upstream.
//!
//! The crate is split so that almost everything is plain Rust, tested on the host. From the
//! ground floor up (a module imports only from the ones listed before it):
//!
//! - [`protocol`]: the MCP vocabulary: HTTP values, header, method and notification names,
//!   error codes, protocol versions, log levels, token fingerprints, the signed-in person.
//! - [`names`]: which identifiers a program may use, and MCP tool names made into them.
//! - [`json_size`]: the size of a value's JSON without writing it out.
//! - [`cold`]: the branches a request seldom takes, boxed out of the code every request runs.
//! - [`digest`]: SHA-256 as hex, to name a thing without holding it.
//! - [`quote`]: text from others (upstreams, programs) shown quoted, capped and neutralised.
//! - [`redact`]: removing secret values (and their encodings) from what upstreams say.
//! - [`config`]: the operator's configuration: upstreams, access keys, the access policy.
//! - [`session`]: the record each MCP session keeps.
//! - [`upstream`]: the MCP client side: requests to upstream servers and their responses.
//! - [`sandbox`]: what crosses into the isolate: the program, the grant, the bridge protocol.
//! - [`codemode`]: JSON Schema → TypeScript, search, and preparing user code for the isolate.
//! - [`mcp`]: JSON-RPC messages, method dispatch and streamable HTTP (the server side), which
//!   knows nothing of the product: its backend trait lists the tools and resources.
//! - [`audit`]: one entry per execution: who ran what, which calls, which limits it hit; and
//!   the ledger that keeps the last of them.
//! - [`metrics`]: counts, latencies and token savings, as a resource and for Prometheus.
//! - [`execution`]: one `execute` from code to result and audit entry, over a small platform
//!   trait.
//! - [`admin`]: the operator's endpoint: upstream health and refresh, the audit log.
//! - [`admission`]: the order a request is served in: the guard before the configuration.
//! - [`signin`]: the pages a person signs in on to let an OAuth client use the runner.
//! - [`runner`]: the product's MCP backend (sessions, the two tools, metrics, the operator's
//!   view) over the services the Worker provides, what a session's object does, and a
//!   request's arrival: guard, person, configuration, grant.
//!
//! Only the `shell` module (compiled for `wasm32` alone) touches JavaScript: the fetch handler,
//! the Durable Objects' storage and requests, the Worker Loader, the bridge function and the
//! OAuth layer's helpers.

pub mod admin;
pub mod admission;
pub mod audit;
pub mod codemode;
pub mod cold;
pub mod config;
pub mod digest;
pub mod execution;
pub mod json_size;
pub mod mcp;
pub mod metrics;
pub mod names;
pub mod protocol;
pub mod quote;
pub mod redact;
pub mod runner;
pub mod sandbox;
pub mod session;
pub mod signin;
pub mod upstream;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod testing;

#[cfg(target_arch = "wasm32")]
mod shell;
