//! The runner as an OAuth client of upstream MCP servers that require it: reading their
//! challenges ([`challenge`]) and finding and checking their metadata ([`discovery`]).

pub mod challenge;
pub mod discovery;
