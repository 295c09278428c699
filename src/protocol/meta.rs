//! The `_meta` keys and headers of the stateless protocol (2026-07-28): what every request
//! carries in place of a session, as the server side checks it and the upstream client sends it.

/// The header repeating the request's method.
pub const METHOD_HEADER: &str = "Mcp-Method";
/// The header repeating the called tool's name.
pub const NAME_HEADER: &str = "Mcp-Name";
/// The `_meta` key naming the request's protocol version.
pub const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key holding the client's capabilities.
pub const CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key naming the client.
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// The `_meta` key holding the least severe log event the client wants for this request.
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// The `_meta` key under which results name the server.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
