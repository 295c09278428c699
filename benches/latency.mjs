// Latency, measured in one run against one `wrangler dev`, with the MCP TypeScript SDK:
//
// - fresh-isolate spawn: the runner's own measurement (audit `spawnMs`) over `return 1;`;
// - for the runner and codemode, besides the client's view, the time inside the Worker from
//   receiving the program to having its result (the runner's audit `ms`, codemode's `ms`): the
//   like-for-like comparison, since the runner is reached through MCP and codemode through a
//   plain POST;
// - the same 1, 10 and 100 server-everything calls, sequential and parallel, made three ways:
//   an `execute` on the runner (fresh isolate, calls through the bridge); directly by the
//   client to server-everything (traditional tool calling, the baseline); and the same program
//   text run by @cloudflare/codemode's DynamicWorkerExecutor in a JS Worker on the same
//   wrangler/workerd (benches/codemode_baseline.mjs), when that is present.
//
// Writes benches/results/latency.json. Usage: node benches/latency.mjs   (make bench)

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { connectTypeScript } from "../tests/e2e/mcp.mjs";
import { ROOT, startStack } from "../tests/e2e/stack.mjs";
import { machine, summary } from "./lib/measure.mjs";

const ADMIN_TOKEN = "bench-operator-token";
const SPAWN_SAMPLES = 200;
const WARMUP = 5;
/** Iterations per number of calls. */
const ITERATIONS = { 1: 100, 10: 30, 100: 8 };
const SCENARIOS = [
  { calls: 1, mode: "sequential" },
  { calls: 10, mode: "sequential" },
  { calls: 10, mode: "parallel" },
  { calls: 100, mode: "sequential" },
  { calls: 100, mode: "parallel" },
];

/** The body of a program making `calls` get_sum calls through `ns`, one by one or at once. */
function body(ns, { calls, mode }) {
  return mode === "sequential"
    ? `for (let i = 0; i < ${calls}; i++) { await ${ns}.get_sum({ a: i, b: 1 }); }\nreturn ${calls};`
    : `await Promise.all(Array.from({ length: ${calls} }, (_, i) => ${ns}.get_sum({ a: i, b: 1 })));\nreturn ${calls};`;
}

/**
 * Client-side p50/p95 of `run` over `iterations` runs after a warm-up. When `run` resolves to
 * a number, that is the run's time inside the Worker, summarised as `inWorker`.
 */
async function time(run, iterations) {
  for (let i = 0; i < WARMUP; i += 1) {
    await run();
  }
  const samples = [];
  const inWorker = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = performance.now();
    const workerMs = await run();
    samples.push(performance.now() - started);
    if (typeof workerMs === "number") {
      inWorker.push(workerMs);
    }
  }
  return { ...summary(samples), iterations, ...(inWorker.length ? { inWorker: summary(inWorker) } : {}) };
}

function expectOk(result) {
  if (result.isError) {
    throw new Error(JSON.stringify(result).slice(0, 500));
  }
  return result;
}

const stack = await startStack({ secrets: { ADMIN_TOKEN } });
const baselinePath = join(ROOT, "benches/codemode_baseline.mjs");
let codemode = null;
try {
  const runner = await connectTypeScript(stack.url);
  const direct = new Client({ name: "bench-direct", version: "1.0.0" });
  await direct.connect(new StreamableHTTPClientTransport(new URL(stack.upstreams[0].url)));
  if (existsSync(baselinePath)) {
    const { startCodemodeWorker } = await import(baselinePath);
    codemode = await startCodemodeWorker({ upstreamUrl: stack.upstreams[0].url, logDir: stack.logDir });
  }

  const execute = async (code) => expectOk(await runner.callTool({ name: "execute", arguments: { code } }));
  /** The runner's audit entries of the last `count` executions of `code`, once all are written. */
  const audited = async (code, count) => {
    const sha = createHash("sha256").update(code).digest("hex");
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const { entries } = await fetch(`${stack.base}/admin/audit?limit=${count}`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      }).then((r) => r.json());
      if (entries.length === count && entries.every((e) => e.codeSha256 === sha)) {
        return entries;
      }
      // The ledger is written after each response: wait for the last entries.
      await sleep(100);
    }
    throw new Error(`the audit log never held the last ${count} executions of ${JSON.stringify(code)}`);
  };
  for (let i = 0; i < SPAWN_SAMPLES; i += 1) {
    await execute("return 1;");
  }
  const spawnSamples = (await audited("return 1;", SPAWN_SAMPLES)).map((e) => e.spawnMs);

  const scenarios = [];
  for (const scenario of SCENARIOS) {
    const iterations = ITERATIONS[scenario.calls];
    const directCall = (i) => direct.callTool({ name: "get-sum", arguments: { a: i, b: 1 } }).then(expectOk);
    const directRun =
      scenario.mode === "sequential"
        ? async () => {
            for (let i = 0; i < scenario.calls; i += 1) {
              await directCall(i);
            }
          }
        : () => Promise.all(Array.from({ length: scenario.calls }, (_, i) => directCall(i)));
    const code = body("everything", scenario);
    const runnerTimes = await time(() => execute(code), iterations);
    const runnerInWorker = (await audited(code, iterations)).map((e) => e.ms);
    const row = {
      name: `${scenario.calls} call${scenario.calls === 1 ? "" : "s"}, ${scenario.mode}`,
      ...scenario,
      iterations,
      runner: { ...runnerTimes, inWorker: summary(runnerInWorker) },
      direct: await time(directRun, iterations),
      codemode: codemode ? await time(async () => (await codemode.execute(code)).ms, iterations) : null,
    };
    scenarios.push(row);
    console.log(JSON.stringify(row));
  }
  await runner.close();
  await direct.close();

  const report = {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    spawn: { samples: spawnSamples.length, ...summary(spawnSamples) },
    scenarios,
  };
  mkdirSync(join(ROOT, "benches/results"), { recursive: true });
  writeFileSync(join(ROOT, "benches/results/latency.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report.spawn));
} finally {
  codemode?.stop();
  stack.stop();
}
