// Runs the escape corpus (tests/security/corpus.mjs) against a real `wrangler dev` with real
// dynamic isolates and real upstreams, then proves the runner is still healthy: a normal
// execute succeeds and the loopback listener never saw a connection. Also proves that
// infinite loops end under local workerd, where one synchronous loop would otherwise stall
// every request, while other clients are served.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";

import { auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { freePort, startStack } from "../support/stack.mjs";
import { ACCESS, CORPUS, KEYS, LIMITS, OVERRIDES } from "./corpus.mjs";
import { TAMPERING } from "./tampering.mjs";

const ADMIN_TOKEN = "security-operator-token-7c2e";
/** `Authorization` for `person`, one of the corpus's KEYS (the corpus runs as `corpus`). */
const as = (person = "corpus") => ({ Authorization: `Bearer ${KEYS[person]}` });

describe("escape corpus", () => {
  let stack;
  let client;
  let listener;
  let connections = 0;
  const probe = { limits: LIMITS };

  before(async () => {
    probe.port = await freePort();
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise((ok) => listener.listen(probe.port, "127.0.0.1", ok));
    stack = await startStack({
      faulty: {},
      overrides: OVERRIDES,
      vars: { LIMITS: JSON.stringify(LIMITS), ACCESS: JSON.stringify(ACCESS) },
      secrets: { ADMIN_TOKEN, RUNNER_TOKEN: Object.entries(KEYS).map(([name, key]) => `${name}=${key}`).join(",") },
    });
    probe.faultyLog = () => stack.faulty.log();
    probe.auditOf = (code) => auditEntry(stack.base, ADMIN_TOKEN, code);
    client = await connectTypeScript(stack.url, as());
  });
  after(async () => {
    await client?.close();
    stack?.stop();
    listener?.close();
  });

  test(`the corpus holds at least 25 programs (${CORPUS.length})`, () => {
    assert.ok(CORPUS.length >= 25);
  });

  for (const entry of [...CORPUS, ...TAMPERING]) {
    test(entry.name, async () => {
      const separate = entry.upstreams || entry.person;
      const query = entry.upstreams ? `?upstreams=${entry.upstreams}` : "";
      const session = separate ? await connectTypeScript(`${stack.url}${query}`, as(entry.person)) : client;
      try {
        const code = entry.code(probe);
        const report = await execute(session, code);
        await entry.check(report, probe, code);
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
    const other = await connectTypeScript(stack.url, as());
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

  test("a catastrophic regular expression ends with UnsafeRegExp while another session is served within 1 s", async () => {
    const other = await connectTypeScript(stack.url, as());
    try {
      const regex = execute(client, 'const subject = "a".repeat(64) + "!";\nreturn new RegExp("^(\\\\w+\\\\s?)*$").test(subject);');
      const started = Date.now();
      const normal = await execute(other, "return await everything.get_sum({ a: 20, b: 22 });");
      const ms = Date.now() - started;
      assert.equal(normal.result, "The sum of 20 and 22 is 42.");
      assert.ok(ms < 1000, `the other session waited ${ms} ms`);
      const report = await regex;
      assert.equal(report.error?.name, "UnsafeRegExp", JSON.stringify(report));
      assert.equal(report.error.line, 2);
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

describe("synchronous work past timeoutMs", () => {
  const limits = { timeoutMs: 1_000 };
  let stack;
  let client;
  before(async () => {
    stack = await startStack({ vars: { LIMITS: JSON.stringify(limits) }, secrets: { ADMIN_TOKEN } });
    client = await connectTypeScript(stack.url);
  });
  after(async () => {
    await client?.close();
    stack?.stop();
  });

  test("a program that holds the CPU past timeoutMs without a loop is reported and audited as timed out", async () => {
    // Native work the loop guard does not count: no loop and no function of the program's.
    const code = "const values = Array(1_500_000).fill(0).map(Math.random);\nvalues.sort();\nreturn values.length;";
    const started = Date.now();
    const report = await execute(client, code);
    assert.ok(Date.now() - started > limits.timeoutMs, "the work took longer than timeoutMs");
    assert.equal(report.isError, true, JSON.stringify(report));
    assert.equal(report.error.name, "TimeoutExceeded");
    assert.match(report.error.message, /past its limit of 1000 ms \(timeoutMs\)/);
    assert.equal(report.result, undefined, "the late result is discarded");
    const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
    assert.equal(entry.ending, "timedOut");
    assert.deepEqual(entry.limitsHit, ["timeoutMs"]);
  });
});
