// Many upstreams at once, and what happens when they misbehave. The runner aggregates
// server-everything, the Python SDK server three ways (stateful with SSE answers, stateless with
// JSON answers, and the 2024-11-05 HTTP+SSE transport), the fault-injecting server
// (tests/upstreams/faulty_server.mjs), an upstream nobody listens on and one that accepts
// connections and never answers. The fault server's credential is a Worker secret; the last
// test looks for its value in everything the runner said and logged.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { adminRequest, connectTypeScript, execute } from "../support/mcp.mjs";
import { freePort, startStack } from "../support/stack.mjs";

const SECRET = "faulty-credential-7c1e9a";
const ADMIN_TOKEN = "operator-token-for-tests";
const FAULTY_TIMEOUT_MS = 1500;

describe("many upstreams, faults and restarts", () => {
  let stack;
  let client;
  let stalled;
  /** Every result text the runner returned, for the secret scan. */
  const seen = [];

  const run = async (code) => {
    const report = await execute(client, code);
    seen.push(JSON.stringify(report));
    return report;
  };
  const admin = async (path, init = {}) => {
    const { status, text } = await adminRequest(stack.base, ADMIN_TOKEN, path, init);
    seen.push(text);
    return { status, body: text && JSON.parse(text) };
  };

  before(async () => {
    stalled = createServer(() => {});
    const stalledPort = await freePort();
    await new Promise((ok) => stalled.listen(stalledPort, "127.0.0.1", ok));
    stack = await startStack({
      legacySse: true,
      faulty: { timeoutMs: FAULTY_TIMEOUT_MS, headers: { Authorization: "Bearer ${FAULTY_TOKEN}" } },
      extraUpstreams: [
        { name: "down", url: `http://127.0.0.1:${await freePort()}/mcp` },
        { name: "stalled", url: `http://127.0.0.1:${stalledPort}/mcp`, timeoutMs: 5000 },
      ],
      overrides: { inventory_json: { tools: { deny: ["create_order"] } } },
      secrets: { FAULTY_TOKEN: SECRET, ADMIN_TOKEN },
    });
    client = await connectTypeScript(stack.url);
  });

  after(async () => {
    await client?.close();
    stack?.stop();
    stalled?.close();
  });

  test("a down and a stalled upstream do not hold up tools/list, and search says why", async () => {
    const started = Date.now();
    const { tools } = await client.listTools();
    const firstListingMs = Date.now() - started;
    const execute = tools.find((t) => t.name === "execute").description;
    assert.match(execute, /- inventory_sse \(4 functions\)/);
    assert.match(execute, /- down \(unavailable: UpstreamUnreachable, reporting "/);
    assert.match(execute, /- stalled \(unavailable: still connecting after 1500 ms/);
    assert.ok(firstListingMs < 4000, `first tools/list took ${firstListingMs} ms`);

    // The stalled upstream has failed to answer once by now; later listings do not wait for it.
    await sleep(5000);
    const again = Date.now();
    const search = await client.callTool({ name: "search", arguments: { query: "stock level" } });
    const searchMs = Date.now() - again;
    const text = search.content[0].text;
    seen.push(text);
    assert.match(text, /function get_stock/);
    assert.match(text, /\/\/ stalled is unavailable: UpstreamTimeout \(no answer within 5000 ms\) \(trying again\)/);
    assert.ok(searchMs < 1000, `search took ${searchMs} ms with a stalled upstream`);
  });

  test("one program calls every transport: streamable HTTP with SSE and JSON answers, and HTTP+SSE", async () => {
    const report = await run(`const sku = "TL-001";
const [sum, stateful, stateless, legacy, echo] = await Promise.all([
  everything.get_sum({ a: 2, b: 40 }),
  inventory.get_stock({ sku }),
  inventory_json.get_stock({ sku }),
  inventory_sse.get_stock({ sku }),
  faulty.echo({ text: "hi" }),
]);
return { sum, stocks: [stateful.stock, stateless.stock, legacy.stock], echo };`);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.deepEqual(report.result, {
      sum: "The sum of 2 and 40 is 42.",
      stocks: [25, 25, 25],
      echo: { echoed: "hi" },
    });
  });

  test("the operator's tool filter hides a tool from the namespace", async () => {
    const report = await run("return { listed: Object.keys(inventory_json), hidden: typeof inventory_json.create_order };");
    assert.deepEqual(report.result.hidden, "undefined");
    assert.ok(!report.result.listed.includes("create_order"));
    assert.ok(report.result.listed.includes("get_stock"));
  });

  test("a slow call on one upstream does not hold up other calls to it", async () => {
    const report = await run(`const order = [];
await Promise.all([
  faulty.slow({ ms: 1000 }).then(() => order.push("slow")),
  faulty.echo({ text: "quick" }).then(() => order.push("quick")),
]);
return order;`);
    assert.deepEqual(report.result, ["quick", "slow"], JSON.stringify(report));
  });

  /** Calls faulty.echo under `fault`, then again after the fault is cleared. */
  const underFault = async (fault) => {
    await stack.faulty.control(fault);
    try {
      return await run(`let failure;
try {
  await faulty.echo({ text: "under fault" });
} catch (error) {
  failure = { name: error.name, message: error.message, namespace: error.upstream, fn: error.tool };
}
return failure;`);
    } finally {
      await stack.faulty.control({ fault: "none" });
    }
  };

  const FAULTS = [
    [{ fault: "http500" }, "UpstreamHttpError", /^faulty\.echo: HTTP 500: "internal failure while serving request/],
    [{ fault: "malformed-sse" }, "UpstreamProtocolError", /^faulty\.echo: malformed response: the event stream ended without the response to request \d+: an event is not JSON-RPC/],
    [{ fault: "rpc-error" }, "UpstreamRpcError", /^faulty\.echo: JSON-RPC error -32603: database offline/],
    [{ fault: "tool-error" }, "UpstreamToolError", /^faulty\.echo: the tool reported an error: tool failed: inventory locked$/],
    [{ fault: "drop-session" }, "UpstreamSessionExpired", /^faulty\.echo: the upstream had ended the session, so the request was not processed; call again$/],
    [{ fault: "slow", delayMs: 3000 }, "UpstreamTimeout", new RegExp(`^faulty\\.echo: no answer within ${FAULTY_TIMEOUT_MS} ms$`)],
    [{ fault: "hang" }, "UpstreamTimeout", new RegExp(`^faulty\\.echo: no answer within ${FAULTY_TIMEOUT_MS} ms$`)],
  ];

  for (const [fault, name, message] of FAULTS) {
    test(`fault ${fault.fault}: the call fails with ${name}, and the next call succeeds`, async () => {
      const report = await underFault(fault);
      assert.equal(report.isError, false, JSON.stringify(report));
      assert.equal(report.result.name, name, JSON.stringify(report.result));
      assert.match(report.result.message, message);
      assert.deepEqual([report.result.namespace, report.result.fn], ["faulty", "echo"]);
      assert.deepEqual(report.calls.map((c) => c.error), [name]);

      const recovered = await run('return await faulty.echo({ text: "after" });');
      assert.deepEqual(recovered.result, { echoed: "after" }, JSON.stringify(recovered));
    });
  }

  test("calls go straight to the upstream in the session its object opened, with ids no one else sends, and an ended session is renewed once for all", async () => {
    const since = Date.now();
    const parallel = (label) =>
      run(`return await Promise.all(Array.from({ length: 5 }, (_, i) => faulty.echo({ text: "${label} " + i })));`);
    for (const label of ["lent", "lent again"]) {
      const report = await parallel(label);
      assert.deepEqual(report.result, [0, 1, 2, 3, 4].map((i) => ({ echoed: `${label} ${i}` })), JSON.stringify(report));
    }
    assert.equal((await admin("/admin/upstreams/faulty/refresh", { method: "POST" })).status, 200);
    const log = (await stack.faulty.log()).filter((r) => r.at >= since);
    const calls = log.filter((r) => r.jsonrpcMethod === "tools/call");
    const listing = log.filter((r) => r.jsonrpcMethod === "tools/list");
    assert.equal(calls.length, 10, JSON.stringify(log));
    assert.equal(new Set(calls.map((r) => r.id)).size, 10, "no id is sent twice");
    assert.ok(calls.every((r) => r.id >= 2 ** 32), `the Worker's ids lie past the object's: ${calls.map((r) => r.id)}`);
    assert.ok(listing.length >= 1 && listing.every((r) => r.id < 2 ** 32), "the object lists the tools itself");
    assert.deepEqual(new Set([...calls, ...listing].map((r) => r.session)).size, 1, "one session, the object's");

    await stack.faulty.control({ fault: "drop-session" });
    const dropped = Date.now();
    await parallel("after the end");
    const renewed = await parallel("renewed");
    assert.deepEqual(renewed.result, [0, 1, 2, 3, 4].map((i) => ({ echoed: `renewed ${i}` })), JSON.stringify(renewed));
    const after = (await stack.faulty.log()).filter((r) => r.at >= dropped);
    const opened = after.filter((r) => r.jsonrpcMethod === "initialize");
    assert.equal(opened.length, 1, `one new session for the object and every lessee: ${JSON.stringify(after)}`);
    const renewedCalls = after.filter((r) => r.params?.arguments?.text?.startsWith("renewed"));
    assert.ok(renewedCalls.every((r) => r.session === renewedCalls[0].session && r.session !== calls[0].session));
  });

  test("a call past its timeout is cancelled upstream with notifications/cancelled", async () => {
    const log = await stack.faulty.log();
    const hung = log.filter((r) => r.jsonrpcMethod === "tools/call" && r.params?.arguments?.text === "under fault");
    const cancelled = log.filter((r) => r.jsonrpcMethod === "notifications/cancelled");
    assert.ok(cancelled.length >= 2, JSON.stringify(cancelled));
    const cancelledIds = cancelled.map((r) => r.params.requestId);
    const timedOut = hung.filter((r) => cancelledIds.includes(r.id));
    assert.equal(timedOut.length, 2, "the slow and the hung call were both cancelled");
    assert.ok(cancelled.every((r) => r.params.reason === `no answer within ${FAULTY_TIMEOUT_MS} ms`));
  });

  test("an upstream's tools/list_changed is heeded: the new tool appears", async () => {
    await stack.faulty.control({ fault: "list-changed" });
    await run('return await faulty.echo({ text: "announce" });');
    let text = "";
    for (let attempt = 0; attempt < 20 && !text.includes("function added_later"); attempt += 1) {
      const search = await client.callTool({ name: "search", arguments: { query: "added later" } });
      text = search.content[0].text;
      await sleep(250);
    }
    assert.match(text, /declare namespace faulty \{[\s\S]*function added_later/);
    const report = await run("return await faulty.added_later({});");
    assert.equal(report.result, "added later", JSON.stringify(report));
  });

  test("the operator endpoint needs ADMIN_TOKEN, lists health and refreshes an upstream", async () => {
    const anonymous = await fetch(`${stack.base}/admin/upstreams`);
    assert.equal(anonymous.status, 401);

    const { status, body } = await admin("/admin/upstreams");
    assert.equal(status, 200);
    const byName = Object.fromEntries(body.upstreams.map((u) => [u.name, u]));
    assert.deepEqual(Object.keys(byName), stack.upstreams.map((u) => u.name));
    assert.equal(byName.everything.state, "ready");
    // server-everything's 13, and the two that ask the client, which the runner says it passes on.
    assert.equal(byName.everything.toolCount, 15);
    assert.equal(byName.inventory_json.toolCount, 3, "the filtered tool is not counted");
    assert.equal(byName.inventory_json.upstreamToolCount, 4);
    assert.ok(byName.faulty.health.failures >= FAULTS.length - 1, "every fault but the tool error is a failed request");
    assert.equal(byName.down.state, "failing");
    assert.match(byName.down.health.lastError.message, /^unreachable: /);

    const before = byName.inventory.toolsFetchedAtMs;
    const refreshed = await admin("/admin/upstreams/inventory/refresh", { method: "POST" });
    assert.equal(refreshed.status, 200);
    assert.ok(refreshed.body.toolsFetchedAtMs > before);
    assert.equal((await admin("/admin/upstreams/nope/refresh", { method: "POST" })).status, 404);
  });

  test("after a runner restart, cached tool lists are served before the upstream is contacted", async () => {
    await stack.stopEverything();
    await stack.restartRunner();
    await client.close();
    client = await connectTypeScript(stack.url);

    const { tools } = await client.listTools();
    assert.match(tools.find((t) => t.name === "execute").description, /- everything \(15 functions\)/);
    const search = await client.callTool({ name: "search", arguments: { query: "sum two numbers" } });
    assert.match(search.content[0].text, /function get_sum/);

    const report = await run(`try { await everything.get_sum({ a: 1, b: 2 }); } catch (e) { return [e.name, e.message]; }`);
    assert.equal(report.result[0], "UpstreamUnreachable", JSON.stringify(report));
    assert.match(report.result[1], /^everything\.get_sum: unreachable: /);
  });

  test("the secret credential reached the upstream but appears in no result and no log line", async () => {
    const report = await run("return await faulty.whoami({});");
    assert.equal(report.result, "Bearer [redacted]", JSON.stringify(report));
    const received = (await stack.faulty.log()).map((r) => r.authorization);
    assert.ok(received.includes(`Bearer ${SECRET}`), "the upstream got the resolved header");

    const logs = readFileSync(stack.runnerLog, "utf8");
    assert.ok(logs.length > 0);
    const leaks = [...seen, logs].filter((text) => text.includes(SECRET));
    assert.deepEqual(leaks, []);
  });
});
