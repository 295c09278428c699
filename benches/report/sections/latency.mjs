// The latency sections of docs/benchmarks.md: each scenario at the client (with its chart) and
// inside the Worker, against direct tool calls and @cloudflare/codemode, and the runner again on
// a workerd that keeps its baseline-compiled wasm.

import { int, ms, table, times } from "../format.mjs";

/** p50 and p95 of one side of a scenario, or dashes when it was not run. */
const pair = (p) => (p ? [ms(p.p50_ms), ms(p.p95_ms)] : ["—", "—"]);

/** `a / b` of two p50s, or a dash when there is nothing to divide by. */
const ratio = (a, b) => (a && b && b.p50_ms > 0 ? times(a.p50_ms / b.p50_ms) : "—");

function atTheClient(latency) {
  const hasCodemode = latency.scenarios.some((s) => s.codemode);
  return [
    "## Latency",
    "",
    "The same server-everything calls (1, 10 or 100, one after another or all at once), measured in one",
    "run three ways: **runner**, one `execute` whose program makes the calls in a fresh isolate;",
    "**direct**, the client making the same tool calls itself to the upstream (traditional tool calling,",
    "the baseline); **codemode**, the same program run by @cloudflare/codemode's `DynamicWorkerExecutor`",
    "in a JS Worker on the same wrangler/workerd.",
    hasCodemode ? "" : "The @cloudflare/codemode baseline was not run.\n",
    `Isolate spawn, as the runner measures it over ${int(latency.spawn.samples)} executions of \`return 1;\`: p50 ${ms(latency.spawn.p50_ms)}, p95 ${ms(latency.spawn.p95_ms)}.`,
    "",
    table(
      ["scenario", "iterations", "runner p50", "runner p95", "direct p50", "direct p95", "codemode p50", "codemode p95", "runner / direct (p50)", "runner / codemode (p50)"],
      latency.scenarios.map((s) => [
        s.name,
        int(s.iterations),
        ...pair(s.runner),
        ...pair(s.direct),
        ...pair(s.codemode),
        ratio(s.runner, s.direct),
        ratio(s.runner, s.codemode),
      ]),
      ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    ),
    "",
    "![p50 latency per scenario with p95 whiskers, runner against direct tool calls and @cloudflare/codemode](benchmarks/latency.svg)",
  ];
}

function insideTheWorker(latency) {
  return [
    "Inside the Worker, from receiving the program to having its result (the runner's audit `ms`;",
    "the time around `DynamicWorkerExecutor.execute` in the codemode Worker). This is the like-for-like",
    "comparison: at the client the runner is reached through MCP (a session, JSON-RPC, an SSE answer),",
    "codemode through a plain POST. The runner's time includes listing the upstreams' tools, type",
    "stripping and step checks, the audit entry, and tool calls, which the Worker makes in the MCP",
    "session each upstream's Durable Object lends it; the codemode Worker keeps one MCP session in its",
    "own isolate and calls the upstream directly.",
    "",
    table(
      ["scenario", "runner p50", "runner p95", "codemode p50", "codemode p95", "runner / codemode (p50)"],
      latency.scenarios.map((s) => [
        s.name,
        ...pair(s.runner.inWorker),
        ...pair(s.codemode?.inWorker),
        ratio(s.runner.inWorker, s.codemode?.inWorker),
      ]),
      ["l", "r", "r", "r", "r", "r"],
    ),
  ];
}

function liftoffKept(latency) {
  return [
    "### Wasm code flushed between executions",
    "",
    "workerd's V8 throws away the runner's baseline-compiled (Liftoff) wasm whenever an isolate is",
    "built (see \"Where the time goes\"), so every execution compiles the code it runs again; calls",
    "that start no isolate (`ping`, `tools/list`, `search`) are unaffected, and JavaScript Workers",
    "such as the codemode baseline do not have this cost. workerd does this for every isolate it",
    "builds, so production pays it too unless it runs V8 with other flags, which is not known here.",
    "The runner measured once more, on a workerd started with",
    `\`${latency.liftoffKept.v8Flags}\` (the targets above use the default run): isolate spawn p50`,
    `${ms(latency.liftoffKept.spawn.p50_ms)}, p95 ${ms(latency.liftoffKept.spawn.p95_ms)}.`,
    "",
    table(
      ["scenario", "runner p50", "Liftoff kept p50", "inside the Worker p50", "Liftoff kept, inside the Worker p50"],
      latency.scenarios.map((s) => [
        s.name,
        ms(s.runner.p50_ms),
        ms(s.runnerLiftoffKept.p50_ms),
        ms(s.runner.inWorker.p50_ms),
        ms(s.runnerLiftoffKept.inWorker.p50_ms),
      ]),
      ["l", "r", "r", "r", "r"],
    ),
  ];
}

/** The section's lines. */
export function latencySection({ latency }) {
  return [...atTheClient(latency), "", ...insideTheWorker(latency), "", ...liftoffKept(latency)];
}
