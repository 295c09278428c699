//! The MCP protocol versions the runner speaks: to its clients, with and without sessions, and
//! to its upstreams.

use rmcp::model::ProtocolVersion;

/// Versions served in sessions (the handshake era), newest first.
pub const SESSION_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
];

/// Versions served without a session, newest first.
pub const STATELESS_VERSIONS: &[ProtocolVersion] = &[ProtocolVersion::V_2026_07_28];

/// The version the runner asks upstreams for; they may answer with an older one.
pub const UPSTREAM_REQUESTED: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The versions the runner can speak with an upstream, newest first.
pub const UPSTREAM_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2024_11_05,
];
