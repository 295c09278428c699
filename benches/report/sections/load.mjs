// The load section of docs/benchmarks.md: many executions from concurrent sessions, with the
// default V8 flags and with baseline-compiled wasm kept, and the chart of the latency histogram.

import { fixed, int, ms, rate, table } from "../format.mjs";

/** How much workerd's resident memory grew during a load run. */
const growth = (rss) => (rss ? `${fixed(rss.after - rss.before, 0)} MiB` : "not measured");

/** workerd's resident memory before and after a load run. */
const memory = (rss) => (rss ? `${fixed(rss.before, 1)} MiB before, ${fixed(rss.after, 1)} MiB after` : "not measured");

/** The section's lines. */
export function loadSection({ load }) {
  const kept = load.liftoffKept;
  return [
    "## Load",
    "",
    `${int(load.executions)} executions, each one upstream call, from ${int(load.concurrency)} concurrent client sessions;`,
    `then the same load on a workerd started with \`${kept.v8Flags}\` (see above), which shows`,
    `how much of workerd's growth in memory goes with recompiling flushed wasm: ${growth(load.workerdRssMiB)}`,
    `with the default flags, ${growth(kept.workerdRssMiB)} with Liftoff code kept.`,
    "",
    table(
      ["", "default", "Liftoff code kept"],
      [
        ["executions", int(load.executions), int(load.executions)],
        ["concurrency", int(load.concurrency), int(load.concurrency)],
        ["succeeded", `${int(load.succeeded)} (${rate(load.successRate)})`, rate(kept.successRate)],
        ["duration", `${fixed(load.durationS, 1)} s`, "—"],
        ["throughput", ...[load, kept].map((l) => `${fixed(l.throughputPerS, 1)} executions/s`)],
        ["p50", ms(load.p50_ms), ms(kept.p50_ms)],
        ["p95", ms(load.p95_ms), ms(kept.p95_ms)],
        ["p99", ms(load.p99_ms), ms(kept.p99_ms)],
        ["max", ms(load.max_ms), "—"],
        ["workerd resident memory", ...[load, kept].map((l) => memory(l.workerdRssMiB))],
      ],
      ["l", "r", "r"],
    ),
    "",
    "![number of executions per latency bucket under load](benchmarks/load.svg)",
  ];
}
