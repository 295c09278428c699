// The cost section of docs/benchmarks.md: what 1,000 executions cost on Cloudflare at published
// prices, from what one execution uses (counted from the design) and the time the latency run
// measured inside the Worker (an upper bound on its CPU time and on its objects' active time).

import { fixed, int, ms, table } from "../format.mjs";
import { oneCallScenario } from "../results.mjs";

/**
 * Published prices beyond the Workers Paid plan's included amounts, in US dollars
 * (developers.cloudflare.com: workers/platform/pricing, durable-objects/platform/pricing, and
 * the Dynamic Workers pricing of the Worker Loader).
 */
const PRICES = {
  dynamicWorker: 0.002,
  workerRequest: 0.3 / 1e6,
  cpuMs: 0.02 / 1e6,
  objectRequest: 0.15 / 1e6,
  gbSecond: 12.5 / 1e6,
};
/** The memory a Durable Object is billed for while active. */
const OBJECT_GB = 128 / 1024;
/**
 * Durable Object requests of every execution in a busy session: the audit entry (an isolate's
 * executions that finish while its last ledger request is in flight share the next). Its tool calls
 * go from the Worker, in the session the upstream's object lends (server-everything needs no
 * OAuth, no `maxConcurrentCalls` queue and no legacy SSE stream, which keep calls in the
 * object). An isolate asks each object for a lease and reports to it at most once a second,
 * reads the registry's list of upstreams and the session's record at most every 10 s, and an
 * execution opens its cancellation watch only once it has run 1 s.
 */
const OBJECT_REQUESTS = 1;
const EXECUTIONS = 1000;

const usd = (n) => `$${fixed(n, n >= 0.01 ? 2 : 5)}`;

/** The section's lines. */
export function costSection({ latency }) {
  const one = oneCallScenario(latency);
  const calls = one.calls;
  const inWorkerMs = one.runner.inWorker.p50_ms;
  const rows = [
    ["Dynamic Workers (`LOADER.load()` counts one unique Dynamic Worker per execution)", 1, "$0.002 each", PRICES.dynamicWorker],
    ["Worker requests (the `execute` request, and each tool call's RPC into the bridge)", 1 + calls, "$0.30 per million", PRICES.workerRequest],
    [
      `Durable Object requests (the audit entry, which executions finishing together share; a tool call only where the upstream's object must make it: OAuth, \`maxConcurrentCalls\`, legacy SSE; per isolate and upstream, a lease and a report at most every second; the registry and the session's record at most every 10 s, tool lists every 2 s; the cancellation watch of an execution past 1 s, for a cancellation that reached another isolate)`,
      OBJECT_REQUESTS,
      "$0.15 per million",
      PRICES.objectRequest,
    ],
    [`Worker CPU (at most the ${ms(inWorkerMs)} inside the Worker), in ms`, inWorkerMs, "$0.02 per million ms", PRICES.cpuMs],
    [
      "Durable Object duration (the session's object is active through the execution, 128 MB), in GB-s",
      (inWorkerMs / 1000) * OBJECT_GB,
      "$12.50 per million GB-s",
      PRICES.gbSecond,
    ],
  ];
  const total = rows.reduce((sum, [, per, , price]) => sum + per * EXECUTIONS * price, 0);
  return [
    "## What executions cost on Cloudflare",
    "",
    `${int(EXECUTIONS)} executions of the ${one.name} program, each in a session, at the published prices`,
    "beyond the Workers Paid plan's included amounts (Dynamic Workers: 1,000 a month included). The",
    "counts come from the design; CPU and active time are bounded by the time measured inside the",
    "Worker locally.",
    "",
    table(
      ["what", "per execution", `per ${int(EXECUTIONS)}`, "price", `cost per ${int(EXECUTIONS)}`],
      rows.map(([what, per, price, unit]) => [
        what,
        fixed(per, per < 1 ? 4 : per % 1 ? 1 : 0),
        fixed(per * EXECUTIONS, per * EXECUTIONS < 10 ? 2 : 0),
        price,
        usd(per * EXECUTIONS * unit),
      ]),
      ["l", "r", "r", "r", "r"],
    ),
    "",
    `About ${usd(total)} per ${int(EXECUTIONS)} executions, nearly all of it the Dynamic Worker each one`,
    "loads. That is the price of a fresh isolate per execution: loading the same code under a fixed",
    "id (`LOADER.get`) would count once a day, but would hand the next program an isolate an earlier",
    "program has run in. The Durable Object requests change the total by well under a cent.",
  ];
}
