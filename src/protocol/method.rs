//! The JSON-RPC method names of the requests the runner answers or sends, so that the server,
//! the upstream client and the Worker shell spell each one once.

/// Opens a session.
pub const INITIALIZE: &str = "initialize";
/// Liveness check.
pub const PING: &str = "ping";
/// Lists tools.
pub const TOOLS_LIST: &str = "tools/list";
/// Calls a tool.
pub const TOOLS_CALL: &str = "tools/call";
/// Sets the least severe log event the client wants.
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// What a 2026-07-28 server speaks and can do, in place of `initialize`.
pub const SERVER_DISCOVER: &str = "server/discover";
/// Lists resources.
pub const RESOURCES_LIST: &str = "resources/list";
/// Lists resource templates.
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// Reads a resource.
pub const RESOURCES_READ: &str = "resources/read";
/// Asks the client's person something, through the client (a server's request).
pub const ELICITATION_CREATE: &str = "elicitation/create";
/// Asks the client to sample its model (a server's request).
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
/// Asks the client for its roots (a server's request).
pub const ROOTS_LIST: &str = "roots/list";
