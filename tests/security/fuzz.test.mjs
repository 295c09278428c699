// Sends 1,200 random and mutated requests to a real `wrangler dev` (seeded, so a failure
// reproduces): bodies of random bytes, JSON-RPC messages with parts removed, retyped or
// replaced, wrong and missing headers, other HTTP methods, live and made-up sessions, both
// protocol generations. Every answer must come within 15 s, never be a 5xx, and, when it is
// JSON, be a JSON-RPC answer with an integer error code or a result. The runner must still
// serve a normal execute afterwards.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const REQUESTS = 1200;
const CONCURRENCY = 8;
const ANSWER_WITHIN_MS = 15_000;

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function generator(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = ["initialize", "ping", "tools/list", "tools/call", "logging/setLevel", "server/discover",
  "notifications/initialized", "notifications/cancelled", "resources/list", "", "tools/call\u0000", "x".repeat(300)];
const ODD_VALUES = [null, true, -1, 1e308, "", "\u{1F600}", [], {}, [[[[[]]]]], "a".repeat(5000), { __proto__: { x: 1 } }];

function fuzzer(random, session) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const chance = (p) => random() < p;
  const oddValue = () => pick(ODD_VALUES);

  function message() {
    const method = pick(METHODS);
    const params = pick([
      undefined,
      oddValue(),
      { name: pick(["execute", "search", "nope", oddValue()]), arguments: pick([{ code: pick(["return 1", "while(", "}", oddValue()]) }, { query: oddValue() }, oddValue()]) },
      { protocolVersion: pick(["2025-11-25", "2026-07-28", "1999-01-01", oddValue()]), capabilities: oddValue(), clientInfo: oddValue() },
      { _meta: { "io.modelcontextprotocol/protocolVersion": pick(["2026-07-28", "2025-11-25", oddValue()]), progressToken: oddValue() }, name: "execute", arguments: { code: "return 2" } },
      { requestId: oddValue(), reason: oddValue() },
      { level: pick(["info", "debug", "loud", oddValue()]) },
    ]);
    const body = { jsonrpc: pick(["2.0", "2.0", "1.0", oddValue()]), id: pick([1, "a", null, oddValue()]), method, params };
    for (const key of Object.keys(body)) {
      if (chance(0.1)) delete body[key];
    }
    return body;
  }

  function body() {
    switch (Math.floor(random() * 6)) {
      case 0: return Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      case 1: return JSON.stringify(message()).slice(0, Math.floor(random() * 120));
      case 2: return JSON.stringify(Array.from({ length: 1 + Math.floor(random() * 4) }, message));
      case 3: return "[".repeat(2000) + "]".repeat(2000);
      default: return JSON.stringify(message());
    }
  }

  return function request() {
    const headers = {};
    // Mostly well-formed transport, so most requests reach the JSON-RPC layer.
    if (chance(0.95)) headers["content-type"] = chance(0.85) ? "application/json" : pick(["application/json; charset=utf-8", "text/plain", "application/jsonx", ""]);
    if (chance(0.95)) headers.accept = chance(0.8) ? "application/json, text/event-stream" : pick(["application/json", "text/event-stream", "*/*", "text/html", ""]);
    if (chance(0.7)) headers["mcp-session-id"] = chance(0.7) ? session : pick(["not-a-session", "", "../../etc"]);
    if (chance(0.5)) headers["mcp-protocol-version"] = pick(["2025-11-25", "2026-07-28", "2025-03-26", "banana", ""]);
    if (chance(0.2)) headers["mcp-method"] = pick(["tools/call", "tools/list", "x"]);
    if (chance(0.2)) headers["mcp-name"] = pick(["execute", "=?base64?ZXhlY3V0ZQ==?=", "=?base64?!!?="]);
    const method = chance(0.92) ? "POST" : pick(["GET", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"]);
    return { method, headers, body: ["GET", "HEAD"].includes(method) ? undefined : body() };
  };
}

describe("request fuzzing", () => {
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

  test(`${REQUESTS} random and mutated requests: no 5xx, no hang, only specification errors`, async () => {
    const session = client.transport.sessionId;
    const next = fuzzer(generator(20261124), session);
    const problems = [];
    const statuses = {};
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent += 1;
        const request = next();
        const response = await fetch(stack.url, { ...request, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) }).catch((error) => error);
        if (response instanceof Error) {
          problems.push(`${request.method} ${String(request.body).slice(0, 80)}: ${response.message}`);
          continue;
        }
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const type = response.headers.get("content-type") ?? "";
        if (type.startsWith("text/event-stream") && request.method === "GET") {
          // The session's GET stream stays open by design.
          await response.body?.cancel();
          continue;
        }
        const text = await response.text().catch((error) => `unread: ${error.message}`);
        if (response.status >= 500) {
          problems.push(`${response.status} for ${request.method} ${String(request.body).slice(0, 80)}: ${text.slice(0, 200)}`);
        }
        if (type.startsWith("application/json") && text) {
          const answers = [JSON.parse(text)].flat();
          for (const answer of answers) {
            const valid = answer.jsonrpc === "2.0" && ("result" in answer || Number.isInteger(answer.error?.code));
            if (!valid) problems.push(`not a JSON-RPC answer: ${text.slice(0, 200)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`fuzz: ${REQUESTS} requests, statuses ${JSON.stringify(statuses)}`);
    assert.deepEqual(problems, [], `statuses: ${JSON.stringify(statuses)}`);
    assert.ok(Object.keys(statuses).length > 4, `varied answers: ${JSON.stringify(statuses)}`);
  });

  test("the runner serves a new client's execute afterwards", async () => {
    // The fuzzer may well have deleted the first client's session.
    const fresh = await connectTypeScript(stack.url);
    try {
      const report = await execute(fresh, "return await everything.get_sum({ a: 2, b: 40 });");
      assert.equal(report.result, "The sum of 2 and 40 is 42.");
    } finally {
      await fresh.close();
    }
  });
});
