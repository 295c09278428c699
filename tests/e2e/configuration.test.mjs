// Configuration mistakes are reported, not guessed around: an invalid UPSTREAMS stops the runner
// from serving with an error naming the field (to the client and in the log; with RUNNER_TOKEN
// set, only to a client that presents a token), and a header that names a secret the Worker
// lacks makes that one upstream unavailable, naming the secret, while the others keep working.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "1" } },
});

describe("configuration errors", () => {
  test("an invalid UPSTREAMS is refused with 503 naming the field, and logged", async () => {
    const stack = await startStack({ extraUpstreams: [{ name: "slowpoke", url: "http://127.0.0.1:9/mcp", timeoutMs: 5 }] });
    try {
      const response = await fetch(stack.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: INITIALIZE,
      });
      assert.equal(response.status, 503);
      const problem = "UPSTREAMS[3].timeoutMs: 5 is outside 100 to 120000";
      assert.match(await response.text(), new RegExp(problem.replace(/[[\].]/g, "\\$&")));
      // wrangler writes the Worker's console output a moment after the response.
      let logged = false;
      for (let attempt = 0; attempt < 40 && !logged; attempt += 1) {
        logged = readFileSync(stack.runnerLog, "utf8").includes(problem);
        await sleep(100);
      }
      assert.ok(logged, readFileSync(stack.runnerLog, "utf8"));
    } finally {
      stack.stop();
    }
  });

  test("with RUNNER_TOKEN set, a caller without the token gets 401, not the configuration's error", async () => {
    const stack = await startStack({
      extraUpstreams: [{ name: "slowpoke", url: "http://127.0.0.1:9/mcp", timeoutMs: 5 }],
      secrets: { RUNNER_TOKEN: "e2e-config-token" },
    });
    const post = (authorization) =>
      fetch(stack.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(authorization ? { authorization } : {}),
        },
        body: INITIALIZE,
      });
    try {
      for (const authorization of [undefined, "Bearer wrong-token"]) {
        const response = await post(authorization);
        assert.equal(response.status, 401);
        assert.doesNotMatch(await response.text(), /UPSTREAMS|slowpoke|127\.0\.0\.1:9/);
      }
      const admitted = await post("Bearer e2e-config-token");
      assert.equal(admitted.status, 503);
      assert.match(await admitted.text(), /UPSTREAMS\[3\]\.timeoutMs/);
    } finally {
      stack.stop();
    }
  });

  test("a header naming a missing secret makes only its upstream unavailable, naming the secret", async () => {
    const stack = await startStack({
      extraUpstreams: [{ name: "locked", url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer ${LOCKED_TOKEN}" } }],
    });
    const client = await connectTypeScript(stack.url);
    try {
      const search = await client.callTool({ name: "search", arguments: { query: "sum" } });
      assert.match(
        search.content[0].text,
        /\/\/ locked is unavailable: UpstreamMisconfigured: upstream `locked` header `Authorization` needs secret `LOCKED_TOKEN`, which is not set/,
      );
      const report = await execute(client, "return await everything.get_sum({ a: 1, b: 1 });");
      assert.equal(report.result, "The sum of 1 and 1 is 2.");
    } finally {
      await client.close();
      stack.stop();
    }
  });
});
