//! The JSON-RPC method names of the notifications the runner sends or reads.

/// The client (here: the runner, to an upstream) finished initializing.
pub const INITIALIZED: &str = "notifications/initialized";
/// Progress of a request that carried a `progressToken`.
pub const PROGRESS: &str = "notifications/progress";
/// A log event.
pub const MESSAGE: &str = "notifications/message";
/// A client abandoning one of its requests.
pub const CANCELLED: &str = "notifications/cancelled";
/// A server's tool list changed.
pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
