//! The runner as an OAuth client of upstream MCP servers that require it: reading their
//! challenges ([`challenge`]), finding and checking their metadata ([`discovery`]), and the
//! grant: registration, the authorization request, the tokens ([`grant`]).

pub mod challenge;
pub mod discovery;
pub mod grant;
