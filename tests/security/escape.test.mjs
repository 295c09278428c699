// Runs the escape corpus (tests/security/corpus.mjs) against a real `wrangler dev` with real
// dynamic isolates and real upstreams, then proves the runner is still healthy: a normal
// execute succeeds and the loopback listener never saw a connection. Also proves that
// infinite loops end under local workerd, where one synchronous loop would otherwise stall
// every request, while other clients are served.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, execute } from "../e2e/mcp.mjs";
import { freePort, startStack } from "../e2e/stack.mjs";
import { CORPUS, LIMITS } from "./corpus.mjs";

describe("escape corpus", () => {
  let stack;
  let client;
  let listener;
  let connections = 0;
  const probe = {};

  before(async () => {
    probe.port = await freePort();
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise((ok) => listener.listen(probe.port, "127.0.0.1", ok));
    stack = await startStack({ faulty: {}, vars: { LIMITS: JSON.stringify(LIMITS) } });
    probe.faultyLog = () => stack.faulty.log();
    client = await connectTypeScript(stack.url);
  });
  after(async () => {
    await client?.close();
    stack?.stop();
    listener?.close();
  });

  test(`the corpus holds at least 25 programs (${CORPUS.length})`, () => {
    assert.ok(CORPUS.length >= 25);
  });

  for (const entry of CORPUS) {
    test(entry.name, async () => {
      const session = entry.upstreams ? await connectTypeScript(`${stack.url}?upstreams=${entry.upstreams}`) : client;
      try {
        const report = await execute(session, entry.code(probe));
        await entry.check(report, probe);
        if (entry.next) {
          await entry.next.check(await execute(session, entry.next.code(probe)), probe);
        }
      } finally {
        if (session !== client) {
          await session.close();
        }
      }
    });
  }

  test("infinite loops end while another client is served", async () => {
    const other = await connectTypeScript(stack.url);
    try {
      const loops = Array.from({ length: 3 }, () => execute(client, "let n = 0;\nwhile (true) { n++; }"));
      const normal = await execute(other, "return await everything.get_sum({ a: 20, b: 22 });");
      assert.equal(normal.result, "The sum of 20 and 22 is 42.");
      for (const report of await Promise.all(loops)) {
        assert.equal(report.error?.name, "LoopLimitExceeded", JSON.stringify(report));
      }
    } finally {
      await other.close();
    }
  });

  test("after the corpus the runner is healthy and nothing reached the listener", async () => {
    const report = await execute(client, "return await everything.get_sum({ a: 2, b: 40 });");
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.equal(report.result, "The sum of 2 and 40 is 42.");
    assert.equal((await client.listTools()).tools.length, 2);
    assert.equal(connections, 0);
  });
});
