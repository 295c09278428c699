// The "where the time goes" section of docs/benchmarks.md: an execution's phases, how much of the
// runner's wasm V8 compiles again during it, what the runner's thread does meanwhile, and what one
// more tool call costs.

import { fixed, int, ms, table } from "../format.mjs";
import { CPU_CLASSES } from "../results.mjs";
import { perExtraCall } from "../targets.mjs";

/** How the CPU profile's classes are headed in the table. */
const CPU_HEADINGS = { code: "runner's code", runtime: "runtime", gc: "GC", idle: "idle", outside: "outside V8" };

/** The lines on the runner's thread: where its time goes per execution, by class of code. */
function threadLines(cpu) {
  const runs = [
    { flags: "default", programs: cpu.programs },
    { flags: `\`${cpu.liftoffKept.v8Flags}\``, programs: cpu.liftoffKept.programs },
  ];
  const oneCall = (programs) => programs.find((p) => p.calls === 1);
  const [withFlush, withoutFlush] = runs.map((run) => oneCall(run.programs));
  return [
    "",
    "What the runner's thread does meanwhile, from a CPU profile of the runner's isolate (V8's",
    `sampling profiler, every ${int(cpu.samplingUs)} µs through wrangler's inspector, which itself slows the runner a`,
    `little) over ${int(cpu.executions)} executions of each program, one after another; milliseconds per execution,`,
    "by the function on top of the stack: the runner's code (its wasm, with V8 compiling it again,",
    "and the JavaScript around it: worker-build's glue, the Worker's module), the runtime (workerd's",
    "built-ins such as `fetch`, stream reads and building the dynamic isolate), garbage collection",
    "and idle. The profiler samples only while the thread runs V8, so the time of a gap between",
    `samples past ${int(cpu.sampleSpanUs)} µs is outside V8: workerd waiting for the upstream and for the`,
    "program (which runs in its own isolate), or doing its own work in C++, such as routing a",
    "request to a Durable Object.",
    "",
    table(
      ["program", "V8 flags", "wall", ...CPU_CLASSES.map((name) => CPU_HEADINGS[name])],
      runs.flatMap((run) => run.programs.map((p) => [p.name, run.flags, ms(p.wallMs), ...CPU_CLASSES.map((name) => ms(p[name]))])),
      ["l", "l", "r", ...CPU_CLASSES.map(() => "r")],
    ),
    "",
    `Keeping Liftoff code, an execution of ${withFlush.name.replace(/^1 call$/, "one call")} spends ${ms(withFlush.code - withoutFlush.code)} less in the runner's code`,
    `(${ms(withoutFlush.code)} against ${ms(withFlush.code)}): the difference is V8 compiling the runner's wasm again and`,
    "running it unoptimized, on the thread every request of the isolate shares.",
  ];
}

/** The section's lines. */
export function profileSection({ profile, latency, cpu }) {
  const [first] = profile.programs;
  const withCalls = profile.programs.find((p) => p.calls === 1) ?? first;
  const most = profile.programs.reduce((a, b) => (b.calls > a.calls ? b : a));
  const [runnerExtra, codemodeExtra] = [perExtraCall(latency, "runner"), perExtraCall(latency, "codemode")];
  return [
    "## Where the time goes",
    "",
    "Each execution starts a fresh isolate, and workerd's isolate constructor tells V8 of moderate",
    "memory pressure (`MemoryPressureNotification(kModerate)` in `src/workerd/io/worker.c++`). V8 answers",
    "by dropping the baseline-compiled (Liftoff) code of every wasm module in the process",
    "(`WasmEngine::FlushLiftoffCode`, called from `Heap::CheckMemoryPressure`: a debugger breakpoint on",
    "a local workerd stops there, under the loader's `compileWorker`). Only code V8 has optimized",
    "(TurboFan) stays, and a workerd started with `--no-flush-liftoff-code` keeps it all. So each",
    "execution compiles again the part of the runner's wasm it runs that V8 has not optimized; a",
    "function is optimized once it has run enough, so a long-lived runner compiles less per",
    "execution over time than the few executions measured here. The figures below come from a",
    `\`wrangler dev\` whose V8 logs each function it compiles (\`${profile.v8Flags}\`, which itself slows`,
    `the compilations down); medians of ${int(first.samples)} executions each.`,
    "",
    table(
      ["program", "at the client", "inside the Worker", "isolate start", "tool calls", "functions compiled", "code compiled", "compiling"],
      profile.programs.map((p) => [
        p.name,
        ms(p.client.p50_ms),
        ms(p.inWorker.p50_ms),
        ms(p.spawn.p50_ms),
        p.calls ? ms(p.callsMs.p50_ms) : "—",
        int(p.compiled.functions),
        `${fixed(p.compiled.kib, 0)} KiB`,
        ms(p.compiled.ms),
      ]),
      ["l", "r", "r", "r", "r", "r", "r", "r"],
    ),
    "",
    `What V8 compiled again during an execution of ${withCalls.name.replace(/^1 call$/, "one call")}, by crate:`,
    "",
    table(
      ["crate", "code", "compiling"],
      withCalls.byCrate.map((c) => [c.name, `${fixed(c.kib, 0)} KiB`, ms(c.ms)]),
      ["l", "r", "r"],
    ),
    "",
    "and its largest functions (an async function's state machine is one function, with every",
    "`async fn` it awaits inlined into it):",
    "",
    table(
      ["function", "code", "compiling"],
      withCalls.byFunction.map((f) => [`\`${f.name}\``, `${fixed(f.kib, 0)} KiB`, ms(f.ms)]),
      ["l", "r", "r"],
    ),
    ...threadLines(cpu),
    "",
    "V8 compiles a function whole, so the runner keeps what a request seldom runs out of the",
    "functions every request runs: the pages, the operator's endpoint, `search`, `tools/list`,",
    "approvals and resumed runs are boxed futures (`src/cold.rs`), and the program is parsed with",
    "the same lexer type `swc_ts_fast_strip` uses, so one copy of swc's parser is compiled, not two.",
    "Where workers-rs wraps a JavaScript API in much Rust, the request path calls the runtime",
    "directly: the request's URL is read with the runtime's `URL` (not the `url` crate's parser), and",
    "the runner's Durable Objects and the upstreams are called with the runtime's own `fetch`.",
    "The dynamic isolate is loaded without Node.js compatibility (`no_nodejs_compat`), which its",
    "compatibility date would turn on, having workerd build Node's modules for every isolate.",
    "",
    `One more sequential call adds ${runnerExtra === null ? "—" : ms(runnerExtra)} inside the Worker`,
    `(codemode: ${codemodeExtra === null ? "—" : ms(codemodeExtra)}), from the latency run: it compiles`,
    `nothing new (${fixed(most.compiled.kib, 0)} KiB for ${most.name} against ${fixed(withCalls.compiled.kib, 0)} KiB for ${withCalls.name}); its`,
    "time is the crossing from the isolate to the bridge, the gate, and the request to the upstream,",
    "which the Worker makes in the MCP session the upstream's Durable Object lent it.",
  ];
}
