// An upstream that restarts forgets every MCP session. The runner's next call gets a 400 or 404
// for its old session, opens a new one and sends the call again, so the program never notices.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { execute, useStackAndClient } from "./mcp.mjs";

describe("upstream restarts", () => {
  const running = useStackAndClient();

  test("after an upstream restart, the next call opens a new session and succeeds", async () => {
    const code = "return await everything.get_sum({ a: 2, b: 40 });";
    assert.equal((await execute(running.client, code)).result, "The sum of 2 and 40 is 42.");
    await running.stack.restartEverything();
    const report = await execute(running.client, code);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.equal(report.result, "The sum of 2 and 40 is 42.");
  });
});
