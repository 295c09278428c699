// An upstream that accepts only OAuth (tests/upstreams/oauth_notes_server.mjs: the TypeScript
// SDK's auth support, with its own authorization server), connected per person through a real
// `wrangler dev`: two people sign in separately and each sees their own notes; a token about to
// expire is refreshed; a revoked one asks for sign-in again; a link made for one person shows
// whose account it connects; and no token, code or client secret appears in any result, error,
// log line, audit entry or, unsealed, in the runner's storage.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";

import { adminRequest, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const ADMIN_TOKEN = "e2e-upstream-oauth-operator-9d1e";
const KEYS = { alice: "e2e-alice-key-7c41d2", bob: "e2e-bob-key-2a90fe" };
/** Access tokens live 62 s: the runner refreshes a token within a minute of its expiry. */
const TTL_SECONDS = 62;

/** The runner's sign-in link in an execution's report, if it holds one. */
function signInLink(report) {
  return JSON.stringify(report).match(/https?:\/\/[^\s"\\]+\/oauth\/connect\/[A-Za-z0-9_.-]+/)?.[0];
}

/** `html`'s hidden inputs and the form's action, resolved against `url`. */
function form(html, url) {
  const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2].replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)))]));
  const action = new URL(html.match(/<form method="post" action="([^"]+)"/)[1], url);
  return { fields, action };
}

/**
 * Plays `user`'s browser through the sign-in `link` opens: the runner's page, its button, the
 * authorization server's page, its form, and the redirect back. Returns the runner's last page.
 */
async function connect(link, user) {
  const continued = await fetch(link, { method: "POST", redirect: "manual" });
  assert.equal(continued.status, 302, await continued.text());
  const authorize = continued.headers.get("location");
  const page = await fetch(authorize);
  const { fields, action } = form(await page.text(), authorize);
  const signedIn = await fetch(action, { method: "POST", body: new URLSearchParams({ ...fields, user }), redirect: "manual" });
  assert.equal(signedIn.status, 302);
  const back = await fetch(signedIn.headers.get("location"));
  return { status: back.status, page: await back.text() };
}

/** Every file under `dir`. */
function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("an upstream behind OAuth, connected per person", () => {
  let stack;
  const clients = {};
  /** Everything the runner said in these tests, for the secrets scan. */
  const said = [];
  before(async () => {
    stack = await startStack({
      publicUrl: true,
      oauthNotes: { ttlSeconds: TTL_SECONDS },
      secrets: {
        ADMIN_TOKEN,
        RUNNER_TOKEN: `alice=${KEYS.alice},bob=${KEYS.bob}`,
        UPSTREAM_TOKEN_KEY: "e2e-upstream-token-key-1b6f0c9e8d7a6b5c4d3e2f1a",
      },
    });
    for (const [person, key] of Object.entries(KEYS)) {
      clients[person] = await connectTypeScript(stack.url, { authorization: `Bearer ${key}` });
    }
  });
  after(async () => {
    await Promise.all(Object.values(clients).map((client) => client.close()));
    stack?.stop();
  });

  /** A new session for `person`, which sees the upstreams as they are now. */
  async function reconnect(person) {
    await clients[person].close();
    clients[person] = await connectTypeScript(stack.url, { authorization: `Bearer ${KEYS[person]}` });
  }

  /** Runs `code` for `person`, keeping what the runner said. */
  async function run(person, code) {
    const report = await execute(clients[person], code);
    said.push(JSON.stringify(report));
    return report;
  }

  test("a person not yet connected gets a sign-in link that names the upstream and them", async () => {
    const report = await run("alice", "return await notes.whoami({});");
    assert.equal(report.error?.name, "AuthorizationRequired", JSON.stringify(report));
    const link = signInLink(report);
    assert.ok(link?.startsWith(`${stack.base}/oauth/connect/`), JSON.stringify(report));
    const page = await (await fetch(link)).text();
    assert.match(page, /Connect notes/);
    assert.match(page, /key:alice/);
    const crossSite = await fetch(link, { method: "POST", redirect: "manual", headers: { origin: "https://evil.example" } });
    assert.equal(crossSite.status, 403, "another site cannot submit the link's form");
    const search = await clients.alice.callTool({ name: "search", arguments: { query: "notes" } });
    assert.match(search.content[0].text, /AuthorizationRequired: .*\/oauth\/connect\//);
  });

  test("two people connect separately and each sees their own data", async () => {
    for (const person of ["alice", "bob"]) {
      const link = signInLink(await run(person, "return await notes.whoami({});"));
      const back = await connect(link, person);
      assert.equal(back.status, 200, back.page);
      assert.match(back.page, /notes is connected/);
      assert.match(back.page, /Return to your agent/);
    }
    assert.equal((await run("alice", "return await notes.whoami({});")).result, "alice");
    assert.equal((await run("bob", "return await notes.whoami({});")).result, "bob");
    await run("alice", `await notes.note_add({ text: "alice's secret plan" }); return 1;`);
    assert.deepEqual((await run("alice", "return await notes.notes_list({});")).result, ["alice's secret plan"]);
    assert.deepEqual((await run("bob", "return await notes.notes_list({});")).result, []);
  });

  test("an upstream that says back the token it was sent has it redacted", async () => {
    const echoed = await run("alice", "return await notes.echo_token({});");
    assert.equal(echoed.result, "[redacted] [redacted]", JSON.stringify(echoed));
  });

  test("a token about to expire is refreshed before the call", async () => {
    await sleep(2_500);
    const before = (await stack.oauthNotes.issued()).grantTypes.filter((g) => g === "refresh_token").length;
    assert.equal((await run("alice", "return await notes.whoami({});")).result, "alice");
    const refreshes = (await stack.oauthNotes.issued()).grantTypes.filter((g) => g === "refresh_token").length;
    assert.ok(refreshes > before, `refresh grants: ${before} then ${refreshes}`);
  });

  test("a revoked token asks the person to sign in again, and only them", async () => {
    await stack.oauthNotes.revoke("bob");
    const report = await run("bob", "return await notes.whoami({});");
    assert.equal(report.error?.name, "AuthorizationRequired", JSON.stringify(report));
    assert.equal((await run("alice", "return await notes.whoami({});")).result, "alice");
    const back = await connect(signInLink(report), "bob");
    assert.equal(back.status, 200, back.page);
    assert.equal((await run("bob", "return await notes.whoami({});")).result, "bob");
  });

  test("the operator sees a person's connections, and revoking the person disconnects them", async () => {
    const view = JSON.parse((await adminRequest(stack.base, ADMIN_TOKEN, "/admin/people/key:alice")).text);
    assert.deepEqual(view.connections.map((c) => c.upstream), ["notes"]);
    const revoked = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/people/key:alice", { method: "DELETE" });
    assert.equal(JSON.parse(revoked.text).connections, 1, revoked.text);
    await reconnect("alice");
    const report = await run("alice", "return await notes.whoami({});");
    assert.equal(report.error?.name, "AuthorizationRequired", JSON.stringify(report));
    assert.equal((await connect(signInLink(report), "alice")).status, 200);
  });

  test("a shared account is connected by the operator, and then serves everyone", async () => {
    const asked = await run("bob", "return await team_notes.whoami({});");
    assert.equal(asked.error?.name, "AuthorizationRequired", JSON.stringify(asked));
    assert.equal(signInLink(asked), undefined, "people get no link to a shared account");
    assert.match(asked.error.message, /ask the operator to connect it/);
    const connected = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams/team_notes/connect", { method: "POST" });
    assert.equal(connected.status, 200, connected.text);
    const page = await (await fetch(JSON.parse(connected.text).signIn)).text();
    assert.match(page, /the account everyone on this runner shares/);
    assert.equal((await connect(JSON.parse(connected.text).signIn, "operator")).status, 200);
    assert.equal((await run("bob", "return await team_notes.whoami({});")).result, "operator");
    assert.equal((await run("alice", "return await team_notes.whoami({});")).result, "operator");
    const perPerson = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams/notes/connect", { method: "POST" });
    assert.equal(perPerson.status, 400, perPerson.text);
    const disconnected = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams/team_notes/connection", { method: "DELETE" });
    assert.deepEqual(JSON.parse(disconnected.text), { disconnected: true });
    assert.equal((await run("bob", "return await team_notes.whoami({});")).error?.name, "AuthorizationRequired");
  });

  test("an OAuth upstream added through the operator endpoint is callable in the next session, and gone once removed", async () => {
    const upstream = { name: "more_notes", url: stack.oauthNotes.url, auth: { type: "oauth" } };
    const put = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams/more_notes", { method: "PUT", body: JSON.stringify(upstream) });
    assert.equal(put.status, 200, put.text);
    await reconnect("alice");
    const asked = await run("alice", "return await more_notes.whoami({});");
    assert.equal(asked.error?.name, "AuthorizationRequired", JSON.stringify(asked));
    assert.equal((await connect(signInLink(asked), "alice")).status, 200);
    assert.equal((await run("alice", "return await more_notes.whoami({});")).result, "alice");
    const removed = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams/more_notes", { method: "DELETE" });
    assert.equal(removed.status, 200, removed.text);
    await reconnect("alice");
    const gone = await run("alice", "return await more_notes.whoami({});");
    assert.equal(gone.error?.name, "ReferenceError", JSON.stringify(gone));
  });

  test("a callback with an unknown state or a reused link is refused with a page", async () => {
    const forged = await fetch(`${stack.base}/oauth/callback?code=x&state=bm90ZXM.nope`);
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /unknown or has expired/);
    const link = signInLink(await run("alice", "return 1;")) ?? `${stack.base}/oauth/connect/bm90ZXM.nope`;
    const reused = await fetch(link, { method: "POST", redirect: "manual" });
    assert.equal(reused.status, 400);
  });

  test("no token, code or client secret reaches a result, an error, the log, the audit or storage", async () => {
    const issued = await stack.oauthNotes.issued();
    const secrets = [...issued.tokens, ...issued.codes, ...issued.clientSecrets];
    assert.ok(issued.tokens.length >= 6, "tokens were issued");
    const audit = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/audit?limit=100");
    const upstreams = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams");
    // The runner's storage: its Durable Objects and KV. (wrangler's local request traces, like
    // the platform's, hold the callback's URL with its code: spent, and useless without the
    // PKCE verifier the runner keeps sealed.)
    const state = join(stack.logDir, "state/v3");
    const stored = ["do", "kv"].flatMap((kind) => files(join(state, kind))).map((path) => readFileSync(path).toString("latin1"));
    assert.ok(stored.some((text) => text.includes("v1.")), "sealed records are stored");
    const places = { results: said.join("\n"), log: readFileSync(stack.runnerLog, "utf8"), audit: audit.text, upstreams: upstreams.text, storage: stored.join("\n") };
    for (const [place, text] of Object.entries(places)) {
      for (const secret of secrets) {
        assert.ok(!text.includes(secret), `${place} holds ${secret.split("-")[0]}…`);
      }
    }
  });
});
