// The targets of the benchmark issue, judged against the results: each `{ target, measured, met }`,
// `met` false when the figure was not measured.

import { int, ms, pct, rate, times } from "./format.mjs";
import { oneCallScenario } from "./results.mjs";

/** "No slower than @cloudflare/codemode", with the latencies `pick` reads from each side. */
function asCodemode(latency, label, pick) {
  const target = `no slower than @cloudflare/codemode on the same runtime (${label})`;
  const compared = latency.scenarios.filter((s) => s.codemode);
  if (compared.length === 0) {
    return { target, measured: "not measured (the @cloudflare/codemode baseline was not run)", met: false };
  }
  // The scenario where the runner's p50 is furthest above codemode's.
  const worst = compared
    .map((s) => ({ name: s.name, ratio: pick(s.runner).p50_ms / pick(s.codemode).p50_ms }))
    .reduce((a, b) => (b.ratio > a.ratio ? b : a), { name: null, ratio: -Infinity });
  return {
    target,
    measured: `worst runner/codemode p50 ratio ${times(worst.ratio)} (${worst.name}; limit 1.05× in every one of ${compared.length} scenarios)`,
    met: compared.every((s) => pick(s.runner).p50_ms <= pick(s.codemode).p50_ms * 1.05),
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
  const spawn = latency.spawn;
  const one = oneCallScenario(latency);
  const overhead = one.runner.p50_ms - one.direct.p50_ms;
  const maxRunner = Math.max(...tokens.footprint.map((r) => r.runner));
  const toolCounts = tokens.footprint.map((r) => r.tools);
  return [
    {
      target: "isolate start < 10 ms",
      measured: `${ms(spawn.p50_ms)} (spawn p50 over ${int(spawn.samples)} executions; p95 ${ms(spawn.p95_ms)})`,
      met: spawn.p50_ms < 10,
    },
    {
      target: "fresh isolate p50 ≤ 10 ms",
      measured: `${ms(spawn.p50_ms)} (spawn p50)`,
      met: spawn.p50_ms <= 10,
    },
    {
      target: "code-execution overhead < 50 ms",
      measured: `${ms(overhead)} (runner p50 ${ms(one.runner.p50_ms)} − direct p50 ${ms(one.direct.p50_ms)}, ${one.name})`,
      met: overhead < 50,
    },
    tokenReduction(tokens),
    {
      target: "success rate > 99%",
      measured: `${rate(load.successRate)} (${int(load.succeeded)} of ${int(load.executions)} executions at concurrency ${int(load.concurrency)})`,
      met: load.successRate > 0.99,
    },
    {
      target: "`tools/list` ≤ 1,000 tokens at any upstream size",
      measured: `${int(maxRunner)} tokens at most (${tokens.footprint.length} upstreams of ${int(Math.min(...toolCounts))} to ${int(Math.max(...toolCounts))} tools)`,
      met: maxRunner <= 1000,
    },
    asCodemode(latency, "inside the Worker, program to result", (side) => side.inWorker),
    asCodemode(latency, "at the client: the runner through MCP, codemode through a plain POST", (side) => side),
  ];
}
