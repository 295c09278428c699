// Client-side latency of `execute`, measured with the MCP TypeScript SDK against a real
// `wrangler dev` and real upstreams: a trivial program (no tool call), one with one upstream
// call, and the same upstream call made directly (server-everything's own endpoint) as the
// baseline. Writes benches/results/execute_latency.json and prints a table.
//
// Usage: node benches/execute_latency.mjs [iterations]   (make bench)

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { connectTypeScript } from "../tests/e2e/mcp.mjs";
import { ROOT, startStack } from "../tests/e2e/stack.mjs";

const ITERATIONS = Number(process.argv[2] ?? 200);
const WARMUP = 20;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(name, call) {
  for (let i = 0; i < WARMUP; i += 1) {
    await call();
  }
  const samples = [];
  for (let i = 0; i < ITERATIONS; i += 1) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const round = (ms) => Math.round(ms * 100) / 100;
  return { name, iterations: ITERATIONS, p50_ms: round(percentile(samples, 50)), p95_ms: round(percentile(samples, 95)), max_ms: round(samples.at(-1)) };
}

async function expectOk(promise) {
  const result = await promise;
  if (result.isError) {
    throw new Error(JSON.stringify(result));
  }
  return result;
}

const stack = await startStack();
try {
  const runner = await connectTypeScript(stack.url);
  const direct = new Client({ name: "bench-direct", version: "1.0.0" });
  await direct.connect(new StreamableHTTPClientTransport(new URL(stack.upstreams[0].url)));

  const execute = (code) => () => expectOk(runner.callTool({ name: "execute", arguments: { code } }));
  const results = [
    await measure("execute: return 1 (fresh isolate, no tool call)", execute("return 1;")),
    await measure("execute: one upstream call (everything.get_sum)", execute("return await everything.get_sum({ a: 2, b: 40 });")),
    await measure("direct tools/call to server-everything (baseline)", () => expectOk(direct.callTool({ name: "get-sum", arguments: { a: 2, b: 40 } }))),
  ];
  await runner.close();
  await direct.close();

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30) },
    results,
  };
  mkdirSync(join(ROOT, "benches/results"), { recursive: true });
  writeFileSync(join(ROOT, "benches/results/execute_latency.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.table(results);
} finally {
  stack.stop();
}
