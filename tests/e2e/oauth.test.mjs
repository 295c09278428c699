// The runner as an OAuth 2.1 authorization server and protected resource, against a real
// `wrangler dev`, with the MCP TypeScript SDK's OAuth client and the test playing the browser:
// discovery from the 401, dynamic client registration and Client ID Metadata Documents (served
// over HTTPS by a local server the runner trusts), sign-in with an access key, consent,
// tokens bound to the runner's /mcp, refresh with rotation, revocation, and each refusal the
// spec asks for, with nothing issued.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { startClientMetadataServer } from "../support/client_metadata_server.mjs";
import { adminRequest, auditEntry, execute } from "../support/mcp.mjs";
import {
  CookieJar, MemoryOAuthClient, REDIRECT_URL, confirmAction, connectWithOAuth, inputValue, runPythonOAuth, signInWithKey,
  submit,
} from "../support/oauth.mjs";
import { startStack } from "../support/stack.mjs";

const KEYS = { alice: "e2e-oauth-alice-key-61c0", bob: "e2e-oauth-bob-key-2f9d" };
const ADMIN_TOKEN = "e2e-oauth-operator-7a51";
const ACCESS = { people: { "key:alice": { everything: {} }, "key:bob": { inventory: {} } } };

/** The shortest access token lifetime: a token issued first is checked, expired, last. */
const TOKEN_TTL_SECONDS = 60;

const s256 = (verifier) => createHash("sha256").update(verifier).digest("base64url");

describe("OAuth 2.1 sign-in", () => {
  let stack;
  let metadata;
  let documents;
  /** A grant made first, whose access token has expired by the last test. */
  let early;
  before(async () => {
    documents = await startClientMetadataServer(REDIRECT_URL);
    stack = await startStack({
      trustedCertificate: documents.certificate,
      secrets: { RUNNER_TOKEN: Object.entries(KEYS).map(([n, k]) => `${n}=${k}`).join(","), ADMIN_TOKEN },
      vars: { ACCESS: JSON.stringify(ACCESS), OAUTH_ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) },
    });
    metadata = await (await fetch(`${stack.base}/.well-known/oauth-authorization-server`)).json();
    const clientId = await register();
    const granted = await code(clientId);
    const response = await token({ grant_type: "authorization_code", client_id: clientId, code: granted.code, code_verifier: granted.verifier });
    early = { clientId, issuedAt: Date.now(), ...(await response.json()) };
  });
  after(() => {
    stack?.stop();
    documents?.stop();
  });

  /** Registers a public client (DCR) redirecting to REDIRECT_URL; returns its client_id. */
  async function register(name = "e2e raw client") {
    const response = await fetch(metadata.registration_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: name, redirect_uris: [REDIRECT_URL], token_endpoint_auth_method: "none" }),
    });
    assert.equal(response.status, 201);
    return (await response.json()).client_id;
  }

  /** An authorization URL for `clientId` with a fresh PKCE pair: { url, verifier, state }. */
  function authorization(clientId, overrides = {}) {
    const verifier = randomBytes(32).toString("base64url");
    const state = randomBytes(8).toString("hex");
    const params = new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: REDIRECT_URL, state,
      code_challenge: s256(verifier), code_challenge_method: "S256", resource: stack.url, scope: "mcp",
      ...overrides,
    });
    return { url: `${metadata.authorization_endpoint}?${params}`, verifier, state };
  }

  /** Exchanges `code` at the token endpoint. */
  function token(fields) {
    return fetch(metadata.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ redirect_uri: REDIRECT_URL, ...fields }),
    });
  }

  /** A code for `clientId`, signed in as `person`: { code, verifier }. */
  async function code(clientId, person = "alice") {
    const { url, verifier, state } = authorization(clientId);
    const back = await signInWithKey(url, KEYS[person]);
    assert.equal(back.searchParams.get("state"), state);
    assert.equal(back.searchParams.get("iss"), metadata.issuer, "RFC 9207 iss in the response");
    return { code: back.searchParams.get("code"), verifier };
  }

  /** An `initialize` with `accessToken`: the response's status. */
  async function listWith(accessToken) {
    const response = await fetch(stack.url, {
      method: "POST",
      headers: {
        "content-type": "application/json", accept: "application/json, text/event-stream",
        authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({
        jsonrpc: "2.0", id: 1, method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "1" } },
      }),
    });
    await response.body?.cancel();
    return response.status;
  }

  test("the metadata advertise PKCE S256, registration, CIMD and tokens bound to /mcp", async () => {
    assert.equal(metadata.issuer, stack.base);
    assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);
    assert.ok(metadata.registration_endpoint && metadata.revocation_endpoint);
    assert.equal(metadata.client_id_metadata_document_supported, true);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    const resource = await (await fetch(`${stack.base}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.equal(resource.resource, stack.url);
    const atOrigin = await (await fetch(`${stack.base}/.well-known/oauth-protected-resource`)).json();
    assert.deepEqual(atOrigin, resource, "the origin's well-known path describes /mcp too");
  });

  test("the TypeScript SDK signs in with an access key and runs code as that person", async () => {
    const { client } = await connectWithOAuth(stack.url, { key: KEYS.alice });
    try {
      const code = "return await everything.get_sum({ a: 20, b: 22 });";
      assert.equal((await execute(client, code)).result, "The sum of 20 and 22 is 42.");
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.deepEqual(entry.person, { id: "key:alice", name: "alice" });
    } finally {
      await client.close();
    }
  });

  for (const [version, venv] of [["1.x", process.env.MIR_VENV], ["2.x", process.env.MIR_VENV_MCP2]]) {
    test(`the Python SDK ${version} signs in through its OAuth client and runs code`, async () => {
      const code = `return "python ${version}: " + (await everything.get_sum({ a: 1, b: 2 }));`;
      const report = await runPythonOAuth(venv, stack.url, code, { key: KEYS.alice });
      assert.deepEqual(report.tools, ["search", "execute"]);
      assert.equal(report.result.structuredContent.result, `python ${version}: The sum of 1 and 2 is 3.`);
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.deepEqual(entry.person, { id: "key:alice", name: "alice" });
    });
  }

  test("a client identified by its metadata document (CIMD) signs in, the document fetched once", async () => {
    const clientMetadataUrl = documents.url("client.json");
    for (let connection = 0; connection < 2; connection += 1) {
      const { client, oauth } = await connectWithOAuth(stack.url, { key: KEYS.alice }, new MemoryOAuthClient({ clientMetadataUrl }));
      try {
        assert.equal(oauth.clientInformation().client_id, clientMetadataUrl, "no registration: the URL is the client id");
        assert.equal((await execute(client, "return 1 + 1;")).result, 2);
      } finally {
        await client.close();
      }
    }
    assert.equal(documents.fetched("client.json"), 1, "cached after the first fetch");
    const page = await (await fetch(authorization(clientMetadataUrl).url)).text();
    assert.match(page, /Published by <strong>127\.0\.0\.1<\/strong>/);
  });

  test("a metadata document too large, too slow or not matching its URL is refused, nothing issued", async () => {
    for (const name of ["large.json", "slow.json", "mismatch.json"]) {
      const response = await fetch(authorization(documents.url(name)).url, { redirect: "manual" });
      assert.equal(response.status, 400, name);
      assert.equal(response.headers.get("location"), null, name);
      assert.match(await response.text(), /could not be verified/, name);
    }
  });

  test("the operator sees a person's grants and sessions, and revoking them ends both: the client gets 401", async () => {
    const { client, oauth } = await connectWithOAuth(stack.url, { key: KEYS.bob }, new MemoryOAuthClient({ name: "Revoked App" }));
    const admin = (path, method = "GET") => adminRequest(stack.base, ADMIN_TOKEN, path, { method });
    try {
      assert.equal((await execute(client, "return 2;")).result, 2);
      const seen = JSON.parse((await admin("/admin/people/key%3Abob")).text);
      assert.deepEqual(seen.grant, { inventory: [{}] });
      assert.ok(seen.oauthGrants.some((g) => g.clientId === oauth.clientInformation().client_id), JSON.stringify(seen));
      assert.ok(seen.sessions.includes(client.transport.sessionId), JSON.stringify(seen));
      const clients = JSON.parse((await admin("/admin/clients")).text).clients;
      assert.ok(clients.some((c) => c.clientName === "Revoked App"));

      const revoked = await admin("/admin/people/key%3Abob", "DELETE");
      assert.equal(revoked.status, 200, revoked.text);
      const undone = JSON.parse(revoked.text);
      assert.ok(undone.oauthGrants >= 1 && undone.sessions >= 1, revoked.text);
      assert.equal(await listWith(oauth.tokens().access_token), 401, "the revoked grant's token");
      const refreshed = await token({ grant_type: "refresh_token", client_id: oauth.clientInformation().client_id, refresh_token: oauth.tokens().refresh_token });
      assert.equal(refreshed.status, 400, "nor can it be refreshed");
      const after = JSON.parse((await admin("/admin/people/key%3Abob")).text);
      assert.deepEqual([after.oauthGrants, after.sessions], [[], []]);

      const removed = await admin(`/admin/clients/${encodeURIComponent(oauth.clientInformation().client_id)}`, "DELETE");
      assert.equal(removed.status, 200, removed.text);
      assert.equal((await admin(`/admin/clients/${encodeURIComponent(oauth.clientInformation().client_id)}`, "DELETE")).status, 404);
    } finally {
      await client.close().catch(() => {});
    }
  });

  test("a refresh rotates the refresh token and the old one stops working", async () => {
    const clientId = await register();
    const granted = await code(clientId);
    const first = await (await token({ grant_type: "authorization_code", client_id: clientId, code: granted.code, code_verifier: granted.verifier })).json();
    assert.equal(await listWith(first.access_token), 200);
    const refreshed = await token({ grant_type: "refresh_token", client_id: clientId, refresh_token: first.refresh_token });
    assert.equal(refreshed.status, 200);
    const second = await refreshed.json();
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(await listWith(second.access_token), 200);
    const newest = await token({ grant_type: "refresh_token", client_id: clientId, refresh_token: second.refresh_token });
    assert.equal(newest.status, 200, "the newest refresh token works");
    const old = await token({ grant_type: "refresh_token", client_id: clientId, refresh_token: first.refresh_token });
    assert.equal(old.status, 400, "a refresh token two rotations old is refused");
    assert.equal((await old.json()).error, "invalid_grant");
  });

  test("a revoked token is refused with 401", async () => {
    const clientId = await register();
    const granted = await code(clientId);
    const issued = await (await token({ grant_type: "authorization_code", client_id: clientId, code: granted.code, code_verifier: granted.verifier })).json();
    assert.equal(await listWith(issued.access_token), 200);
    const revoked = await fetch(metadata.revocation_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: issued.access_token, client_id: clientId }),
    });
    assert.equal(revoked.status, 200);
    assert.equal(await listWith(issued.access_token), 401);
  });

  test("a replayed code and a PKCE mismatch are refused and issue nothing", async () => {
    const clientId = await register();
    const granted = await code(clientId);
    const wrongVerifier = await token({ grant_type: "authorization_code", client_id: clientId, code: granted.code, code_verifier: "x".repeat(43) });
    assert.equal(wrongVerifier.status, 400);
    assert.equal((await wrongVerifier.json()).error, "invalid_grant");
    const other = await code(clientId);
    const once = await token({ grant_type: "authorization_code", client_id: clientId, code: other.code, code_verifier: other.verifier });
    assert.equal(once.status, 200);
    const replayed = await token({ grant_type: "authorization_code", client_id: clientId, code: other.code, code_verifier: other.verifier });
    assert.equal(replayed.status, 400);
    const body = await replayed.json();
    assert.equal(body.error, "invalid_grant");
    assert.equal(body.access_token, undefined);
  });

  test("an unregistered redirect URI or an open redirect is shown an error page, never redirected to", async () => {
    const clientId = await register();
    for (const redirect of ["http://127.0.0.1:1/elsewhere", "https://evil.example/steal", `${REDIRECT_URL}/../x`]) {
      const response = await fetch(authorization(clientId, { redirect_uri: redirect }).url, { redirect: "manual" });
      assert.equal(response.status, 400, redirect);
      assert.equal(response.headers.get("location"), null);
      assert.match(await response.text(), /Invalid redirect URI/);
    }
  });

  test("a consent answer without the browser's binding cookie is refused and issues nothing", async () => {
    const clientId = await register();
    const { url } = authorization(clientId);
    const jar = new CookieJar();
    const page = await fetch(url);
    jar.take(page);
    const consent = await submit(url, { handle: inputValue(await page.text(), "handle"), action: "key", key: KEYS.alice }, jar);
    const forged = await submit(new URL(confirmAction(await consent.text()), url).href, { decision: "approve" }, new CookieJar());
    assert.equal(forged.status, 400);
    assert.equal(forged.headers.get("location"), null);
    assert.match(await forged.text(), /not started in this browser/);
    const noHandle = await submit(url, { action: "key", key: KEYS.alice }, jar);
    assert.equal(noHandle.status, 400);
  });

  test("a wrong access key is asked again; a denial goes back to the client as access_denied", async () => {
    const clientId = await register();
    const { url, state } = authorization(clientId);
    const jar = new CookieJar();
    const page = await fetch(url);
    jar.take(page);
    const handle = inputValue(await page.text(), "handle");
    const wrong = await submit(url, { handle, action: "key", key: "not-a-key" }, jar);
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /not one this runner knows/);
    const denied = await signInWithKey(authorization(clientId).url, KEYS.bob, { approve: false });
    assert.equal(denied.searchParams.get("error"), "access_denied");
    assert.ok(state);
  });

  test("a token bound to another origin's /mcp is refused there", async () => {
    const other = stack.base.replace("127.0.0.1", "localhost");
    const otherMetadata = await (await fetch(`${other}/.well-known/oauth-authorization-server`)).json();
    const registered = await (await fetch(otherMetadata.registration_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "other origin", redirect_uris: [REDIRECT_URL], token_endpoint_auth_method: "none" }),
    })).json();
    const verifier = randomBytes(32).toString("base64url");
    const params = new URLSearchParams({
      response_type: "code", client_id: registered.client_id, redirect_uri: REDIRECT_URL, state: "s",
      code_challenge: s256(verifier), code_challenge_method: "S256", resource: `${other}/mcp`,
    });
    const back = await signInWithKey(`${otherMetadata.authorization_endpoint}?${params}`, KEYS.alice);
    const issued = await (await fetch(otherMetadata.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", client_id: registered.client_id, code: back.searchParams.get("code"),
        code_verifier: verifier, redirect_uri: REDIRECT_URL,
      }),
    })).json();
    assert.ok(issued.access_token, JSON.stringify(issued));
    assert.equal(await listWith(issued.access_token), 401, "a token for localhost's /mcp is not 127.0.0.1's");
  });

  test("a token for another resource is refused", async () => {
    const clientId = await register();
    const other = "http://127.0.0.1:1/mcp";
    const response = await fetch(authorization(clientId, { resource: other }).url, { redirect: "manual" });
    const location = response.headers.get("location");
    assert.equal(response.status, 302, "an invalid resource goes back to the registered client");
    assert.equal(new URL(location).searchParams.get("error"), "invalid_target");
    assert.equal(new URL(location).searchParams.get("code"), null);
  });

  test("an expired access token is refused with 401, and a refresh brings a working one", async () => {
    assert.equal(early.expires_in, TOKEN_TTL_SECONDS);
    assert.equal(await listWith(early.access_token), 200);
    const expiry = early.issuedAt + (TOKEN_TTL_SECONDS + 1) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiry - Date.now())));
    assert.equal(await listWith(early.access_token), 401);
    const refreshed = await (await token({ grant_type: "refresh_token", client_id: early.clientId, refresh_token: early.refresh_token })).json();
    assert.equal(await listWith(refreshed.access_token), 200);
  });
});
