// An upstream that restarts forgets every MCP session. The runner's next call gets a 400 or 404
// for its old session, opens a new one and sends the call again, so the program never notices.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, execute } from "./mcp.mjs";
import { startStack } from "./stack.mjs";

describe("upstream restarts", () => {
  let stack;
  let client;
  before(async () => {
    stack = await startStack();
    client = await connectTypeScript(stack.url);
  });
  after(async () => {
    await client?.close();
    stack?.stop();
  });

  test("after an upstream restart, the next call opens a new session and succeeds", async () => {
    const code = "return await everything.get_sum({ a: 2, b: 40 });";
    assert.equal((await execute(client, code)).result, "The sum of 2 and 40 is 42.");
    await stack.restartEverything();
    const report = await execute(client, code);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.equal(report.result, "The sum of 2 and 40 is 42.");
  });
});
