// Who may use what, against a real `wrangler dev`: with RUNNER_TOKEN set (two access keys
// here, one unnamed and one named `bob`), every request needs one of them as a bearer token; a
// session answers only the person who opened it; `?upstreams=` limits a session to some upstreams; and every execution leaves an
// audit entry, as a log line and in the ledger the operator reads at /admin/audit.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { auditEntry, connectTypeScript, execute, sha256 } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const TOKEN = "e2e-runner-token-5f0c";
const OTHER_TOKEN = "e2e-second-team-token-91ab";
const ADMIN_TOKEN = "e2e-operator-token-33d1";
const LIMITS = { maxToolCalls: 3, maxLoopIterations: 100_000 };

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
/** The name the runner gives an unnamed key: `key-` and the first 8 bytes of its SHA-256. */
const unnamed = (token) => `key-${sha256(token).slice(0, 16)}`;

describe("inbound bearer token", () => {
  let stack;
  before(async () => {
    stack = await startStack({
      secrets: { RUNNER_TOKEN: `${TOKEN},bob=${OTHER_TOKEN}`, ADMIN_TOKEN },
      vars: { LIMITS: JSON.stringify(LIMITS) },
    });
  });
  after(() => stack?.stop());

  /** A raw JSON-RPC POST to the MCP endpoint (at `url`, the plain endpoint by default). */
  const post = (body, headers, url = stack.url) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify(body),
    });

  const auditEntryOf = (code) => auditEntry(stack.base, ADMIN_TOKEN, code);

  test("a client without a token, or with another, is refused with 401 and told where to sign in", async () => {
    const metadata = `${stack.base}/.well-known/oauth-protected-resource/mcp`;
    for (const headers of [{}, bearer("not-the-token")]) {
      const raw = await post({ jsonrpc: "2.0", id: 1, method: "ping" }, headers);
      assert.equal(raw.status, 401);
      assert.match(raw.headers.get("www-authenticate"), new RegExp(`^Bearer .*resource_metadata="${metadata}"`));
    }
    const described = await (await fetch(metadata)).json();
    assert.equal(described.resource, stack.url);
    assert.deepEqual(described.authorization_servers, [stack.base]);
  });

  test("a client with either token lists tools and executes", async () => {
    for (const token of [TOKEN, OTHER_TOKEN]) {
      const client = await connectTypeScript(stack.url, bearer(token));
      try {
        assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ["search", "execute"]);
        const report = await execute(client, "return await everything.get_sum({ a: 2, b: 40 });");
        assert.equal(report.result, "The sum of 2 and 40 is 42.");
      } finally {
        await client.close();
      }
    }
  });

  test("a session answers only the token that opened it", async () => {
    const client = await connectTypeScript(stack.url, bearer(TOKEN));
    try {
      const session = { "mcp-session-id": client.transport.sessionId, "mcp-protocol-version": "2025-11-25" };
      const list = { jsonrpc: "2.0", id: 7, method: "tools/list" };
      const stolen = await post(list, { ...session, ...bearer(OTHER_TOKEN) });
      assert.equal(stolen.status, 404, "another token's session looks like no session");
      assert.equal((await stolen.json()).error.code, -32001);
      const deleted = await fetch(stack.url, { method: "DELETE", headers: { ...session, ...bearer(OTHER_TOKEN) } });
      assert.equal(deleted.status, 404);
      assert.equal((await post(list, { ...session, ...bearer(TOKEN) })).status, 200, "still the owner's");
      assert.equal((await client.listTools()).tools.length, 2);
    } finally {
      await client.close();
    }
  });

  test("a session opened with ?upstreams= sees and reaches only those upstreams", async () => {
    const client = await connectTypeScript(`${stack.url}?upstreams=inventory`, bearer(TOKEN));
    try {
      const search = await client.callTool({ name: "search", arguments: { query: "sum" } });
      assert.doesNotMatch(search.content[0].text, /get_sum|everything/);
      const report = await execute(
        client,
        `let direct = "none";
try { await (everything as any).get_sum({ a: 1, b: 2 }); direct = "called"; } catch (e) { direct = (e as Error).name; }
return { everything: typeof (globalThis as any).everything, inventory: typeof inventory, direct };`,
      );
      assert.deepEqual(report.result, { everything: "undefined", inventory: "object", direct: "ReferenceError" });
    } finally {
      await client.close();
    }
    const initialize = { jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "1" } } };
    const everyUpstream = await post(initialize, bearer(TOKEN));
    assert.equal(everyUpstream.status, 200, "no parameter: every upstream");
    const refused = await post(initialize, bearer(TOKEN), `${stack.url}?upstreams=everything,nope`);
    assert.equal(refused.status, 400);
    const { error } = await refused.json();
    assert.equal(error.code, -32602);
    assert.match(error.message, /`nope`, which is not configured; the configured upstreams are: everything, inventory, inventory_json/);
  });

  test("every execution leaves an audit entry: who, what code, which calls, which limits, never the data", async () => {
    const client = await connectTypeScript(stack.url, bearer(OTHER_TOKEN));
    try {
      const secretish = "The sum of 2 and 40 is 42.";
      const code = "const a = await everything.get_sum({ a: 2, b: 40 });\nconsole.log(a);\nreturn a;";
      assert.equal((await execute(client, code)).result, secretish);
      const entry = await auditEntryOf(code);
      assert.equal(entry.session, client.transport.sessionId);
      assert.deepEqual(entry.person, { id: "key:bob", name: "bob" });
      assert.equal(entry.ending, "returned");
      assert.deepEqual(entry.upstreams, ["everything", "inventory", "inventory_json"]);
      assert.deepEqual(entry.calls.map((c) => [c.tool, c.ok]), [["everything.get_sum", true]]);
      assert.equal(entry.callsTotal, 1);
      assert.equal(entry.resultChars, JSON.stringify(secretish).length);
      assert.ok(entry.ms >= 0 && entry.spawnMs >= 0);
      assert.deepEqual(entry.limitsHit, []);
      const text = JSON.stringify(entry);
      for (const leak of [secretish, "get_sum({", TOKEN, OTHER_TOKEN]) {
        assert.ok(!text.includes(leak), `the entry holds ${leak}`);
      }

      const greedy = "for (let i = 0; i < 5; i++) { try { await everything.get_sum({ a: i, b: 1 }); } catch {} }\nwhile (true) {}";
      assert.equal((await execute(client, greedy)).error.name, "LoopLimitExceeded");
      const stopped = await auditEntryOf(greedy);
      assert.equal(stopped.ending, "threw");
      assert.equal(stopped.error, "LoopLimitExceeded");
      assert.deepEqual(stopped.limitsHit, ["maxLoopIterations", "maxToolCalls"]);
      assert.equal(stopped.callsTotal, 5);

      const refused = "return eval('1');";
      assert.equal((await execute(client, refused)).error.name, "NotAllowed");
      assert.equal((await auditEntryOf(refused)).ending, "refused");

      const logged = readFileSync(stack.runnerLog, "utf8")
        .split("\n")
        .filter((line) => line.includes(`"codeSha256":"${sha256(code)}"`));
      assert.equal(logged.length, 1, "one log line per execution");
      assert.match(logged[0], /\{"audit":"execution",/);
      assert.ok(!logged[0].includes(secretish));
    } finally {
      await client.close();
    }
    const unnamedClient = await connectTypeScript(stack.url, bearer(TOKEN));
    try {
      const code = "return 'run with the unnamed key';";
      await execute(unnamedClient, code);
      assert.deepEqual((await auditEntryOf(code)).person, { id: `key:${unnamed(TOKEN)}`, name: unnamed(TOKEN) });
    } finally {
      await unnamedClient.close();
    }
  });

  test("a body past 8 MiB is refused with 413, unread, whether declared or streamed", async () => {
    const MIB = 1024 * 1024;
    const big = "x".repeat(9 * MIB);
    const piece = new TextEncoder().encode("y".repeat(64 * 1024));
    /** 9 MiB sent a piece at a time, with no Content-Length. */
    const streamed = () => {
      let sent = 0;
      return new ReadableStream({
        pull(controller) {
          sent += piece.length;
          return sent > 9 * MIB ? controller.close() : controller.enqueue(piece);
        },
      });
    };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const anonymous = await fetch(stack.url, { method: "POST", headers, body: big });
    assert.equal(anonymous.status, 401, "without a token, the OAuth layer refuses it first");
    for (const [what, init] of [
      ["declared", { headers: { ...headers, ...bearer(TOKEN) }, body: big }],
      ["streamed", { headers: { ...headers, ...bearer(TOKEN) }, body: streamed(), duplex: "half" }],
    ]) {
      const refused = await fetch(stack.url, { method: "POST", ...init });
      assert.equal(refused.status, 413, what);
      const { error } = await refused.json();
      assert.match(error.message, /at most 8388608 bytes; it was not read/, what);
    }
    const client = await connectTypeScript(stack.url, bearer(TOKEN));
    try {
      assert.equal((await client.listTools()).tools.length, 2, "the runner serves the next request");
    } finally {
      await client.close();
    }
  });

  test("the audit log is the operator's alone", async () => {
    for (const headers of [{}, bearer(TOKEN)]) {
      assert.equal((await fetch(`${stack.base}/admin/audit`, { headers })).status, 401);
    }
    const bad = await fetch(`${stack.base}/admin/audit?limit=0`, { headers: bearer(ADMIN_TOKEN) });
    assert.equal(bad.status, 400);
  });
});
