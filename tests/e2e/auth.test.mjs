// With RUNNER_TOKEN set, every request needs it as a bearer token: a client without it, or with
// another, is refused with 401 before any session exists; a client with it works as usual.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, execute } from "./mcp.mjs";
import { startStack } from "./stack.mjs";

const TOKEN = "e2e-runner-token-5f0c";

describe("inbound bearer token", () => {
  let stack;
  before(async () => {
    stack = await startStack({ secrets: { RUNNER_TOKEN: TOKEN } });
  });
  after(() => stack?.stop());

  test("a client without the token, or with another, is refused with 401", async () => {
    for (const headers of [{}, { Authorization: "Bearer not-the-token" }]) {
      await assert.rejects(connectTypeScript(stack.url, headers), (error) => {
        assert.match(String(error), /401|Unauthorized/);
        return true;
      });
    }
    const raw = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    assert.equal(raw.status, 401);
    assert.match(raw.headers.get("www-authenticate"), /^Bearer realm=/);
  });

  test("a client with the token lists tools and executes", async () => {
    const client = await connectTypeScript(stack.url, { Authorization: `Bearer ${TOKEN}` });
    try {
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ["search", "execute"]);
      const report = await execute(client, "return await everything.get_sum({ a: 2, b: 40 });");
      assert.equal(report.result, "The sum of 2 and 40 is 42.");
    } finally {
      await client.close();
    }
  });
});
