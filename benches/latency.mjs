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
// The runner is then measured once more on a second `wrangler dev` whose workerd keeps V8's
// Liftoff code (`--no-flush-liftoff-code`): locally, workerd flushes the runner's baseline-
// compiled wasm as dynamic isolates come and go, and each execution compiles it again. That
// run shows what this costs; the targets are judged on the default run.
//
// Writes benches/results/latency.json. Usage: node benches/latency.mjs   (make bench)

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { connectTypeScript } from "../tests/support/mcp.mjs";
import { ROOT, startStack } from "../tests/support/stack.mjs";
import { KEEP_LIFTOFF, machine, summary } from "./lib/measure.mjs";

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

const scenarioName = ({ calls, mode }) => `${calls} call${calls === 1 ? "" : "s"}, ${mode}`;

function expectOk(result) {
  if (result.isError) {
    throw new Error(JSON.stringify(result).slice(0, 500));
  }
  return result;
}

/** The runner's audit entries of the last `count` executions of `code`, once all are written. */
async function audited(stack, code, count) {
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
}

/**
 * Measures the runner of `stack`: spawn over `return 1;`, then each scenario at the client and
 * inside the Worker. `between(scenario, code)` runs after each scenario's runner timing.
 */
async function measureRunner(stack, between = async () => {}) {
  const runner = await connectTypeScript(stack.url);
  const execute = async (code) => expectOk(await runner.callTool({ name: "execute", arguments: { code } }));
  try {
    for (let i = 0; i < SPAWN_SAMPLES; i += 1) {
      await execute("return 1;");
    }
    const spawnSamples = (await audited(stack, "return 1;", SPAWN_SAMPLES)).map((e) => e.spawnMs);
    const scenarios = [];
    for (const scenario of SCENARIOS) {
      const iterations = ITERATIONS[scenario.calls];
      const code = body("everything", scenario);
      const times = await time(() => execute(code), iterations);
      const inWorker = summary((await audited(stack, code, iterations)).map((e) => e.ms));
      scenarios.push({ scenario, runner: { ...times, inWorker }, ...(await between(scenario, code)) });
    }
    return { spawn: { samples: spawnSamples.length, ...summary(spawnSamples) }, scenarios };
  } finally {
    await runner.close();
  }
}

const baselinePath = join(ROOT, "benches/codemode_baseline.mjs");
let measured;
let stack = await startStack({ secrets: { ADMIN_TOKEN } });
let codemode = null;
try {
  const direct = new Client({ name: "bench-direct", version: "1.0.0" });
  await direct.connect(new StreamableHTTPClientTransport(new URL(stack.upstreams[0].url)));
  if (existsSync(baselinePath)) {
    const { startCodemodeWorker } = await import(baselinePath);
    codemode = await startCodemodeWorker({ upstreamUrl: stack.upstreams[0].url, logDir: stack.logDir });
  }
  const directCall = (i) => direct.callTool({ name: "get-sum", arguments: { a: i, b: 1 } }).then(expectOk);
  measured = await measureRunner(stack, async (scenario, code) => {
    const iterations = ITERATIONS[scenario.calls];
    const directRun =
      scenario.mode === "sequential"
        ? async () => {
            for (let i = 0; i < scenario.calls; i += 1) {
              await directCall(i);
            }
          }
        : () => Promise.all(Array.from({ length: scenario.calls }, (_, i) => directCall(i)));
    return {
      direct: await time(directRun, iterations),
      codemode: codemode ? await time(async () => (await codemode.execute(code)).ms, iterations) : null,
    };
  });
  await direct.close();
} finally {
  codemode?.stop();
  stack.stop();
}

// The second runner measurement, on a workerd that keeps Liftoff code.
process.env.MINIFLARE_WORKERD_V8_FLAGS = KEEP_LIFTOFF;
stack = await startStack({ secrets: { ADMIN_TOKEN } });
let kept;
try {
  kept = await measureRunner(stack);
} finally {
  stack.stop();
}

const scenarios = measured.scenarios.map(({ scenario, runner, direct, codemode }, i) => ({
  name: scenarioName(scenario),
  ...scenario,
  iterations: ITERATIONS[scenario.calls],
  runner,
  direct,
  codemode,
  runnerLiftoffKept: kept.scenarios[i].runner,
}));
for (const row of scenarios) {
  console.log(JSON.stringify(row));
}
const report = {
  generatedAt: new Date().toISOString(),
  machine: machine(),
  spawn: measured.spawn,
  liftoffKept: { v8Flags: KEEP_LIFTOFF, spawn: kept.spawn },
  scenarios,
};
mkdirSync(join(ROOT, "benches/results"), { recursive: true });
writeFileSync(join(ROOT, "benches/results/latency.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify({ spawn: report.spawn, liftoffKept: report.liftoffKept }));
