// @ts-check
// The Worker's main module.
//
// worker-build's output (build/index.js) holds the Rust fetch handler as an entrypoint class and
// the Durable Object classes. This module exports the Durable Objects and a fetch handler that
// puts the OAuth layer (oauth.js) in front of the Rust handler once people sign in, and nothing
// else, so nothing worker-build attaches to its output becomes an entrypoint others could call.

import runner, { ApprovalObject, LedgerObject, RegistryObject, SessionObject, StashObject, UpstreamObject } from "../../build/index.js";
import { providerFor, signInConfigured, withResourceMetadata } from "./oauth.js";

export default {
  /**
   * @param {Request} request
   * @param {Record<string, unknown>} env
   * @param {ExecutionContext} ctx
   */
  fetch(request, env, ctx) {
    let provider;
    try {
      provider = signInConfigured(env) ? providerFor(new URL(request.url).origin, runner, env) : undefined;
    } catch (error) {
      return new Response(`The runner is misconfigured: ${error instanceof Error ? error.message : error}`, { status: 503 });
    }
    if (provider) {
      // A copy: the layer leaves its helpers on the env it is given (`OAUTH_PROVIDER`), and
      // the isolate's env is shared by every request, whatever origin it came to.
      return provider.fetch(withResourceMetadata(request), { ...env }, ctx);
    }
    return new runner(ctx, env).fetch(request);
  },
};
export { ApprovalObject, LedgerObject, RegistryObject, SessionObject, StashObject, UpstreamObject };
