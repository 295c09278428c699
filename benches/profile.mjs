// Where an execution's time goes, on a `wrangler dev` whose V8 logs every wasm function it
// compiles (`--trace-wasm-compilation-times`): for `return 1;`, one server-everything call and
// ten sequential calls, the time at the client, inside the Worker (audit `ms`), in the isolate's
// start (`spawnMs`) and in the calls (their audit `ms`), and how much of the runner's wasm V8
// compiled again during each execution (functions, KiB of code, milliseconds), by crate.
//
// Each execution starts a fresh isolate, and workerd's isolate constructor tells V8 of moderate
// memory pressure; V8 answers by dropping the baseline (Liftoff) code of every wasm module in the
// process. Code V8 has optimized (TurboFan) is kept, and a workerd started with
// `--no-flush-liftoff-code` keeps it all. So each execution compiles again
// the runner's code it runs that is not optimized yet. docs/benchmarks.md shows the figures.
//
// Writes benches/results/profile.json. Usage: node benches/profile.mjs   (make bench)

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { connectTypeScript, execute } from "../tests/support/mcp.mjs";
import { ROOT, startStack } from "../tests/support/stack.mjs";
import { percentile, round, summary } from "./lib/measure.mjs";

const TRACE_FLAG = "--trace-wasm-compilation-times";
const WARMUP = 5;
const SAMPLES = 15;
const PROGRAMS = [
  { name: "return 1;", calls: 0, code: "return 1;" },
  { name: "1 call", calls: 1, code: "return await everything.get_sum({ a: 1, b: 2 });" },
  {
    name: "10 calls, sequential",
    calls: 10,
    code: "for (let i = 0; i < 10; i++) { await everything.get_sum({ a: i, b: 1 }); }\nreturn 10;",
  },
];
/** V8's line for one compiled function: its index, tier, time and wasm body size. */
const COMPILED = /Compiled function \S+#(\d+) using (\w+), took (\d+) μs and \d+ bytes; bodysize (\d+)/;
const AUDIT = '"audit":"execution"';

/** The median of `values`, rounded to 0.01. */
const median = (values) => round(percentile([...values].sort((a, b) => a - b), 50));

/** The wasm function names of build/index_bg.wasm, by index (its `name` section). */
function functionNames() {
  const bytes = readFileSync(join(ROOT, "build/index_bg.wasm"));
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return value;
    }
  };
  const text = (length) => bytes.subarray(at, (at += length)).toString("utf8");
  const names = new Map();
  while (at < bytes.length) {
    const id = bytes[at++];
    const end = leb() + at;
    if (id === 0 && text(leb()) === "name") {
      while (at < end) {
        const sub = bytes[at++];
        const subEnd = leb() + at;
        if (sub === 1) {
          for (let count = leb(); count > 0; count -= 1) {
            const index = leb();
            names.set(index, text(leb()));
          }
        }
        at = subEnd;
      }
    }
    at = end;
  }
  return names;
}

/** The crate a function belongs to, from its mangled-free name. */
function crateOf(name = "?") {
  const path = name.replace(/^</, "").split("::")[0].replace(/\[[0-9a-f]+\]$/, "");
  return ["core", "alloc", "std"].includes(path) ? "Rust's core and alloc" : path;
}

/** A function's name without its hash and closure suffixes, short enough for a table. */
function functionOf(name = "?") {
  const short = name
    .replace(/::h[0-9a-f]{16}$/, "")
    .replace(/(::\{\{closure\}\})+$/, " (async)")
    .replace(/\[[0-9a-f]+\]/g, "")
    .replace(/mcp_isolate_runner::/g, "");
  return short.length > 90 ? `${short.slice(0, 89)}…` : short;
}

/** The compile lines of the log between each execution's audit line and the one before it. */
function compilationsPerExecution(log) {
  const blocks = [[]];
  for (const line of log.split("\n")) {
    if (line.includes(AUDIT)) {
      blocks.push([]);
    } else {
      const found = line.match(COMPILED);
      if (found) {
        blocks.at(-1).push({ index: Number(found[1]), tier: found[2], us: Number(found[3]), bytes: Number(found[4]) });
      }
    }
  }
  // The block after the last audit line belongs to no complete execution.
  return blocks.slice(1, -1);
}

/** The last `count` audit entries in the log. */
function audits(log, count) {
  return log
    .split("\n")
    .filter((line) => line.includes(AUDIT))
    .slice(-count)
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
}

process.env.MINIFLARE_WORKERD_V8_FLAGS = TRACE_FLAG;
const stack = await startStack();
const names = functionNames();
const programs = [];
try {
  const client = await connectTypeScript(stack.url);
  for (const program of PROGRAMS) {
    for (let i = 0; i < WARMUP; i += 1) {
      await execute(client, program.code);
    }
    // The log lags the answers a little: let the warm-up's lines land before counting them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = compilationsPerExecution(readFileSync(stack.runnerLog, "utf8")).length;
    const clientMs = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const started = performance.now();
      const report = await execute(client, program.code);
      clientMs.push(performance.now() - started);
      if (report.isError) {
        throw new Error(`${program.name}: ${JSON.stringify(report).slice(0, 500)}`);
      }
    }
    // The ledger line of the last execution is written after its answer.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const log = readFileSync(stack.runnerLog, "utf8");
    const entries = audits(log, SAMPLES);
    const compiled = compilationsPerExecution(log).slice(before, before + SAMPLES);
    const byCrate = new Map();
    const byFunction = new Map();
    for (const fn of compiled.flat()) {
      for (const [groups, key] of [[byCrate, crateOf(names.get(fn.index))], [byFunction, functionOf(names.get(fn.index))]]) {
        const sum = groups.get(key) ?? { kib: 0, ms: 0 };
        sum.kib += fn.bytes / 1024 / compiled.length;
        sum.ms += fn.us / 1000 / compiled.length;
        groups.set(key, sum);
      }
    }
    const largest = (groups) =>
      [...groups]
        .map(([name, { kib, ms }]) => ({ name, kib: round(kib), ms: round(ms) }))
        .sort((a, b) => b.kib - a.kib)
        .slice(0, 8);
    programs.push({
      name: program.name,
      calls: program.calls,
      samples: SAMPLES,
      client: summary(clientMs),
      inWorker: summary(entries.map((e) => e.ms)),
      spawn: summary(entries.map((e) => e.spawnMs)),
      callsMs: summary(entries.map((e) => e.calls.reduce((sum, call) => sum + call.ms, 0))),
      // Medians per execution.
      compiled: {
        functions: median(compiled.map((fns) => fns.length)),
        kib: median(compiled.map((fns) => fns.reduce((sum, fn) => sum + fn.bytes, 0) / 1024)),
        ms: median(compiled.map((fns) => fns.reduce((sum, fn) => sum + fn.us, 0) / 1000)),
        tiers: [...new Set(compiled.flat().map((fn) => fn.tier))].sort(),
      },
      byCrate: largest(byCrate),
      byFunction: largest(byFunction),
    });
    console.log(JSON.stringify(programs.at(-1)));
  }
  await client.close();
} finally {
  stack.stop();
}

const report = { generatedAt: new Date().toISOString(), v8Flags: TRACE_FLAG, programs };
writeFileSync(join(ROOT, "benches/results/profile.json"), `${JSON.stringify(report, null, 2)}\n`);
