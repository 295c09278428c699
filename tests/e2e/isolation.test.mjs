// What model-written code cannot do: reach the network, find the bridge outside the namespace
// functions, or leave state for the next execution; and requests from foreign hosts or origins.
// Run against a real `wrangler dev` with real dynamic isolates.

import assert from "node:assert/strict";
import { request } from "node:http";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";

import { execute, useStackAndClient } from "../support/mcp.mjs";
import { freePort } from "../support/stack.mjs";

describe("sandbox isolation", () => {
  const running = useStackAndClient();

  test("code cannot reach a loopback listener by fetch, and the listener receives nothing", async () => {
    const port = await freePort();
    let connections = 0;
    const listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise((ok) => listener.listen(port, "127.0.0.1", ok));
    try {
      const report = await execute(running.client, `
const attempts: Record<string, string> = {};
try {
  const response = await fetch("http://127.0.0.1:${port}/exfiltrate?secret=1");
  attempts.fetch = "reached: " + response.status;
} catch (error) {
  attempts.fetch = "refused: " + (error as Error).message;
}
return attempts;`);
      assert.equal(report.isError, false, JSON.stringify(report));
      assert.match(report.result.fetch, /^refused: /);
      await sleep(500);
      assert.equal(connections, 0);
    } finally {
      listener.close();
    }
  });

  test("the bridge is only reachable through the namespace functions", async () => {
    const report = await execute(running.client, `
const sum = everything.get_sum as any;
return {
  globals: ["BRIDGE", "bridge", "env"].filter((name) => name in globalThis),
  functionProperties: Object.getOwnPropertyNames(sum).filter((name) => !["length", "name"].includes(name)),
  namespaces: Object.keys(everything),
};`);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.deepEqual(report.result.globals, []);
    assert.deepEqual(report.result.functionProperties, []);
    assert.ok(report.result.namespaces.includes("get_sum"));
  });

  test("a program gets no Cache API and no runtime module: nowhere to leave data for a later execution", async () => {
    const report = await execute(running.client, `
const found: Record<string, unknown> = { caches: typeof caches, inGlobal: "caches" in globalThis, viaSelf: typeof (self as any).caches };
try {
  found.constructed = typeof new (CacheStorage as any)();
} catch (error) {
  found.constructed = "refused: " + (error as Error).message;
}
return found;`);
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.equal(report.result.caches, "undefined");
    assert.equal(report.result.inGlobal, false);
    assert.equal(report.result.viaSelf, "undefined");
    assert.match(String(report.result.constructed), /^refused: /);
    for (const module of ["cloudflare:workers", "cloudflare:sockets"]) {
      const imported = await execute(running.client, `const m = await import("${module}");\nreturn Object.keys(m);`);
      assert.equal(imported.isError, true, JSON.stringify(imported));
      assert.equal(imported.error.name, "NotAllowed", JSON.stringify(imported));
      assert.match(imported.error.message, /`import\(\)` cannot load modules here.*`cloudflare:` modules included/);
      assert.equal(imported.calls, undefined, "nothing ran");
    }
  });

  test("the isolate runs without Node.js compatibility: no process and no Buffer", async () => {
    // The runner refuses `import()` of a `node:` module before the isolate starts (source.rs).
    const report = await execute(running.client, "return { process: typeof process, buffer: typeof Buffer };");
    assert.equal(report.isError, false, JSON.stringify(report));
    assert.deepEqual(report.result, { process: "undefined", buffer: "undefined" });
  });

  test("a request for a foreign host (DNS rebinding) or from a foreign origin is refused with 403", async () => {
    const url = new URL(running.stack.url);
    const initialize = JSON.stringify({
      jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "rebind", version: "1" } },
    });
    const post = (headers) => new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: url.port, path: "/mcp", method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } },
        (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode, session: res.headers["mcp-session-id"], body }));
        },
      );
      req.on("error", reject);
      req.end(initialize);
    });
    const rebound = await post({ host: "evil.example.com", origin: "http://evil.example.com" });
    assert.equal(rebound.status, 403, rebound.body);
    assert.equal(rebound.session, undefined);
    assert.match(JSON.parse(rebound.body).error.message, /host `evil\.example\.com` is not allowed/);
    const crossSite = await post({ origin: "https://evil.example.com" });
    assert.equal(crossSite.status, 403, crossSite.body);
    const local = await post({ origin: `http://127.0.0.1:${url.port}` });
    assert.equal(local.status, 200, local.body);
  });

  test("nothing one execution leaves behind is seen by the next", async () => {
    const first = await execute(running.client, `
(globalThis as any).leftBehind = "secret";
(Object.prototype as any).polluted = true;
(everything as any).get_sum = async () => "hijacked";
return "planted";`);
    assert.equal(first.isError, true, "namespace objects are frozen, so the hijack throws");
    const second = await execute(running.client, `
return {
  global: typeof (globalThis as any).leftBehind,
  prototype: typeof ({} as any).polluted,
  sum: await everything.get_sum({ a: 2, b: 40 }),
};`);
    assert.deepEqual(second.result, { global: "undefined", prototype: "undefined", sum: "The sum of 2 and 40 is 42." });
  });
});
