// An upstream that restarts forgets every MCP session. The runner's next request gets a 400 or
// 404 for its old session. A `tools/call` is never sent twice (it may not be idempotent), so that
// call fails with UpstreamSessionExpired, saying it was not processed; the runner has opened a new
// session by then, so the program's next call succeeds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { execute, useStackAndClient } from "../support/mcp.mjs";

describe("upstream restarts", () => {
  const running = useStackAndClient();

  test("after an upstream restart, the call that finds the session gone says so and the next call succeeds", async () => {
    const code = `try {
  return await everything.get_sum({ a: 2, b: 40 });
} catch (error) {
  console.log(error.name, error.message);
  return await everything.get_sum({ a: 2, b: 40 });
}`;
    assert.equal((await execute(running.client, code)).result, "The sum of 2 and 40 is 42.");
    await running.stack.restartEverything();
    const report = await execute(running.client, code);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.equal(report.result, "The sum of 2 and 40 is 42.");
    assert.deepEqual(report.logs, [
      "UpstreamSessionExpired everything.get_sum: the upstream had ended the session, so the request was not processed; call again",
    ]);
    assert.deepEqual(report.calls.map((c) => [c.ok, c.error]), [[false, "UpstreamSessionExpired"], [true, undefined]]);
  });
});
