// @ts-check
// The Worker's main module.
//
// worker-build's output (build/index.js) holds the Rust fetch handler as the default
// entrypoint and the Durable Object classes; this module re-exports exactly those, so nothing
// else worker-build attaches to its output becomes an entrypoint others could call.

import runner, { LedgerObject, SessionObject, UpstreamObject } from "../../build/index.js";

export default runner;
export { LedgerObject, SessionObject, UpstreamObject };
