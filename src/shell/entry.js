// The Worker's main module.
//
// worker-build's output (build/index.js) holds the Rust fetch handler as the default
// entrypoint and the Durable Object classes; this module re-exports exactly those and adds the
// `Bridge` entrypoint, the one capability a sandboxed program is given. workers-rs cannot
// declare a WorkerEntrypoint class, so these few lines are JavaScript.
//
// `Bridge` has one RPC method. Its props are set by the runner when it creates the stub
// (src/shell/loader.rs) and cannot be changed by the program holding it; the Rust side
// (src/shell/bridge.rs) checks them on every call. `BridgeHost` is imported, not re-exported,
// so it is no entrypoint of its own.

import { WorkerEntrypoint } from "cloudflare:workers";
import runner, { BridgeHost, LedgerObject, SessionObject, UpstreamObject } from "../../build/index.js";

export default runner;
export { LedgerObject, SessionObject, UpstreamObject };

export class Bridge extends WorkerEntrypoint {
  callTool(upstream, tool, args) {
    return BridgeHost.callTool(this.env, this.ctx.props, String(upstream), String(tool), args);
  }
}
