//! The runner as an OAuth client of upstream MCP servers that require it: reading their
//! challenges ([`challenge`]), finding and checking their metadata ([`discovery`]), the grant's
//! parts (registration, the authorization request, the tokens: [`grant`]), the exchanges with
//! the servers ([`flow`]), one account's state and decisions ([`account`]), and its record
//! sealed for storage ([`seal`]).

pub mod account;
pub mod challenge;
pub mod discovery;
pub mod flow;
pub mod grant;
pub mod seal;
pub mod settings;
#[cfg(test)]
pub(crate) mod testing;
