// @ts-check
// The OAuth 2.1 layer in front of the Rust handler, built on @cloudflare/workers-oauth-provider:
// it serves the metadata documents (RFC 8414, RFC 9728), the token endpoint (authorization code
// with PKCE S256, refresh with rotation, revocation), dynamic client registration and Client ID
// Metadata Documents, and checks every bearer token on /mcp before the runner sees the request.
//
// The runner decides everything about people: the sign-in and consent pages at /authorize are
// the Rust handler's, and a bearer token this layer did not issue (an operator's access key)
// reaches it with empty props, so the runner checks it against RUNNER_TOKEN itself. A token
// this layer issued reaches it with the props the runner completed the authorization with.
//
// The layer is on once sign-in is configured (RUNNER_TOKEN or an identity provider); without
// either, the runner is open, as it was before people had names, and this layer stays out of
// the way.

import { OAuthProvider } from "@cloudflare/workers-oauth-provider";

/** The MCP endpoint, the resource every token is bound to. */
const MCP_PATH = "/mcp";
/** An access token's lifetime unless OAUTH_ACCESS_TOKEN_TTL_SECONDS says else: one hour. */
const ACCESS_TOKEN_TTL_SECONDS = 60 * 60;
/** The shortest access token lifetime the operator may set: KV's shortest expiry. */
const MIN_ACCESS_TOKEN_TTL_SECONDS = 60;
/** The longest access token lifetime the operator may set: one day. */
const MAX_ACCESS_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** A grant's lifetime without use: 30 days, renewed by each refresh. */
const REFRESH_TOKEN_IDLE_TTL_SECONDS = 30 * 24 * 60 * 60;
/** The one scope: using the runner's MCP endpoint. */
const SCOPE = "mcp";
/** How many origins keep a provider; past it the cache starts over. */
const CACHED_ORIGINS = 16;

/** Where protected resource metadata lives for an origin (RFC 9728 §3). */
const RESOURCE_METADATA = "/.well-known/oauth-protected-resource";

/**
 * `request`, with the origin's protected resource metadata asked for as `/mcp`'s: the runner
 * has one protected resource, and clients that look at the origin's well-known path first
 * should find it there too.
 * @param {Request} request
 */
export function withResourceMetadata(request) {
  const url = new URL(request.url);
  if (url.pathname !== RESOURCE_METADATA) {
    return request;
  }
  return new Request(new URL(`${RESOURCE_METADATA}${MCP_PATH}${url.search}`, url), request);
}

/** @type {Map<string, OAuthProvider>} */
const providers = new Map();

/**
 * Whether people sign in: an access key or an identity provider is configured.
 * @param {Record<string, unknown>} env
 */
export function signInConfigured(env) {
  return Boolean(env.RUNNER_TOKEN || env.OIDC_ISSUER);
}

/**
 * The access token lifetime the operator set, in seconds.
 * @param {Record<string, unknown>} env
 * @returns {number}
 */
export function accessTokenTtl(env) {
  const given = env.OAUTH_ACCESS_TOKEN_TTL_SECONDS;
  if (given === undefined || given === "") {
    return ACCESS_TOKEN_TTL_SECONDS;
  }
  const seconds = Number(given);
  if (!Number.isInteger(seconds) || seconds < MIN_ACCESS_TOKEN_TTL_SECONDS || seconds > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new RangeError(
      `OAUTH_ACCESS_TOKEN_TTL_SECONDS must be a whole number of seconds from ${MIN_ACCESS_TOKEN_TTL_SECONDS} to ${MAX_ACCESS_TOKEN_TTL_SECONDS}, not \`${given}\``,
    );
  }
  return seconds;
}

/**
 * The provider for requests to `origin`. Tokens are bound to the URL the client reached the
 * runner at, so each origin (the workers.dev name, a custom domain, 127.0.0.1 locally) has its
 * own. Returns `undefined` for an origin no token could be bound to (plain http beyond
 * loopback), which the runner then refuses by its Host rules.
 * @param {string} origin
 * @param {any} handler the Rust handler (worker-build's entrypoint class)
 * @param {Record<string, unknown>} env
 */
export function providerFor(origin, handler, env) {
  let provider = providers.get(origin);
  if (provider) {
    return provider;
  }
  const { protocol, hostname } = new URL(origin);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
  if (protocol !== "https:" && !loopback) {
    return undefined;
  }
  provider = new OAuthProvider({
    apiRoute: MCP_PATH,
    apiHandler: handler,
    defaultHandler: handler,
    authorizeEndpoint: "/authorize",
    tokenEndpoint: "/token",
    clientRegistrationEndpoint: "/register",
    clientIdMetadataDocumentEnabled: true,
    scopesSupported: [SCOPE],
    accessTokenTTL: accessTokenTtl(env),
    refreshTokenTTL: REFRESH_TOKEN_IDLE_TTL_SECONDS,
    refreshTokenIdleTTL: REFRESH_TOKEN_IDLE_TTL_SECONDS,
    resourceMetadata: {
      resource: `${origin}${MCP_PATH}`,
      authorization_servers: [origin],
      bearer_methods_supported: ["header"],
      resource_name: "MCP Isolate Runner",
    },
    // Not one of this layer's tokens: the runner checks it as an access key for this resource.
    resolveExternalToken: async () => ({ props: {}, audience: `${origin}${MCP_PATH}` }),
  });
  if (providers.size >= CACHED_ORIGINS) {
    providers.clear();
  }
  providers.set(origin, provider);
  return provider;
}
