// The load section of docs/benchmarks.md: many executions from concurrent clients, against the
// runner with the default V8 flags and with baseline-compiled wasm kept, and against
// @cloudflare/codemode; and the chart of the runner's latency histogram.

import { fixed, int, ms, rate, table } from "../format.mjs";

/** How much workerd's resident memory grew during a load run. */
const growth = (rss) => (rss ? `${fixed(rss.after - rss.before, 0)} MiB` : "not measured");

/** workerd's resident memory before and after a load run. */
const memory = (rss) => (rss ? `${fixed(rss.before, 1)} MiB before, ${fixed(rss.after, 1)} MiB after` : "not measured");

/** The section's lines. */
export function loadSection({ load }) {
  const { liftoffKept: kept, codemode } = load;
  const sides = [load, kept, codemode];
  return [
    "## Load",
    "",
    `${int(load.executions)} executions, each one upstream call, from ${int(load.concurrency)} concurrent clients: against the`,
    "runner (MCP sessions); against the runner on a workerd started with",
    `\`${kept.v8Flags}\` (see above), which shows how much of workerd's growth in memory goes with`,
    `recompiling flushed wasm (${growth(load.workerdRssMiB)} with the default flags, ${growth(kept.workerdRssMiB)} with Liftoff code kept);`,
    "and against @cloudflare/codemode's executor on the same wrangler/workerd (plain POSTs).",
    "workerd runs every isolate, the dynamic ones included, on one thread, so its CPU time per",
    "execution bounds the throughput: about 1,000 ms divided by it.",
    "",
    table(
      ["", "runner", "runner, Liftoff code kept", "codemode"],
      [
        ["executions", int(load.executions), int(load.executions), int(load.executions)],
        ["concurrency", int(load.concurrency), int(load.concurrency), int(load.concurrency)],
        ["succeeded", `${int(load.succeeded)} (${rate(load.successRate)})`, rate(kept.successRate), rate(codemode.successRate)],
        ["duration", `${fixed(load.durationS, 1)} s`, "—", "—"],
        ["throughput", ...sides.map((l) => `${fixed(l.throughputPerS, 1)} executions/s`)],
        ["p50", ...sides.map((l) => ms(l.p50_ms))],
        ["p95", ...sides.map((l) => ms(l.p95_ms))],
        ["p99", ...sides.map((l) => ms(l.p99_ms))],
        ["max", ms(load.max_ms), "—", "—"],
        ["workerd resident memory", ...sides.map((l) => memory(l.workerdRssMiB))],
        ["workerd CPU per execution", ...sides.map((l) => ms(l.workerdCpuMsPerExecution))],
      ],
      ["l", "r", "r", "r"],
    ),
    "",
    "![number of executions per latency bucket under load](benchmarks/load.svg)",
  ];
}
