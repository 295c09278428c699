// What the runner's thread does during an execution: a CPU profile of the runner's isolate,
// taken through wrangler's inspector with the DevTools protocol (`Profiler`), over executions of
// one call and of ten sequential calls made one after another, on a `wrangler dev` with V8's
// default flags and on one started with `--no-flush-liftoff-code`. Each sample is put in one
// class by the function on top of the stack: the runner's code (its wasm and the JavaScript
// around it, worker-build's glue and the Worker's module; V8 compiling wasm again, lazily,
// counts here, in a frame of either), the runtime (workerd's built-ins: `fetch`, stream reads,
// building the dynamic isolate, V8's own work), garbage collection, and idle. The profiler
// samples only while the thread is in V8: a gap between two samples longer than a few sampling
// intervals is time the thread spent outside V8 (waiting in workerd's event loop for the
// upstream or the program's isolate, or in workerd's own C++), counted as such, not as the
// function sampled after it.
//
// Writes benches/results/cpu.json. Usage: node benches/cpu.mjs   (make bench)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { connectTypeScript, execute } from "../tests/support/mcp.mjs";
import { ROOT, startStack } from "../tests/support/stack.mjs";
import { KEEP_LIFTOFF, round } from "./lib/measure.mjs";
import { CPU_CLASSES } from "./report/results.mjs";

const WARMUP = 20;
const EXECUTIONS = 100;
/** How often V8 samples the stack, in microseconds. */
const SAMPLING_US = 200;
const PROGRAMS = [
  { name: "1 call", calls: 1, code: "return await everything.get_sum({ a: 1, b: 2 });" },
  {
    name: "10 calls, sequential",
    calls: 10,
    code: "for (let i = 0; i < 10; i++) { await everything.get_sum({ a: i, b: 1 }); }\nreturn 10;",
  },
];
/** The longest gap before a sample that is counted as the sampled function's time. */
const SAMPLE_SPAN_US = 4 * SAMPLING_US;

/** The DevTools protocol of the runner's isolate, through the inspector port wrangler opened. */
async function inspect(stack) {
  const args = readFileSync(`/proc/${stack.runnerProcessGroup}/cmdline`, "utf8").split("\0");
  const port = args[args.indexOf("--inspector-port") + 1];
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  // The inspector only takes a connection that names a local origin (Node's WebSocket sends
  // the headers it is given).
  const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error(`the inspector at port ${port} refused the connection`)), { once: true });
  });
  const waiting = new Map();
  let lastId = 0;
  socket.addEventListener("message", ({ data }) => {
    const message = JSON.parse(data);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  return {
    send(method, params = {}) {
      lastId += 1;
      const id = lastId;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => {
        waiting.set(id, (message) => (message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result)));
      });
    },
    close: () => socket.close(),
  };
}

/** The class of a profile node's function: a function with a script (wasm or JavaScript) is code. */
function classOf({ functionName, url }) {
  if (url) {
    return "code";
  }
  return { "(idle)": "idle", "(garbage collector)": "gc" }[functionName] ?? "runtime";
}

/** Milliseconds of `profile` in each class; the rest of a long gap is `outside` V8. */
function byClass(profile) {
  const classes = new Map(profile.nodes.map((node) => [node.id, classOf(node.callFrame)]));
  const totals = Object.fromEntries(CPU_CLASSES.map((name) => [name, 0]));
  profile.samples.forEach((node, i) => {
    const gap = profile.timeDeltas[i] ?? 0;
    const sampled = Math.min(gap, SAMPLE_SPAN_US);
    totals[classes.get(node)] += sampled / 1000;
    totals.outside += (gap - sampled) / 1000;
  });
  return totals;
}

/** Profiles `EXECUTIONS` executions of each program on a fresh stack; per execution, in ms. */
async function measure() {
  const stack = await startStack();
  try {
    const inspector = await inspect(stack);
    const client = await connectTypeScript(stack.url);
    const programs = [];
    for (const program of PROGRAMS) {
      for (let i = 0; i < WARMUP; i += 1) {
        await execute(client, program.code);
      }
      await inspector.send("Profiler.enable");
      await inspector.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
      await inspector.send("Profiler.start");
      const started = performance.now();
      for (let i = 0; i < EXECUTIONS; i += 1) {
        const report = await execute(client, program.code);
        if (report.isError) {
          throw new Error(`${program.name}: ${JSON.stringify(report).slice(0, 500)}`);
        }
      }
      const wallMs = performance.now() - started;
      const { profile } = await inspector.send("Profiler.stop");
      const totals = byClass(profile);
      const perExecution = Object.fromEntries(CPU_CLASSES.map((name) => [name, round(totals[name] / EXECUTIONS)]));
      programs.push({ name: program.name, calls: program.calls, wallMs: round(wallMs / EXECUTIONS), ...perExecution });
      console.log(JSON.stringify(programs.at(-1)));
    }
    await client.close();
    inspector.close();
    return programs;
  } finally {
    stack.stop();
  }
}

const flushed = await measure();
process.env.MINIFLARE_WORKERD_V8_FLAGS = KEEP_LIFTOFF;
const kept = await measure();
const report = {
  generatedAt: new Date().toISOString(),
  executions: EXECUTIONS,
  samplingUs: SAMPLING_US,
  sampleSpanUs: SAMPLE_SPAN_US,
  programs: flushed,
  liftoffKept: { v8Flags: KEEP_LIFTOFF, programs: kept },
};
mkdirSync(join(ROOT, "benches/results"), { recursive: true });
writeFileSync(join(ROOT, "benches/results/cpu.json"), `${JSON.stringify(report, null, 2)}\n`);
