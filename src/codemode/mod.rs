//! Code mode: the API the model programs against.
//!
//! - [`typescript`]: JSON Schema → TypeScript types.
//! - [`jsdoc`]: the JSDoc of a schema: description, bounds, hints, examples.
//! - [`catalog`]: every upstream's tools as namespaces and declarations.
//! - [`search`]: finding the declarations that match a query.
//! - [`source`]: checking user code, stripping its types and shaping it for the isolate.
//! - `forbidden`: the constructs the sandbox cannot run, found in the user's code.
//! - [`loop_guard`]: the step checks compiled into every loop and function of the program.
//! - [`tools`]: the two MCP tools this server exposes, `search` and `execute`.

pub mod catalog;
pub mod fit;
mod forbidden;
pub mod jsdoc;
pub mod loop_guard;
pub mod names;
mod references;
pub mod search;
pub mod source;
pub mod tokens;
pub mod tools;
pub mod typescript;
