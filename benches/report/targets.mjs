// The targets the benchmarks are judged by, against the results: each `{ target, measured, met }`,
// `met` false when the figure was not measured. The speed targets compare the runner with
// @cloudflare/codemode on the same workerd, in one run.

import { fixed, int, ms, pct, rate, times } from "./format.mjs";
import { oneCallScenario } from "./results.mjs";

/** The p50 ratio runner/codemode in each scenario, read with `pick`, against `limit`. */
function asCodemode(latency, label, limit, pick) {
  const target = `p50 ≤ ${times(limit)} @cloudflare/codemode's in every scenario (${label})`;
  const compared = latency.scenarios.filter((s) => s.codemode);
  if (compared.length === 0) {
    return { target, measured: "not measured (the @cloudflare/codemode baseline was not run)", met: false };
  }
  const ratios = compared.map((s) => ({ name: s.name, ratio: pick(s.runner).p50_ms / pick(s.codemode).p50_ms }));
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  return {
    target,
    measured: `worst ${times(worst.ratio)} (${worst.name}); ${compared.length} scenarios`,
    met: ratios.every((r) => r.ratio <= limit),
  };
}

/** Milliseconds each sequential call after the first adds inside the Worker, for `side`. */
export function perExtraCall(latency, side) {
  const sequential = latency.scenarios.filter((s) => s.mode === "sequential" && s[side]);
  const one = sequential.find((s) => s.calls === 1);
  const most = sequential.reduce((a, b) => (b.calls > a.calls ? b : a), one);
  if (!one || most === one) {
    return null;
  }
  return (most[side].inWorker.p50_ms - one[side].inWorker.p50_ms) / (most.calls - one.calls);
}

function extraCall(latency) {
  const target = "each extra sequential call ≤ @cloudflare/codemode's (inside the Worker, p50)";
  const [runner, codemode] = [perExtraCall(latency, "runner"), perExtraCall(latency, "codemode")];
  if (runner === null || codemode === null) {
    return { target, measured: "not measured", met: false };
  }
  return { target, measured: `${ms(runner)} against ${ms(codemode)}`, met: runner <= codemode };
}

function overhead(latency) {
  const one = oneCallScenario(latency);
  const [p50, p95] = ["p50_ms", "p95_ms"].map((p) => one.runner[p] - one.direct[p]);
  return {
    target: "code-execution overhead over a direct call < 50 ms, at p50 and p95",
    measured: `p50 ${ms(p50)}, p95 ${ms(p95)} (${one.name}, at the client)`,
    met: p50 < 50 && p95 < 50,
  };
}

function throughput(load) {
  const target = "throughput under load ≥ @cloudflare/codemode's under the same load";
  const { codemode } = load;
  return {
    target,
    measured: `${fixed(load.throughputPerS, 1)} against ${fixed(codemode.throughputPerS, 1)} executions/s`,
    met: load.throughputPerS >= codemode.throughputPerS,
  };
}

function memoryGrowth(load) {
  const target = "workerd memory growth per execution under load ≤ 1.5× @cloudflare/codemode's";
  const perExecution = (rss) => ((rss.after - rss.before) * 1024) / load.executions;
  const [runner, codemode] = [perExecution(load.workerdRssMiB), perExecution(load.codemode.workerdRssMiB)];
  return {
    target,
    measured: `${fixed(runner, 1)} KiB against ${fixed(codemode, 1)} KiB per execution`,
    met: runner <= 1.5 * Math.max(codemode, 0),
  };
}

function tokenReduction(tokens) {
  const target = "token reduction > 50%";
  const total = tokens.tasks?.total;
  if (!total) {
    return { target, measured: "not measured (the task benchmark was not run)", met: false };
  }
  return {
    target,
    measured: `${pct(total.reduction)} (${tokens.tasks.rows.length} tasks: ${int(total.traditional)} → ${int(total.codemode)} tokens)`,
    met: total.reduction > 0.5,
  };
}

export function targets(tokens, latency, load) {
  const { spawn } = latency;
  const maxRunner = Math.max(...tokens.footprint.map((r) => r.runner));
  const toolCounts = tokens.footprint.map((r) => r.tools);
  return [
    asCodemode(latency, "inside the Worker, program to result", 1, (side) => side.inWorker),
    asCodemode(latency, "at the client: the runner through MCP, codemode through a plain POST", 1.25, (side) => side),
    extraCall(latency),
    overhead(latency),
    {
      target: "isolate start p50 < 10 ms and p95 < 15 ms",
      measured: `p50 ${ms(spawn.p50_ms)}, p95 ${ms(spawn.p95_ms)} (${int(spawn.samples)} executions)`,
      met: spawn.p50_ms < 10 && spawn.p95_ms < 15,
    },
    throughput(load),
    memoryGrowth(load),
    {
      target: "success under load ≥ 99.9%",
      measured: `${rate(load.successRate)} (${int(load.succeeded)} of ${int(load.executions)} executions at concurrency ${int(load.concurrency)})`,
      met: load.successRate >= 0.999,
    },
    tokenReduction(tokens),
    {
      target: "`tools/list` ≤ 1,000 tokens at any upstream size",
      measured: `${int(maxRunner)} tokens at most (${tokens.footprint.length} upstreams of ${int(Math.min(...toolCounts))} to ${int(Math.max(...toolCounts))} tools)`,
      met: maxRunner <= 1000,
    },
  ];
}
