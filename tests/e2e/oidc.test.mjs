// Signing in with the organisation's OpenID Connect provider, against a real `wrangler dev`
// and a real provider (`oidc-provider`, started locally): the runner is its relying party
// (code + PKCE, nonce, the ID token verified against the provider's keys), groups come from
// the configured claim, and ACCESS grants by group and by verified email. The MCP TypeScript
// SDK's OAuth client connects; the test plays the browser at both the runner and the provider.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { startIdentityProvider } from "../support/identity_provider.mjs";
import { auditEntry, execute } from "../support/mcp.mjs";
import { connectWithOAuth, runPythonOAuth, signIn } from "../support/oauth.mjs";
import { freePort, startStack } from "../support/stack.mjs";

const CLIENT_ID = "mcp-isolate-runner";
const CLIENT_SECRET = "e2e-oidc-client-secret-38af";
const ADMIN_TOKEN = "e2e-oidc-operator-9d10";
const ACCOUNTS = {
  alice: { email: "alice@example.com", email_verified: true, groups: ["engineering"] },
  bob: { email: "bob@example.com", email_verified: true, groups: [] },
  mallory: { email: "bob@example.com", email_verified: false, groups: [] },
};
const ACCESS = {
  people: { "bob@example.com": { inventory: {} } },
  groups: { engineering: { everything: {} } },
};

describe("sign-in with an OpenID Connect provider", () => {
  let stack;
  let provider;
  before(async () => {
    const port = await freePort();
    stack = await startStack({
      vars: {
        OIDC_ISSUER: `http://127.0.0.1:${port}`,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_SCOPES: "openid email groups",
        OIDC_NAME: "Example SSO",
        ACCESS: JSON.stringify(ACCESS),
      },
      secrets: { OIDC_CLIENT_SECRET: CLIENT_SECRET, ADMIN_TOKEN },
    });
    provider = await startIdentityProvider({
      port, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${stack.base}/callback`, accounts: ACCOUNTS,
    });
  });
  after(() => {
    stack?.stop();
    provider?.stop();
  });

  test("a person in a granted group signs in at the provider and runs code as themselves", async () => {
    const { client } = await connectWithOAuth(stack.url, { login: "alice" });
    try {
      const code = "return await everything.get_sum({ a: 1, b: 41 });";
      assert.equal((await execute(client, code)).result, "The sum of 1 and 41 is 42.");
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.deepEqual(entry.person, { id: "oidc:alice", name: "alice@example.com", email: "alice@example.com", groups: ["engineering"] });
    } finally {
      await client.close();
    }
  });

  for (const [version, venv] of [["1.x", process.env.MIR_VENV], ["2.x", process.env.MIR_VENV_MCP2]]) {
    test(`the Python SDK ${version} signs in at the provider through its OAuth client`, async () => {
      const code = `return "python ${version}: " + (await everything.get_sum({ a: 2, b: 3 }));`;
      const report = await runPythonOAuth(venv, stack.url, code, { login: "alice" });
      assert.equal(report.result.structuredContent.result, `python ${version}: The sum of 2 and 3 is 5.`);
      assert.equal((await auditEntry(stack.base, ADMIN_TOKEN, code)).person.id, "oidc:alice");
    });
  }

  test("a person granted by verified email sees only their upstream", async () => {
    const { client } = await connectWithOAuth(stack.url, { login: "bob" });
    try {
      const description = (await client.listTools()).tools.find((t) => t.name === "execute").description;
      assert.match(description, /\binventory\b/);
      assert.doesNotMatch(description, /\beverything\b/);
    } finally {
      await client.close();
    }
  });

  test("an unverified email grants nothing: the person signs in and is refused with 403", async () => {
    await assert.rejects(connectWithOAuth(stack.url, { login: "mallory" }), /403|no upstream/);
  });

  test("the sign-in page offers only the provider when no access key is set", async () => {
    const registered = await (await fetch(`${stack.base}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "probe", redirect_uris: ["http://127.0.0.1:33418/callback"], token_endpoint_auth_method: "none" }),
    })).json();
    const params = new URLSearchParams({
      response_type: "code", client_id: registered.client_id, redirect_uri: "http://127.0.0.1:33418/callback",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256", state: "s",
    });
    const html = await (await fetch(`${stack.base}/authorize?${params}`)).text();
    assert.match(html, /Sign in with Example SSO/);
    assert.doesNotMatch(html, /name="key"/);
    const back = await signIn(`${stack.base}/authorize?${params}`, { login: "alice", approve: false });
    assert.equal(back.searchParams.get("error"), "access_denied");
  });
});
