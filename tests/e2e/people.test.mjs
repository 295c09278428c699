// People and the operator's policy, against a real `wrangler dev`: named access keys in
// RUNNER_TOKEN sign people in, `ACCESS` grants each of them upstreams and tools, and what a
// person is shown (the `execute` description, `search`) and may call follows their grant.
// The audit log and the metrics name the person. On an upstream people share, the result types
// one person's calls teach are declared to that person alone.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { adminRequest, auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const KEYS = { alice: "e2e-alice-key-7d2e", bob: "e2e-bob-key-0c41", carol: "e2e-carol-key-93aa" };
const ADMIN_TOKEN = "e2e-operator-token-51fe";
const ACCESS = {
  people: {
    "key:alice": { everything: {}, tracker: {} },
    "key:bob": { inventory: { allow: ["search_*", "get_*"] }, tracker: {} },
  },
};

const as = (person) => ({ Authorization: `Bearer ${KEYS[person]}` });

describe("people and grants", () => {
  let stack;
  before(async () => {
    stack = await startStack({
      secrets: { RUNNER_TOKEN: Object.entries(KEYS).map(([name, key]) => `${name}=${key}`).join(","), ADMIN_TOKEN },
      vars: { ACCESS: JSON.stringify(ACCESS) },
      pythonUpstreams: [{ name: "tracker", script: "tests/upstreams/tracker_server.py" }],
    });
  });
  after(() => stack?.stop());

  /** The `execute` tool's description and a search for `query`, as `person` sees them. */
  async function view(person, query) {
    const client = await connectTypeScript(stack.url, as(person));
    try {
      const tools = (await client.listTools()).tools;
      const description = tools.find((t) => t.name === "execute").description;
      const found = await client.callTool({ name: "search", arguments: { query } });
      return { description, search: found.content[0].text };
    } finally {
      await client.close();
    }
  }

  test("two people with different grants see different namespaces and tools", async () => {
    const alice = await view("alice", "sum stock product");
    assert.match(alice.description, /\beverything\b/);
    assert.doesNotMatch(alice.description, /\binventory\b/);
    assert.match(alice.search, /get_sum/);
    assert.doesNotMatch(alice.search, /inventory/);

    const bob = await view("bob", "sum stock product order");
    assert.match(bob.description, /\binventory\b/);
    assert.doesNotMatch(bob.description, /\beverything\b/);
    assert.match(bob.search, /get_stock/);
    assert.doesNotMatch(bob.search, /create_order|get_sum/, "only the tools bob is granted");
  });

  test("a program cannot call an upstream or a tool outside its person's grant", async () => {
    const client = await connectTypeScript(stack.url, as("bob"));
    try {
      const report = await execute(client, `
const tried: string[] = [typeof (globalThis as any).everything, typeof (inventory as any).create_order];
try { await (globalThis as any).everything.get_sum({ a: 1, b: 2 }); } catch (e) { tried.push((e as Error).name); }
tried.push((await inventory.get_stock({ sku: "TL-001" })).sku);
return tried;`);
      assert.deepEqual(report.result, ["undefined", "undefined", "TypeError", "TL-001"]);
    } finally {
      await client.close();
    }
  });

  test("the URL can narrow a grant but not widen it", async () => {
    await assert.rejects(connectTypeScript(`${stack.url}?upstreams=everything,inventory`, as("alice")), (error) => {
      assert.match(String(error), /`inventory`, which the operator's ACCESS policy does not grant to `alice`/);
      return true;
    });
  });

  test("a person with no grant gets 403 saying so", async () => {
    const response = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...as("carol") },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /grants `carol` no upstream on this runner/);
  });

  /** POSTs `message` in the MCP session `sessionId`, signed in as `person`. */
  const postInSession = (sessionId, person, message) => fetch(stack.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-11-25",
      ...as(person),
    },
    body: JSON.stringify(message),
  });

  test("a session belongs to its person: another key cannot use it", async () => {
    const client = await connectTypeScript(stack.url, as("alice"));
    try {
      const response = await postInSession(client.transport.sessionId, "bob", { jsonrpc: "2.0", id: 1, method: "ping" });
      assert.equal(response.status, 404);
    } finally {
      await client.close();
    }
  });

  test("another person cannot cancel an execution, even with its session id and request id", async () => {
    const client = await connectTypeScript(stack.url, as("alice"));
    try {
      const running = client.callTool({
        name: "execute",
        arguments: { code: `await new Promise((resolve) => setTimeout(resolve, 1500));\nreturn "finished";` },
      });
      // Bob names every request id Alice's client can have used so far.
      const cancels = Array.from({ length: 10 }, (_, requestId) => postInSession(client.transport.sessionId, "bob", {
        jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason: "bob says stop" },
      }));
      for (const response of await Promise.all(cancels)) {
        assert.equal(response.status, 404);
      }
      const result = await running;
      assert.equal(result.isError, false, JSON.stringify(result));
      assert.equal(result.structuredContent.result, "finished");
    } finally {
      await client.close();
    }
  });

  test("the audit log and the metrics name the person", async () => {
    const client = await connectTypeScript(stack.url, as("alice"));
    const code = "return await everything.get_sum({ a: 40, b: 2 });";
    try {
      assert.equal((await execute(client, code)).result, "The sum of 40 and 2 is 42.");
    } finally {
      await client.close();
    }
    const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
    assert.deepEqual(entry.person, { id: "key:alice", name: "alice" });
    assert.ok(!JSON.stringify(entry).includes(KEYS.alice), "no key in the audit log");
    let metrics = "";
    for (let attempt = 0; attempt < 50 && !/person="alice"/.test(metrics); attempt += 1) {
      ({ text: metrics } = await adminRequest(stack.base, ADMIN_TOKEN, "/metrics"));
    }
    assert.match(metrics, /^mir_person_executions_total\{person="alice"\} [1-9]/m);
  });

  test("what one person's calls return never shapes another person's declarations", async () => {
    // The tracker answers with the labels asked for as keys: a person's own words.
    const alice = await connectTypeScript(stack.url, as("alice"));
    const bob = await connectTypeScript(stack.url, as("bob"));
    const declared = async (client) => {
      const found = await client.callTool({ name: "search", arguments: { query: "count_by_label" } });
      return found.content[0].text.match(/function count_by_label\([^]*?\): Promise<([^]*?)>;/)?.[1];
    };
    try {
      const counted = await execute(alice, 'return await tracker.count_by_label({ labels: ["project_falcon_layoffs", "bug"] });');
      assert.deepEqual(counted.result, { project_falcon_layoffs: 0, bug: 3 });
      assert.match(await declared(alice), /project_falcon_layoffs: number/, "alice is shown what her call returned");
      assert.equal(await declared(bob), "unknown", "bob's calls taught nothing yet");

      await execute(bob, 'return await tracker.count_by_label({ labels: ["docs"] });');
      const bobs = await declared(bob);
      assert.match(bobs, /docs: number/);
      assert.doesNotMatch(bobs, /project_falcon|bug/, "nothing alice's calls returned");
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
