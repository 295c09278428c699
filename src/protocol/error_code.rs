//! JSON-RPC error codes the runner sends that rmcp's [`ErrorCode`] has no constant for; every
//! other code is one of rmcp's.

use rmcp::model::ErrorCode;

/// A JSON answer to a request its client cancelled (as in LSP; MCP clients discard answers to
/// cancelled requests).
pub const REQUEST_CANCELLED: ErrorCode = ErrorCode(-32800);

/// A session id the server does not know; what the reference SDKs send with their 404.
pub const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);
