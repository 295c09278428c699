// The client matrix: each MCP client a user may connect with runs the same plan against one
// real `wrangler dev` — list the tools, run an execute, run an execute that reports progress
// (and, where the client speaks logging, the runner's log events), and cancel a running
// execute — and every client's observations are checked the same way. A cancelled execute must
// stop its upstream call (the fault server receives `notifications/cancelled` for it) and make
// no further calls, a session client must hear of it on the session's GET stream, and the
// runner must serve the client's next execute.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";

import { ROOT, startStack } from "../support/stack.mjs";

/** How long the cancelled program's upstream call would take, and when the client cancels. */
const SLOW_MS = 2500;
const CANCEL_AFTER_MS = 800;

/** The programs each client runs; `marker` keeps one client's calls apart from another's. */
function planFor(marker) {
  return {
    marker,
    execute: `return await faulty.echo({ text: "hello ${marker}" });`,
    progress: `for (const n of [1, 2, 3]) { await faulty.echo({ text: "step " + n }); }\nreturn "done";`,
    cancel: `await faulty.slow({ ms: ${SLOW_MS} });\nawait faulty.echo({ text: "after cancel ${marker}" });\nreturn "not cancelled";`,
    followUp: "return 6 * 7;",
    cancelAfterMs: CANCEL_AFTER_MS,
  };
}

/**
 * Runs the plan with a connected TypeScript client (1.x and 2.x share this API but for
 * `callTool`, which 1.x takes a result schema before the options of): the client's log
 * handler pushes onto `logs`. Cancelling aborts the call's signal, on which the SDK sends
 * `notifications/cancelled` (sessions) or closes the request (2026-07-28).
 */
async function typeScript(client, callTool, transport, logs, plan) {
  await client.connect(transport);
  try {
    // Sessions set a log level once; a 2026-07-28 request opts in itself, in `_meta`.
    const stateless = client.getNegotiatedProtocolVersion?.() === "2026-07-28";
    if (!stateless) {
      await client.setLoggingLevel("info");
    }
    const _meta = stateless ? { "io.modelcontextprotocol/logLevel": "info" } : undefined;
    const execute = (code, options) => callTool({ name: "execute", arguments: { code }, _meta }, options);
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    const executed = await execute(plan.execute);
    const progress = [];
    const progressed = await execute(plan.progress, { onprogress: (p) => progress.push(p) });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort("the matrix test cancels"), plan.cancelAfterMs);
    let cancel;
    try {
      await execute(plan.cancel, { signal: controller.signal });
      cancel = { outcome: "completed" };
    } catch (error) {
      cancel = { outcome: "cancelled", ms: Date.now() - started, error: String(error) };
    }
    if (!stateless) {
      cancel.abandoned = await eventually(() => logs.find((log) => log.data?.event === "execution_abandoned"));
    }
    const followUp = await execute(plan.followUp);
    const protocolVersion = client.getNegotiatedProtocolVersion?.() ?? transport.protocolVersion;
    return { protocolVersion, tools, execute: executed, progress: { result: progressed, notifications: progress, logs }, cancel, followUp };
  } finally {
    await client.close();
  }
}

/** The first truthy value of `probe`, polled for up to five seconds; undefined if none. */
async function eventually(probe) {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(50)) {
    const value = probe();
    if (value) return value;
  }
  return undefined;
}

/** The TypeScript SDK 1.x, in this process. */
async function typeScriptV1(url, plan) {
  const client = new Client({ name: "matrix-typescript-v1", version: "1.0.0" });
  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => logs.push(notification.params));
  const callTool = (params, options) => client.callTool(params, undefined, options);
  return typeScript(client, callTool, new StreamableHTTPClientTransport(new URL(url)), logs, plan);
}

/** `@modelcontextprotocol/client` 2.x, in this process, negotiating in `mode`. */
function typeScriptV2(mode) {
  return async (url, plan) => {
    const client = new ClientV2({ name: "matrix-typescript-v2", version: "2.0.0" }, { versionNegotiation: { mode } });
    const logs = [];
    client.setNotificationHandler("notifications/message", (notification) => logs.push(notification.params));
    const callTool = (params, options) => client.callTool(params, options);
    return typeScript(client, callTool, new TransportV2(new URL(url)), logs, plan);
  };
}

/** The Python `mcp` SDK in `venv`, through tests/e2e/py_matrix.py. */
function python(venv) {
  return async (url, plan) => {
    const { stdout } = await promisify(execFile)(
      join(venv, "bin/python"),
      [join(ROOT, "tests/e2e/py_matrix.py"), "--url", url, "--plan", JSON.stringify(plan)],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(stdout);
  };
}

/** Each client, and the protocol version it must end up speaking. */
const CLIENTS = [
  { name: "@modelcontextprotocol/sdk 1.x", run: typeScriptV1, version: "2025-11-25" },
  { name: "@modelcontextprotocol/client 2.x (default: sessions)", run: typeScriptV2("legacy"), version: "2025-11-25" },
  { name: "@modelcontextprotocol/client 2.x (auto: probes 2026-07-28)", run: typeScriptV2("auto"), version: "2026-07-28" },
  { name: "Python mcp 1.x", run: python(process.env.MIR_VENV), version: "2025-11-25" },
  { name: "Python mcp 2.x (default: probes 2026-07-28)", run: python(process.env.MIR_VENV_MCP2), version: "2026-07-28" },
];

describe("client matrix", () => {
  let stack;
  before(async () => {
    stack = await startStack({ faulty: {} });
  });
  after(() => stack?.stop());

  for (const { name, run, version } of CLIENTS) {
    test(`${name}: lists tools, executes, reports progress and log events, and cancels an execute`, async () => {
      await fetch(new URL("/control/log", stack.faulty.url), { method: "DELETE" });
      const marker = name.replace(/\W+/g, "-");
      const plan = planFor(marker);
      const seen = await run(stack.url, plan);

      assert.equal(seen.protocolVersion, version);
      assert.deepEqual(seen.tools.sort(), ["execute", "search"]);
      assert.equal(seen.execute.isError, false, JSON.stringify(seen.execute));
      assert.deepEqual(seen.execute.structuredContent.result, { echoed: `hello ${marker}` });

      const { result, notifications, logs } = seen.progress;
      assert.equal(result.structuredContent.result, "done");
      assert.deepEqual(notifications.map((n) => n.progress), [1, 2, 3]);
      for (const notification of notifications) {
        assert.match(notification.message, /^faulty\.echo answered in \d+ ms$/);
      }
      assert.ok(
        logs.some((log) => log.logger === "mcp-isolate-runner" && log.data?.event === "execution_finished" && log.data.calls === 3),
        `an execution_finished log event: ${JSON.stringify(logs)}`,
      );

      assert.equal(seen.cancel.outcome, "cancelled", JSON.stringify(seen.cancel));
      assert.ok(seen.cancel.ms < SLOW_MS, `the cancelled call returned after ${seen.cancel.ms} ms`);
      assert.equal(seen.followUp.structuredContent.result, 42);

      if (version === "2026-07-28") {
        // Such a client cancels by closing the response stream. `wrangler dev`'s proxy does not
        // pass the disconnect on to workerd, so locally the program runs on, unseen; on
        // Cloudflare the dropped stream abandons it (src/execution/lifecycle.rs, `Unfinished`).
        return;
      }
      // The cancelled request gets no answer; the session's GET stream says what was stopped.
      assert.deepEqual(seen.cancel.abandoned?.data?.stoppedCallsTo, ["faulty"], JSON.stringify(seen.cancel));
      // The slow call was cancelled upstream, and the program made no call after it.
      await sleep(SLOW_MS);
      const log = await stack.faulty.log();
      const slow = log.find((entry) => entry.jsonrpcMethod === "tools/call" && entry.params?.name === "slow");
      assert.ok(slow, "the slow call reached the upstream");
      const cancelled = log.filter((entry) => entry.jsonrpcMethod === "notifications/cancelled").map((entry) => entry.params.requestId);
      assert.ok(cancelled.includes(slow.id), `notifications/cancelled for request ${slow.id}; got ${JSON.stringify(cancelled)}`);
      assert.ok(
        !log.some((entry) => entry.params?.arguments?.text === `after cancel ${marker}`),
        "the cancelled program made no further call",
      );
    });
  }
});
