// The results files the report is made from, read and checked: tokens.json (`cargo bench
// --bench tokens`), latency.json (`node benches/latency.mjs`), load.json (`node
// benches/load.mjs`), profile.json (`node benches/profile.mjs`) and cpu.json (`node
// benches/cpu.mjs`). Each reader returns the
// parsed file or throws a ReportError listing every problem found in it. `tasks` in tokens.json
// may be null: the task benchmark was not run.

import { Checker, readJson, show } from "./checker.mjs";

/** The one-call sequential scenario, which the code-execution overhead target is measured on. */
export function oneCallScenario(latency) {
  return latency.scenarios.find((s) => s.calls === 1 && s.mode === "sequential");
}

export function readTokens(dir) {
  const { shown, data } = readJson(dir, "tokens.json", "cargo bench --bench tokens");
  const c = new Checker(shown);
  c.expectObject(data, "(root)");
  c.string(data, "tokenizer", "tokenizer");
  c.eachObject(data, "footprint", "footprint", (r, p) => {
    c.string(r, "upstream", `${p}.upstream`);
    // Positive: the chart's axes are logarithmic.
    c.number(r, "tools", `${p}.tools`, { min: 1, integer: true });
    c.number(r, "traditional", `${p}.traditional`, { min: 1, integer: true });
    c.number(r, "runner", `${p}.runner`, { min: 1, integer: true });
    c.number(r, "reduction", `${p}.reduction`, { max: 1 });
  });
  const tasks = c.object(data, "tasks", "tasks", { nullable: true });
  if (tasks) {
    c.eachObject(tasks, "rows", "tasks.rows", (r, p) => {
      c.string(r, "task", `${p}.task`);
      c.number(r, "traditional", `${p}.traditional`, { min: 0, integer: true });
      c.number(r, "codemode", `${p}.codemode`, { min: 0, integer: true });
      c.number(r, "reduction", `${p}.reduction`, { max: 1 });
    });
    const total = c.object(tasks, "total", "tasks.total");
    c.number(total, "traditional", "tasks.total.traditional", { min: 0, integer: true });
    c.number(total, "codemode", "tasks.total.codemode", { min: 0, integer: true });
    c.number(total, "reduction", "tasks.total.reduction", { max: 1 });
  }
  c.done();
  return data;
}

export function readLatency(dir) {
  const { shown, data } = readJson(dir, "latency.json", "node benches/latency.mjs");
  const c = new Checker(shown);
  c.expectObject(data, "(root)");
  const generatedAt = c.string(data, "generatedAt", "generatedAt");
  if (generatedAt !== undefined && Number.isNaN(Date.parse(generatedAt))) {
    c.fail("generatedAt", `expected an ISO date, got ${show(generatedAt)}`);
  }
  const machine = c.object(data, "machine", "machine");
  c.number(machine, "cpus", "machine.cpus", { min: 1, integer: true });
  c.string(machine, "cpuModel", "machine.cpuModel");
  c.number(machine, "memoryGiB", "machine.memoryGiB", { above: 0 });
  for (const key of ["node", "wrangler", "os"]) {
    c.string(machine, key, `machine.${key}`);
  }
  const spawn = c.percentiles(data, "spawn", "spawn");
  c.number(spawn, "samples", "spawn.samples", { min: 1, integer: true });
  const liftoffKept = c.object(data, "liftoffKept", "liftoffKept");
  c.string(liftoffKept, "v8Flags", "liftoffKept.v8Flags");
  const keptSpawn = c.percentiles(liftoffKept, "spawn", "liftoffKept.spawn");
  c.number(keptSpawn, "samples", "liftoffKept.spawn.samples", { min: 1, integer: true });
  const names = new Set();
  const scenarios = c.eachObject(data, "scenarios", "scenarios", (s, p) => {
    const name = c.string(s, "name", `${p}.name`);
    if (name !== undefined && names.has(name)) {
      c.fail(`${p}.name`, `duplicate scenario ${show(name)}`);
    }
    names.add(name);
    c.number(s, "calls", `${p}.calls`, { min: 1, integer: true });
    c.oneOf(s, "mode", `${p}.mode`, ["sequential", "parallel"]);
    c.number(s, "iterations", `${p}.iterations`, { min: 1, integer: true });
    const runner = c.percentiles(s, "runner", `${p}.runner`);
    c.percentiles(runner, "inWorker", `${p}.runner.inWorker`);
    c.percentiles(s, "direct", `${p}.direct`);
    const codemode = c.percentiles(s, "codemode", `${p}.codemode`, { nullable: true });
    if (codemode) {
      c.percentiles(codemode, "inWorker", `${p}.codemode.inWorker`);
    }
    const kept = c.percentiles(s, "runnerLiftoffKept", `${p}.runnerLiftoffKept`);
    c.percentiles(kept, "inWorker", `${p}.runnerLiftoffKept.inWorker`);
  });
  if (scenarios && c.errors.length === 0 && !oneCallScenario(data)) {
    c.fail("scenarios", 'no scenario with calls 1 and mode "sequential" (the code-execution overhead target needs it)');
  }
  c.done();
  return data;
}

export function readLoad(dir) {
  const { shown, data } = readJson(dir, "load.json", "node benches/load.mjs");
  const c = new Checker(shown);
  c.expectObject(data, "(root)");
  const executions = c.number(data, "executions", "executions", { min: 1, integer: true });
  c.number(data, "concurrency", "concurrency", { min: 1, integer: true });
  c.number(data, "succeeded", "succeeded", { min: 0, max: executions ?? Infinity, integer: true });
  c.number(data, "successRate", "successRate", { min: 0, max: 1 });
  c.number(data, "durationS", "durationS", { above: 0 });
  c.number(data, "throughputPerS", "throughputPerS", { min: 0 });
  const order = ["p50_ms", "p95_ms", "p99_ms", "max_ms"];
  const values = order.map((key) => c.number(data, key, key, { min: 0 }));
  for (let i = 1; i < order.length; i += 1) {
    if (values[i - 1] !== undefined && values[i] !== undefined && values[i] < values[i - 1]) {
      c.fail(order[i], `${values[i]} is below ${order[i - 1]} (${values[i - 1]})`);
    }
  }
  let previous = -Infinity;
  c.eachObject(data, "histogram", "histogram", (b, p, i, histogram) => {
    const le = c.number(b, "le_ms", `${p}.le_ms`, { min: 0, nullable: true });
    c.number(b, "count", `${p}.count`, { min: 0, integer: true });
    if (le === null && i !== histogram.length - 1) {
      c.fail(`${p}.le_ms`, "null (the open bucket, +∞) must be the last bucket");
    }
    if (typeof le === "number") {
      if (le <= previous) {
        c.fail(`${p}.le_ms`, `bucket bounds must ascend, got ${le} after ${previous}`);
      }
      previous = le;
    }
  });
  const rss = c.object(data, "workerdRssMiB", "workerdRssMiB", { nullable: true });
  c.number(rss, "before", "workerdRssMiB.before", { min: 0 });
  c.number(rss, "after", "workerdRssMiB.after", { min: 0 });
  c.number(data, "workerdCpuMsPerExecution", "workerdCpuMsPerExecution", { min: 0 });
  const kept = c.object(data, "liftoffKept", "liftoffKept");
  c.string(kept, "v8Flags", "liftoffKept.v8Flags");
  c.number(kept, "successRate", "liftoffKept.successRate", { min: 0, max: 1 });
  c.number(kept, "throughputPerS", "liftoffKept.throughputPerS", { min: 0 });
  for (const key of ["p50_ms", "p95_ms", "p99_ms"]) {
    c.number(kept, key, `liftoffKept.${key}`, { min: 0 });
  }
  const keptRss = c.object(kept, "workerdRssMiB", "liftoffKept.workerdRssMiB", { nullable: true });
  c.number(keptRss, "before", "liftoffKept.workerdRssMiB.before", { min: 0 });
  c.number(keptRss, "after", "liftoffKept.workerdRssMiB.after", { min: 0 });
  c.number(kept, "workerdCpuMsPerExecution", "liftoffKept.workerdCpuMsPerExecution", { min: 0 });
  const codemode = c.object(data, "codemode", "codemode");
  c.number(codemode, "successRate", "codemode.successRate", { min: 0, max: 1 });
  c.number(codemode, "throughputPerS", "codemode.throughputPerS", { min: 0 });
  for (const key of ["p50_ms", "p95_ms", "p99_ms"]) {
    c.number(codemode, key, `codemode.${key}`, { min: 0 });
  }
  const codemodeRss = c.object(codemode, "workerdRssMiB", "codemode.workerdRssMiB");
  c.number(codemodeRss, "before", "codemode.workerdRssMiB.before", { min: 0 });
  c.number(codemodeRss, "after", "codemode.workerdRssMiB.after", { min: 0 });
  c.number(codemode, "workerdCpuMsPerExecution", "codemode.workerdCpuMsPerExecution", { min: 0 });
  c.done();
  return data;
}

export function readProfile(dir) {
  const { shown, data } = readJson(dir, "profile.json", "node benches/profile.mjs");
  const c = new Checker(shown);
  c.expectObject(data, "(root)");
  c.string(data, "v8Flags", "v8Flags");
  c.eachObject(data, "programs", "programs", (program, p) => {
    c.string(program, "name", `${p}.name`);
    c.number(program, "calls", `${p}.calls`, { min: 0, integer: true });
    c.number(program, "samples", `${p}.samples`, { min: 1, integer: true });
    for (const key of ["client", "inWorker", "spawn", "callsMs"]) {
      c.percentiles(program, key, `${p}.${key}`);
    }
    const compiled = c.object(program, "compiled", `${p}.compiled`);
    for (const key of ["functions", "kib", "ms"]) {
      c.number(compiled, key, `${p}.compiled.${key}`, { min: 0 });
    }
    c.array(compiled, "tiers", `${p}.compiled.tiers`);
    // What was compiled, by crate and by function: each a name, KiB and milliseconds.
    for (const groups of ["byCrate", "byFunction"]) {
      c.eachObject(program, groups, `${p}.${groups}`, (group, q) => {
        c.string(group, "name", `${q}.name`);
        c.number(group, "kib", `${q}.kib`, { min: 0 });
        c.number(group, "ms", `${q}.ms`, { min: 0 });
      });
    }
  });
  c.done();
  return data;
}

/** The classes a CPU profile's time is put in (benches/cpu.mjs), in the order shown. */
export const CPU_CLASSES = ["code", "runtime", "gc", "idle", "outside"];

export function readCpu(dir) {
  const { shown, data } = readJson(dir, "cpu.json", "node benches/cpu.mjs");
  const c = new Checker(shown);
  c.expectObject(data, "(root)");
  c.number(data, "executions", "executions", { min: 1, integer: true });
  c.number(data, "samplingUs", "samplingUs", { min: 1 });
  c.number(data, "sampleSpanUs", "sampleSpanUs", { min: 1 });
  const programs = (parent, path) =>
    c.eachObject(parent, "programs", path, (program, p) => {
      c.string(program, "name", `${p}.name`);
      c.number(program, "calls", `${p}.calls`, { min: 1, integer: true });
      for (const key of ["wallMs", ...CPU_CLASSES]) {
        c.number(program, key, `${p}.${key}`, { min: 0 });
      }
    });
  programs(data, "programs");
  const kept = c.object(data, "liftoffKept", "liftoffKept");
  c.string(kept, "v8Flags", "liftoffKept.v8Flags");
  programs(kept, "liftoffKept.programs");
  c.done();
  return data;
}
