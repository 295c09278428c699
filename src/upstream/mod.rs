//! The MCP client side.
