#!/usr/bin/env node
// An MCP server that accepts only OAuth, with its own authorization server, both built with the
// TypeScript SDK's auth support (`mcpAuthRouter`, `requireBearerAuth`): each person who signs in
// has their own notes. The end-to-end tests use it as an upstream the runner connects per
// person (tests/e2e/upstream_oauth.test.mjs). Binds 127.0.0.1.
//
//     node tests/upstreams/oauth_notes_server.mjs --port N [--ttl SECONDS]
//
// Authorization server: metadata, dynamic registration, /authorize (a page asking who you are;
// its form posts to /login, which sends you back with a code), /token (codes and refresh
// tokens; access tokens live --ttl seconds, 3600 by default), /revoke.
// Resource: POST /mcp (stateless streamable HTTP), tools:
//   whoami {}        the signed-in person's name
//   note_add {text}  adds a note to their notes
//   notes_list {}    their notes
//   echo_token {}    the bearer token it was called with, as it is and in base64 (a hostile
//                    upstream, for the redaction tests)
// Control (for the tests): POST /control/revoke {user} revokes every token of `user`;
// GET /control/issued lists every token, code and client secret issued, and the grant types
// asked for at /token, in order.

import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";

import express from "express";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { getOAuthProtectedResourceMetadataUrl, mcpAuthRouter } from "@modelcontextprotocol/sdk/server/auth/router.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidGrantError, InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { z } from "zod";

const { values } = parseArgs({ options: { port: { type: "string" }, ttl: { type: "string", default: "3600" } } });
const base = `http://127.0.0.1:${values.port}`;
const ttlSeconds = Number(values.ttl);
const secret = (prefix) => `${prefix}-${randomBytes(18).toString("base64url")}`;

/** What the tests may scan for and count. */
const issued = { tokens: [], codes: [], clientSecrets: [], grantTypes: [] };
const clients = new Map();
/** code → { clientId, user, challenge, redirectUri, scopes } */
const codes = new Map();
/** access token → { user, clientId, scopes, expiresAt } */
const accessTokens = new Map();
/** refresh token → { user, clientId, scopes } */
const refreshTokens = new Map();
/** user → notes */
const notes = new Map();

/** New tokens for `user`. */
function tokensFor(user, clientId, scopes) {
  const access = secret("access");
  const refresh = secret("refresh");
  issued.tokens.push(access, refresh);
  accessTokens.set(access, { user, clientId, scopes, expiresAt: Math.floor(Date.now() / 1000) + ttlSeconds });
  refreshTokens.set(refresh, { user, clientId, scopes });
  return { access_token: access, token_type: "bearer", expires_in: ttlSeconds, refresh_token: refresh, scope: scopes.join(" ") };
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @type {import("@modelcontextprotocol/sdk/server/auth/provider.js").OAuthServerProvider} */
const provider = {
  clientsStore: {
    async getClient(id) {
      return clients.get(id);
    },
    async registerClient(client) {
      const full = { ...client, client_id: secret("client"), client_id_issued_at: Math.floor(Date.now() / 1000) };
      if (client.token_endpoint_auth_method !== "none") {
        full.client_secret = secret("client-secret");
        issued.clientSecrets.push(full.client_secret);
      }
      clients.set(full.client_id, full);
      return full;
    },
  },
  async authorize(client, params, res) {
    const hidden = {
      client_id: client.client_id,
      redirect_uri: params.redirectUri,
      state: params.state ?? "",
      code_challenge: params.codeChallenge,
      scopes: (params.scopes ?? []).join(" "),
    };
    const fields = Object.entries(hidden)
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
      .join("");
    res.type("html").send(`<!doctype html><title>Notes: sign in</title><form method="post" action="/login">${fields}` +
      `<label>Who are you? <input name="user"></label><button>Sign in</button></form>`);
  },
  async challengeForAuthorizationCode(_client, code) {
    const grant = codes.get(code);
    if (!grant) {
      throw new InvalidGrantError("unknown code");
    }
    return grant.challenge;
  },
  async exchangeAuthorizationCode(client, code) {
    issued.grantTypes.push("authorization_code");
    const grant = codes.get(code);
    codes.delete(code);
    if (!grant || grant.clientId !== client.client_id) {
      throw new InvalidGrantError("unknown code");
    }
    return tokensFor(grant.user, client.client_id, grant.scopes);
  },
  async exchangeRefreshToken(client, refreshToken) {
    issued.grantTypes.push("refresh_token");
    const grant = refreshTokens.get(refreshToken);
    if (!grant || grant.clientId !== client.client_id) {
      throw new InvalidGrantError("unknown refresh token");
    }
    refreshTokens.delete(refreshToken);
    return tokensFor(grant.user, client.client_id, grant.scopes);
  },
  async verifyAccessToken(token) {
    const grant = accessTokens.get(token);
    if (!grant) {
      throw new InvalidTokenError("unknown or revoked token");
    }
    return { token, clientId: grant.clientId, scopes: grant.scopes, expiresAt: grant.expiresAt, extra: { user: grant.user } };
  },
  async revokeToken(_client, { token }) {
    accessTokens.delete(token);
    refreshTokens.delete(token);
  },
};

const app = express();
const noLimit = { rateLimit: false };
app.use(mcpAuthRouter({
  provider,
  issuerUrl: new URL(base),
  resourceServerUrl: new URL(`${base}/mcp`),
  scopesSupported: ["notes"],
  authorizationOptions: noLimit,
  tokenOptions: noLimit,
  clientRegistrationOptions: noLimit,
  revocationOptions: noLimit,
}));

app.post("/login", express.urlencoded({ extended: false }), (req, res) => {
  const { client_id: clientId, redirect_uri: redirectUri, state, code_challenge: challenge, scopes, user } = req.body;
  if (!user) {
    res.status(400).send("Say who you are.");
    return;
  }
  const code = secret("code");
  issued.codes.push(code);
  codes.set(code, { clientId, user, challenge, redirectUri, scopes: scopes ? scopes.split(" ") : [] });
  const back = new URL(redirectUri);
  back.searchParams.set("code", code);
  if (state) {
    back.searchParams.set("state", state);
  }
  res.redirect(302, back.href);
});

app.post("/control/revoke", express.json(), (req, res) => {
  for (const store of [accessTokens, refreshTokens]) {
    for (const [token, grant] of store) {
      if (grant.user === req.body.user) {
        store.delete(token);
      }
    }
  }
  res.json({ revoked: req.body.user });
});
app.get("/control/issued", (_req, res) => res.json(issued));

const bearer = requireBearerAuth({ verifier: provider, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(`${base}/mcp`)) });
app.post("/mcp", bearer, express.json(), async (req, res) => {
  const user = req.auth.extra.user;
  const server = new McpServer({ name: "notes", version: "1.0.0" });
  server.registerTool("whoami", { description: "The signed-in person's name." }, async () => ({
    content: [{ type: "text", text: user }],
  }));
  server.registerTool("note_add", { description: "Adds a note.", inputSchema: { text: z.string() } }, async ({ text }) => {
    notes.set(user, [...(notes.get(user) ?? []), text]);
    return { content: [{ type: "text", text: "added" }] };
  });
  server.registerTool("notes_list", { description: "The signed-in person's notes." }, async () => ({
    content: [{ type: "text", text: JSON.stringify(notes.get(user) ?? []) }],
  }));
  server.registerTool("echo_token", { description: "Says back the token it was called with." }, async () => ({
    content: [{ type: "text", text: `${req.auth.token} ${Buffer.from(req.auth.token).toString("base64")}` }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

app.listen(Number(values.port), "127.0.0.1");
