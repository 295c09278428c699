// Latency, measured in one run against one `wrangler dev`, with the MCP TypeScript SDK:
//
// - fresh-isolate spawn: the runner's own measurement (audit `spawnMs`) over `return 1;`;
// - the same 1, 10 and 100 server-everything calls, sequential and parallel, made three ways:
//   an `execute` on the runner (fresh isolate, calls through the bridge); directly by the
//   client to server-everything (traditional tool calling, the baseline); and the same program
//   text run by @cloudflare/codemode's DynamicWorkerExecutor in a JS Worker on the same
//   wrangler/workerd (benches/codemode_baseline.mjs), when that is present.
//
// Writes benches/results/latency.json. Usage: node benches/latency.mjs   (make bench)

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

async function time(run, iterations) {
  for (let i = 0; i < WARMUP; i += 1) {
    await run();
  }
  const samples = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return { ...summary(samples), iterations };
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
  for (let i = 0; i < SPAWN_SAMPLES; i += 1) {
    await execute("return 1;");
  }
  const audit = await fetch(`${stack.base}/admin/audit?limit=${SPAWN_SAMPLES}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  }).then((r) => r.json());
  const spawnSamples = audit.entries.map((e) => e.spawnMs).filter((ms) => ms !== undefined);

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
    const row = {
      name: `${scenario.calls} call${scenario.calls === 1 ? "" : "s"}, ${scenario.mode}`,
      ...scenario,
      iterations,
      runner: await time(() => execute(body("everything", scenario)), iterations),
      direct: await time(directRun, iterations),
      codemode: codemode ? await time(() => codemode.execute(body("everything", scenario)), iterations) : null,
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
