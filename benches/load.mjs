// Load: 10,000 executions at concurrency 32 against a real `wrangler dev` with a real upstream
// (each program makes one server-everything call), from 32 sessions of the MCP TypeScript SDK.
// Records the success rate, throughput, latency percentiles and distribution, and workerd's
// resident memory before and after. Then the same load once more on a workerd that keeps V8's
// Liftoff code (see latency.mjs), reported as `liftoffKept`. Writes benches/results/load.json.
//
// Usage: node benches/load.mjs [executions] [concurrency]   (make bench)

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { connectTypeScript } from "../tests/support/mcp.mjs";
import { ROOT, startStack } from "../tests/support/stack.mjs";
import { KEEP_LIFTOFF, percentile, round, workerdRssMiB } from "./lib/measure.mjs";

const EXECUTIONS = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
/** Upper bounds (ms) of the latency distribution's buckets; the last is open. */
const BUCKETS_MS = [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

/** Runs the load against a new stack; returns the load.json figures. */
async function loadRun() {
  const stack = await startStack();
  try {
    const clients = await Promise.all(Array.from({ length: CONCURRENCY }, () => connectTypeScript(stack.url)));
    // Warm up: every session runs one execution before memory and time are measured.
    await Promise.all(clients.map((client) => client.callTool({ name: "execute", arguments: { code: "return 1;" } })));
    const before = workerdRssMiB(stack.runnerProcessGroup);
    const samples = [];
    let succeeded = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (next < EXECUTIONS) {
          const n = next++;
          const code = `return await everything.get_sum({ a: ${n}, b: 1 });`;
          const began = performance.now();
          try {
            const result = await client.callTool({ name: "execute", arguments: { code } });
            if (!result.isError && result.structuredContent?.result === `The sum of ${n} and 1 is ${n + 1}.`) {
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
    const after = workerdRssMiB(stack.runnerProcessGroup);
    await Promise.all(clients.map((client) => client.close()));

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
    };
  } finally {
    stack.stop();
  }
}

const report = await loadRun();
process.env.MINIFLARE_WORKERD_V8_FLAGS = KEEP_LIFTOFF;
const { successRate, throughputPerS, p50_ms, p95_ms, p99_ms, workerdRssMiB: rss } = await loadRun();
report.liftoffKept = { v8Flags: KEEP_LIFTOFF, successRate, throughputPerS, p50_ms, p95_ms, p99_ms, workerdRssMiB: rss };
mkdirSync(join(ROOT, "benches/results"), { recursive: true });
writeFileSync(join(ROOT, "benches/results/load.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(report);
