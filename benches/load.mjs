// Load: 10,000 executions at concurrency 32, each program making one server-everything call,
// three times: against the runner on a real `wrangler dev` (32 sessions of the MCP TypeScript
// SDK); against the runner on a workerd that keeps V8's Liftoff code (see latency.mjs), reported
// as `liftoffKept`; and against @cloudflare/codemode's executor in a JS Worker on the same
// wrangler/workerd (plain POSTs, benches/codemode_baseline.mjs), reported as `codemode`. Each
// records the success rate, throughput, latency percentiles and distribution, workerd's
// resident memory before and after, and the CPU time workerd used per execution. Writes
// benches/results/load.json.
//
// Usage: node benches/load.mjs [executions] [concurrency]   (make bench)

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { connectTypeScript } from "../tests/support/mcp.mjs";
import { ROOT, startEverything, startStack } from "../tests/support/stack.mjs";
import { startCodemodeWorker } from "./codemode_baseline.mjs";
import { KEEP_LIFTOFF, percentile, round, workerdCpuMs, workerdRssMiB } from "./lib/measure.mjs";

const EXECUTIONS = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
/** Upper bounds (ms) of the latency distribution's buckets; the last is open. */
const BUCKETS_MS = [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

/** The program of execution `n`, and the result it must give. */
const program = (n) => ({
  code: `return await everything.get_sum({ a: ${n}, b: 1 });`,
  expected: `The sum of ${n} and 1 is ${n + 1}.`,
});

/**
 * Runs the load through `target` ({ callers, processGroup }): `callers[i](code)` runs one
 * program for client `i` and resolves to its result. Returns the load.json figures.
 */
async function load({ callers, processGroup }) {
  // Warm up: every client runs one execution before memory and time are measured.
  await Promise.all(callers.map((call) => call("return 1;")));
  const before = workerdRssMiB(processGroup);
  const cpuBefore = workerdCpuMs(processGroup);
  const samples = [];
  let succeeded = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    callers.map(async (call) => {
      while (next < EXECUTIONS) {
        const { code, expected } = program(next++);
        const began = performance.now();
        try {
          if ((await call(code)) === expected) {
            succeeded += 1;
          }
        } catch {
          // A failed request counts against the success rate.
        }
        samples.push(performance.now() - began);
      }
    }),
  );
  const durationS = (performance.now() - started) / 1000;
  const after = workerdRssMiB(processGroup);
  const cpuMs = workerdCpuMs(processGroup) - cpuBefore;

  samples.sort((a, b) => a - b);
  const histogram = [...BUCKETS_MS, null].map((le, i) => ({
    le_ms: le,
    count: samples.filter((ms) => ms > (BUCKETS_MS[i - 1] ?? 0) && (le === null || ms <= le)).length,
  }));
  return {
    executions: EXECUTIONS,
    concurrency: CONCURRENCY,
    succeeded,
    successRate: succeeded / EXECUTIONS,
    durationS: round(durationS),
    throughputPerS: round(EXECUTIONS / durationS),
    p50_ms: round(percentile(samples, 50)),
    p95_ms: round(percentile(samples, 95)),
    p99_ms: round(percentile(samples, 99)),
    max_ms: round(samples.at(-1)),
    histogram,
    workerdRssMiB: { before, after },
    workerdCpuMsPerExecution: round(cpuMs / EXECUTIONS),
  };
}

/** The load against the runner of a new stack, one MCP session per client. */
async function runnerLoad() {
  const stack = await startStack();
  const clients = [];
  try {
    for (let i = 0; i < CONCURRENCY; i += 1) {
      clients.push(await connectTypeScript(stack.url));
    }
    const callers = clients.map((client) => async (code) => {
      const result = await client.callTool({ name: "execute", arguments: { code } });
      return result.isError ? undefined : result.structuredContent?.result;
    });
    return await load({ callers, processGroup: stack.runnerProcessGroup });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    stack.stop();
  }
}

/** The load against @cloudflare/codemode's executor, with its own server-everything. */
async function codemodeLoad() {
  const logDir = mkdtempSync(join(tmpdir(), "mir-codemode-load-"));
  const everything = await startEverything(logDir);
  let codemode;
  try {
    codemode = await startCodemodeWorker({ upstreamUrl: everything.url, logDir });
    const call = async (code) => (await codemode.execute(code, { throwOnError: false })).result;
    return await load({ callers: Array.from({ length: CONCURRENCY }, () => call), processGroup: codemode.processGroup });
  } finally {
    codemode?.stop();
    everything.stop();
  }
}

const report = await runnerLoad();
const codemode = await codemodeLoad();
process.env.MINIFLARE_WORKERD_V8_FLAGS = KEEP_LIFTOFF;
const { successRate, throughputPerS, p50_ms, p95_ms, p99_ms, workerdRssMiB: rss, workerdCpuMsPerExecution: cpu } = await runnerLoad();
report.liftoffKept = { v8Flags: KEEP_LIFTOFF, successRate, throughputPerS, p50_ms, p95_ms, p99_ms, workerdRssMiB: rss, workerdCpuMsPerExecution: cpu };
report.codemode = {
  successRate: codemode.successRate,
  throughputPerS: codemode.throughputPerS,
  p50_ms: codemode.p50_ms,
  p95_ms: codemode.p95_ms,
  p99_ms: codemode.p99_ms,
  workerdRssMiB: codemode.workerdRssMiB,
  workerdCpuMsPerExecution: codemode.workerdCpuMsPerExecution,
};
mkdirSync(join(ROOT, "benches/results"), { recursive: true });
writeFileSync(join(ROOT, "benches/results/load.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(report);
