// Regenerates docs/benchmarks.md and its charts (docs/benchmarks/{tokens,latency,load}.svg)
// from the benchmark results: benches/results/tokens.json (`cargo bench --bench tokens`, with
// the tasks of `node benches/tasks.mjs`), latency.json (`node benches/latency.mjs`) and
// load.json (`node benches/load.mjs`). No dependencies; the SVG is written by hand. The output
// depends only on the inputs (no clock, no locale), so an unchanged run changes no file.
//
// A missing or malformed results file is an error (exit 1, with every problem found), and
// nothing is written. `tasks` in tokens.json may be null: the task benchmark was not run.
//
// Usage: node benches/report.mjs [--results-dir DIR] [--docs-dir DIR]   (make bench)
//   --results-dir DIR   where the results are    (else $BENCH_RESULTS_DIR, else benches/results)
//   --docs-dir DIR      where benchmarks.md and benchmarks/*.svg go
//                                                 (else $BENCH_DOCS_DIR, else docs)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname ?? dirname(fileURLToPath(import.meta.url)), "..");

/** A problem with the inputs or the arguments: reported without a stack trace. */
class ReportError extends Error {}

// ---------------------------------------------------------------------------------------------
// Formatting (en-US explicitly, so the output does not depend on the machine's locale)

const formats = new Map();
function fixed(n, digits) {
  // Round first, so that -0.04 prints as "0.0", not "-0.0".
  const rounded = Number(n.toFixed(digits));
  const value = Object.is(rounded, -0) || rounded === 0 ? 0 : rounded;
  if (!formats.has(digits)) {
    formats.set(digits, new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return formats.get(digits).format(value);
}
/** 1,234 */
const int = (n) => fixed(n, 0);
/** A duration without its unit: 0.42, 12.3, 1,234. */
function msValue(ms) {
  const abs = Math.abs(ms);
  return fixed(ms, abs < 1 ? 2 : abs < 1000 ? 1 : 0);
}
/** A tick label: 0.5, 2, 1,000 (no trailing zeros). */
function tickValue(v) {
  return Number.isInteger(v) ? int(v) : fixed(v, 2).replace(/\.?0+$/, "");
}
/** 12.3 ms */
const ms = (value) => `${msValue(value)} ms`;
/** 84.1% */
const pct = (ratio, digits = 1) => `${fixed(ratio * 100, digits)}%`;
/** 1.23× */
const times = (ratio) => `${fixed(ratio, 2)}×`;
/** A success rate, truncated rather than rounded: 99.996% is "99.99%", never "100.00%". */
const rate = (ratio) => `${fixed(Math.floor(ratio * 10_000 + 1e-9) / 100, 2)}%`;
/** A table cell: pipes escaped, newlines flattened. */
const cell = (text) => String(text).replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
const row = (cells) => `| ${cells.map(cell).join(" | ")} |`;
function table(header, rows, align) {
  const rule = header.map((_, i) => (align?.[i] === "r" ? "---:" : "---"));
  return [row(header), `|${rule.join("|")}|`, ...rows.map(row)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Reading and validating the results

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const show = (v) => (v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 80));

/** Collects every problem of one file; `done()` throws them all at once. */
class Checker {
  constructor(file) {
    this.file = file;
    this.errors = [];
  }

  fail(path, message) {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }

  /** `parent[key]`, or undefined (reported) when missing; silent when `parent` was bad. */
  get(parent, key, path) {
    if (!isObject(parent)) {
      return undefined;
    }
    if (!(key in parent)) {
      return this.fail(path, "missing");
    }
    return parent[key];
  }

  object(parent, key, path, { nullable = false } = {}) {
    const v = this.get(parent, key, path);
    if (v === undefined || (nullable && v === null)) {
      return v;
    }
    return isObject(v) ? v : this.fail(path, `expected an object${nullable ? " or null" : ""}, got ${show(v)}`);
  }

  array(parent, key, path) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    if (!Array.isArray(v)) {
      return this.fail(path, `expected an array, got ${show(v)}`);
    }
    return v.length > 0 ? v : this.fail(path, "expected a non-empty array");
  }

  string(parent, key, path) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    return typeof v === "string" && v.trim() !== "" ? v : this.fail(path, `expected a non-empty string, got ${show(v)}`);
  }

  oneOf(parent, key, path, values) {
    const v = this.get(parent, key, path);
    if (v === undefined) {
      return v;
    }
    return values.includes(v) ? v : this.fail(path, `expected one of ${values.map(show).join(", ")}, got ${show(v)}`);
  }

  /** A finite number in [min, max] (`above`: strictly greater), optionally an integer. */
  number(parent, key, path, { min = -Infinity, max = Infinity, above, integer = false, nullable = false } = {}) {
    const v = this.get(parent, key, path);
    if (v === undefined || (nullable && v === null)) {
      return v;
    }
    const ok =
      typeof v === "number" &&
      Number.isFinite(v) &&
      v >= min &&
      v <= max &&
      (above === undefined || v > above) &&
      (!integer || Number.isInteger(v));
    if (ok) {
      return v;
    }
    const range = [
      above !== undefined ? `> ${above}` : min !== -Infinity ? `≥ ${min}` : "",
      max !== Infinity ? `≤ ${max}` : "",
    ].filter(Boolean);
    return this.fail(path, `expected ${integer ? "an integer" : "a finite number"}${range.length ? ` ${range.join(" and ")}` : ""}${nullable ? " or null" : ""}, got ${show(v)}`);
  }

  /** `{ p50_ms, p95_ms }` with 0 ≤ p50 ≤ p95. */
  percentiles(parent, key, path, { nullable = false } = {}) {
    const v = this.object(parent, key, path, { nullable });
    if (!v) {
      return v;
    }
    const p50 = this.number(v, "p50_ms", `${path}.p50_ms`, { min: 0 });
    const p95 = this.number(v, "p95_ms", `${path}.p95_ms`, { min: 0 });
    if (p50 !== undefined && p95 !== undefined && p95 < p50) {
      this.fail(path, `p95_ms (${p95}) is below p50_ms (${p50})`);
    }
    return v;
  }

  done() {
    if (this.errors.length > 0) {
      throw new ReportError(`${this.file} is malformed:\n${this.errors.map((e) => `  - ${e}`).join("\n")}`);
    }
  }
}

/** Parsed JSON of `dir/name`; throws a ReportError saying how to produce it when missing. */
function readJson(dir, name, producer) {
  const path = join(dir, name);
  const shown = relative(process.cwd(), path) || path;
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") {
      throw new ReportError(`${shown} is missing: run \`${producer}\` (or \`make bench\`) first`);
    }
    throw new ReportError(`cannot read ${shown}: ${error.message}`);
  }
  try {
    return { shown, data: JSON.parse(text) };
  } catch (error) {
    throw new ReportError(`${shown} is not valid JSON: ${error.message}`);
  }
}

/** How much workerd's resident memory grew during a load run. */
function growth(rss) {
  return rss ? `${fixed(rss.after - rss.before, 0)} MiB` : "not measured";
}

/** workerd's resident memory before and after a load run. */
function memory(rss) {
  return rss ? `${fixed(rss.before, 1)} MiB before, ${fixed(rss.after, 1)} MiB after` : "not measured";
}

/** The commands of the Makefile's `bench` recipe, without the `$(ENV)` prefix. */
function benchRecipe() {
  const makefile = readFileSync(join(ROOT, "Makefile"), "utf8").split("\n");
  const start = makefile.findIndex((line) => line.startsWith("bench:"));
  if (start < 0) {
    throw new ReportError("the Makefile has no bench target");
  }
  const recipe = [];
  for (const line of makefile.slice(start + 1)) {
    if (!line.startsWith("\t")) {
      break;
    }
    recipe.push(line.trim().replace(/^\$\(ENV\)\s*/, ""));
  }
  return recipe;
}

function readTokens(dir) {
  const { shown, data } = readJson(dir, "tokens.json", "cargo bench --bench tokens");
  const c = new Checker(shown);
  if (!isObject(data)) {
    c.fail("(root)", `expected an object, got ${show(data)}`);
  }
  c.string(data, "tokenizer", "tokenizer");
  const footprint = c.array(data, "footprint", "footprint");
  footprint?.forEach((r, i) => {
    const p = `footprint[${i}]`;
    if (!isObject(r)) {
      c.fail(p, `expected an object, got ${show(r)}`);
      return;
    }
    c.string(r, "upstream", `${p}.upstream`);
    // Positive: the chart's axes are logarithmic.
    c.number(r, "tools", `${p}.tools`, { min: 1, integer: true });
    c.number(r, "traditional", `${p}.traditional`, { min: 1, integer: true });
    c.number(r, "runner", `${p}.runner`, { min: 1, integer: true });
    c.number(r, "reduction", `${p}.reduction`, { max: 1 });
  });
  const tasks = c.object(data, "tasks", "tasks", { nullable: true });
  if (tasks) {
    const rows = c.array(tasks, "rows", "tasks.rows");
    rows?.forEach((r, i) => {
      const p = `tasks.rows[${i}]`;
      if (!isObject(r)) {
        c.fail(p, `expected an object, got ${show(r)}`);
        return;
      }
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

function readLatency(dir) {
  const { shown, data } = readJson(dir, "latency.json", "node benches/latency.mjs");
  const c = new Checker(shown);
  if (!isObject(data)) {
    c.fail("(root)", `expected an object, got ${show(data)}`);
  }
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
  const scenarios = c.array(data, "scenarios", "scenarios");
  const names = new Set();
  scenarios?.forEach((s, i) => {
    const p = `scenarios[${i}]`;
    if (!isObject(s)) {
      c.fail(p, `expected an object, got ${show(s)}`);
      return;
    }
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

function readLoad(dir) {
  const { shown, data } = readJson(dir, "load.json", "node benches/load.mjs");
  const c = new Checker(shown);
  if (!isObject(data)) {
    c.fail("(root)", `expected an object, got ${show(data)}`);
  }
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
  const histogram = c.array(data, "histogram", "histogram");
  let previous = -Infinity;
  histogram?.forEach((b, i) => {
    const p = `histogram[${i}]`;
    if (!isObject(b)) {
      c.fail(p, `expected an object, got ${show(b)}`);
      return;
    }
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
  c.done();
  return data;
}

// ---------------------------------------------------------------------------------------------
// Figures

function oneCallScenario(latency) {
  return latency.scenarios.find((s) => s.calls === 1 && s.mode === "sequential");
}

const isSynthetic = (row) => /^synthetic\b/i.test(row.upstream);

/** The targets of the benchmark issue: `{ target, measured, met }`, `met` false when not measured. */
function targets(tokens, latency, load) {
  const spawn = latency.spawn;
  const one = oneCallScenario(latency);
  const overhead = one.runner.p50_ms - one.direct.p50_ms;
  const maxRunner = Math.max(...tokens.footprint.map((r) => r.runner));
  const toolCounts = tokens.footprint.map((r) => r.tools);
  const compared = latency.scenarios.filter((s) => s.codemode);
  /** The scenario where the runner's p50 is furthest above codemode's, as `pick` reads them. */
  const worstRatio = (pick) =>
    compared
      .map((s) => ({ name: s.name, ratio: pick(s.runner).p50_ms / pick(s.codemode).p50_ms }))
      .reduce((a, b) => (b.ratio > a.ratio ? b : a), { name: null, ratio: -Infinity });
  const asCodemode = (label, pick) => {
    const target = `no slower than @cloudflare/codemode on the same runtime (${label})`;
    if (compared.length === 0) {
      return { target, measured: "not measured (the @cloudflare/codemode baseline was not run)", met: false };
    }
    const worst = worstRatio(pick);
    return {
      target,
      measured: `worst runner/codemode p50 ratio ${times(worst.ratio)} (${worst.name}; limit 1.05× in every one of ${compared.length} scenarios)`,
      met: compared.every((s) => pick(s.runner).p50_ms <= pick(s.codemode).p50_ms * 1.05),
    };
  };
  const total = tokens.tasks?.total;
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
    total
      ? {
          target: "token reduction > 50%",
          measured: `${pct(total.reduction)} (${tokens.tasks.rows.length} tasks: ${int(total.traditional)} → ${int(total.codemode)} tokens)`,
          met: total.reduction > 0.5,
        }
      : { target: "token reduction > 50%", measured: "not measured (the task benchmark was not run)", met: false },
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
    asCodemode("inside the Worker, program to result", (side) => side.inWorker),
    asCodemode("at the client: the runner through MCP, codemode through a plain POST", (side) => side),
  ];
}

// ---------------------------------------------------------------------------------------------
// SVG

const WIDTH = 720;
const FONT = "Helvetica, Arial, sans-serif";
const COLORS = {
  runner: { fill: "#3b82f6", stroke: "#1d4ed8", text: "#1e3a8a" },
  direct: { fill: "#9ca3af", stroke: "#4b5563", text: "#374151" },
  codemode: { fill: "#f97316", stroke: "#c2410c", text: "#9a3412" },
  target: "#15803d",
  axis: "#374151",
  grid: "#e5e7eb",
  minorGrid: "#f3f4f6",
  text: "#111827",
  muted: "#6b7280",
};

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** A coordinate: at most one decimal, never "-0". */
function num(x) {
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}
function attrs(a) {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => ` ${k}="${typeof v === "number" ? num(v) : esc(v)}"`)
    .join("");
}
const tag = (name, a) => `<${name}${attrs(a)}/>`;
const text = (content, a) => `<text${attrs(a)}>${esc(content)}</text>`;

/**
 * Estimated width of `s` in px at `size`: Helvetica/Arial metrics, widened by 12% so that text
 * still fits where the viewer falls back to a wider sans-serif (DejaVu Sans on Linux).
 */
function textWidth(s, size, { bold = false } = {}) {
  let em = 0;
  for (const ch of String(s)) {
    if (/[0-9]/.test(ch)) em += 0.556;
    else if (/[ .,:;'!|il()[\]ftjI/]/.test(ch)) em += 0.28;
    else if (/[mwMW@]/.test(ch)) em += 0.85;
    else if (/[A-Z]/.test(ch)) em += 0.68;
    else em += 0.52;
  }
  return em * size * 1.12 * (bold ? 1.08 : 1);
}

function svgDocument(height, title, description, body) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${num(height)}" viewBox="0 0 ${WIDTH} ${num(height)}" role="img" aria-labelledby="title desc" font-family="${FONT}" font-size="12" fill="${COLORS.text}">`,
    `<title id="title">${esc(title)}</title>`,
    `<desc id="desc">${esc(description)}</desc>`,
    tag("rect", { width: WIDTH, height, fill: "#ffffff" }),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** `10 ** e` for the largest/smallest power of ten at or below/above `v`, immune to log10 rounding. */
function decadeBelow(v) {
  let e = Math.floor(Math.log10(v));
  while (10 ** e > v) e -= 1;
  while (10 ** (e + 1) <= v) e += 1;
  return e;
}
function decadeAbove(v) {
  let e = Math.ceil(Math.log10(v));
  while (10 ** (e - 1) >= v) e -= 1;
  while (10 ** e < v) e += 1;
  return e;
}

/** A log scale over whole decades covering `values`, onto [a, b]. */
function logScale(values, a, b) {
  const lo = decadeBelow(Math.min(...values));
  let hi = decadeAbove(Math.max(...values));
  if (hi === lo) hi += 1;
  const map = (v) => a + ((Math.log10(v) - lo) / (hi - lo)) * (b - a);
  const ticks = []; // { value, major }
  for (let e = lo; e <= hi; e += 1) {
    ticks.push({ value: 10 ** e, major: true });
    if (e < hi) {
      for (let m = 2; m <= 9; m += 1) ticks.push({ value: m * 10 ** e, major: false });
    }
  }
  return { map, ticks, min: 10 ** lo, max: 10 ** hi };
}

/** A linear scale from 0 to a round number at or above `max`, onto [a, b], with ~`count` ticks. */
function linearScale(max, a, b, count = 5) {
  let step = 1;
  if (max > 0) {
    const raw = max / count;
    const e = 10 ** Math.floor(Math.log10(raw));
    const f = raw / e;
    step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * e;
  }
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const ticks = [];
  for (let i = 0; i * step <= top + step * 1e-9; i += 1) {
    ticks.push({ value: Number((i * step).toPrecision(12)), major: true });
  }
  return { map: (v) => a + (v / top) * (b - a), ticks, min: 0, max: top };
}

/**
 * A legend from baseline `y`, starting at `x`, wrapped to the width; entries
 * `{ swatch: svg(x, y), label }`. Returns `{ svg, bottom }`, `bottom` the last row's baseline.
 */
function legend(entries, x, y) {
  const svg = [];
  let at = x;
  let row = y;
  for (const entry of entries) {
    const w = 22 + textWidth(entry.label, 12);
    if (at > x && at + w > WIDTH - 12) {
      at = x;
      row += 20;
    }
    svg.push(entry.swatch(at, row));
    svg.push(text(entry.label, { x: at + 22, y: row, "font-size": 12 }));
    at += w + 20;
  }
  return { svg, bottom: row };
}

const overlap = (a, b) =>
  Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)) * Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));

/**
 * Places point labels greedily: for each, the first candidate position that overlaps no label
 * placed so far, no marker and stays in `bounds`; else the least-overlapping one.
 */
function placeLabels(labels, obstacles, bounds, size) {
  const placed = [];
  const out = [];
  for (const label of labels) {
    const w = textWidth(label.text, size);
    let best = null;
    for (const [dx, dy, anchor] of label.candidates) {
      const x = label.x + dx;
      const y = label.y + dy;
      const x1 = anchor === "middle" ? x - w / 2 : anchor === "end" ? x - w : x;
      const box = { x1: x1 - 1, x2: x1 + w + 1, y1: y - size * 0.8, y2: y + size * 0.22 };
      let cost = [...placed, ...obstacles].reduce((sum, o) => sum + overlap(box, o), 0);
      const outside =
        Math.max(0, bounds.x1 - box.x1) + Math.max(0, box.x2 - bounds.x2) + Math.max(0, bounds.y1 - box.y1) + Math.max(0, box.y2 - bounds.y2);
      cost += outside * 1000;
      if (best === null || cost < best.cost) {
        best = { x, y, anchor, box, cost };
      }
      if (cost === 0) {
        break;
      }
    }
    placed.push(best.box);
    out.push(text(label.text, { x: best.x, y: best.y, "text-anchor": best.anchor, "font-size": size, fill: label.color }));
  }
  return out;
}

const ABOVE_FIRST = [
  [0, -9, "middle"],
  [0, 18, "middle"],
  [8, 4, "start"],
  [-8, 4, "end"],
  [0, -21, "middle"],
  [0, 30, "middle"],
  [8, -8, "start"],
  [-8, -8, "end"],
  [8, 16, "start"],
  [-8, 16, "end"],
  [0, -33, "middle"],
  [0, 42, "middle"],
];
const BELOW_FIRST = [ABOVE_FIRST[1], ABOVE_FIRST[0], ...ABOVE_FIRST.slice(2)];

function marker(shape, x, y, color) {
  return shape === "square"
    ? tag("rect", { x: x - 4, y: y - 4, width: 8, height: 8, fill: color, stroke: "#ffffff", "stroke-width": 1 })
    : tag("circle", { cx: x, cy: y, r: 4.5, fill: color, stroke: "#ffffff", "stroke-width": 1 });
}

/** tools/list tokens against upstream tools, both log scales, traditional and runner. */
function tokensSvg(tokens) {
  const rows = tokens.footprint;
  const series = [
    { key: "traditional", label: "traditional: every upstream tool", color: COLORS.direct.stroke, text: COLORS.direct.text, candidates: ABOVE_FIRST },
    { key: "runner", label: "runner: search + execute", color: COLORS.runner.stroke, text: COLORS.runner.text, candidates: BELOW_FIRST },
  ];
  const out = [];
  out.push(text("tools/list size against the number of upstream tools", { x: 16, y: 24, "font-size": 15, "font-weight": "bold" }));
  const key = legend(
    [
      ...series.map((s) => ({
        label: s.label,
        swatch: (x, y) =>
          tag("line", { x1: x, y1: y - 4, x2: x + 16, y2: y - 4, stroke: s.color, "stroke-width": 2 }) + marker("circle", x + 8, y - 4, s.color),
      })),
      { label: "captured server", swatch: (x, y) => marker("circle", x + 8, y - 4, COLORS.muted) },
      { label: "synthetic (joined by a line)", swatch: (x, y) => marker("square", x + 8, y - 4, COLORS.muted) },
    ],
    16,
    48,
  );
  out.push(...key.svg);
  const m = { left: 76, right: 24, top: key.bottom + 22, bottom: 58 };
  const H = m.top + 350 + m.bottom;
  const plot = { x1: m.left, x2: WIDTH - m.right, y1: m.top, y2: H - m.bottom };
  const pad = 14;
  const xs = logScale(rows.map((r) => r.tools), plot.x1 + pad, plot.x2 - pad);
  const ys = logScale([...rows.flatMap((r) => [r.traditional, r.runner]), 1000], plot.y2 - pad, plot.y1 + pad);
  // Grid and axes.
  for (const t of xs.ticks) {
    const x = xs.map(t.value);
    out.push(tag("line", { x1: x, y1: plot.y1, x2: x, y2: plot.y2, stroke: t.major ? COLORS.grid : COLORS.minorGrid }));
    if (t.major) {
      out.push(text(tickValue(t.value), { x, y: plot.y2 + 18, "text-anchor": "middle", fill: COLORS.axis }));
    }
  }
  for (const t of ys.ticks) {
    const y = ys.map(t.value);
    out.push(tag("line", { x1: plot.x1, y1: y, x2: plot.x2, y2: y, stroke: t.major ? COLORS.grid : COLORS.minorGrid }));
    if (t.major) {
      out.push(text(int(t.value), { x: plot.x1 - 8, y: y + 4, "text-anchor": "end", fill: COLORS.axis }));
    }
  }
  out.push(tag("rect", { x: plot.x1, y: plot.y1, width: plot.x2 - plot.x1, height: plot.y2 - plot.y1, fill: "none", stroke: COLORS.axis }));
  out.push(text("upstream tools (log scale)", { x: (plot.x1 + plot.x2) / 2, y: H - 16, "text-anchor": "middle", fill: COLORS.axis }));
  const yMid = (plot.y1 + plot.y2) / 2;
  out.push(text("tools/list tokens (log scale)", { x: 20, y: yMid, "text-anchor": "middle", fill: COLORS.axis, transform: `rotate(-90 20 ${num(yMid)})` }));
  // The 1,000-token target.
  const targetY = ys.map(1000);
  out.push(tag("line", { x1: plot.x1, y1: targetY, x2: plot.x2, y2: targetY, stroke: COLORS.target, "stroke-width": 1.5, "stroke-dasharray": "6 4" }));
  const targetLabel = "target: ≤ 1,000 tokens";
  const targetBox = { x1: plot.x2 - 6 - textWidth(targetLabel, 11), x2: plot.x2 - 6, y1: targetY - 14, y2: targetY - 2 };
  out.push(text(targetLabel, { x: plot.x2 - 6, y: targetY - 5, "text-anchor": "end", "font-size": 11, fill: COLORS.target }));
  // Synthetic series as lines, then every point.
  const points = [];
  for (const s of series) {
    const synthetic = rows.filter(isSynthetic).sort((a, b) => a.tools - b.tools);
    if (synthetic.length > 1) {
      const path = synthetic.map((r) => `${num(xs.map(r.tools))},${num(ys.map(r[s.key]))}`).join(" ");
      out.push(tag("polyline", { points: path, fill: "none", stroke: s.color, "stroke-width": 1.5, "stroke-opacity": 0.6 }));
    }
    for (const r of [...rows].sort((a, b) => a.tools - b.tools || a.upstream.localeCompare(b.upstream, "en"))) {
      points.push({ series: s, row: r, x: xs.map(r.tools), y: ys.map(r[s.key]) });
    }
  }
  for (const p of points) {
    out.push(marker(isSynthetic(p.row) ? "square" : "circle", p.x, p.y, p.series.color));
  }
  const obstacles = [targetBox, ...points.map((p) => ({ x1: p.x - 5, x2: p.x + 5, y1: p.y - 5, y2: p.y + 5 }))];
  const labels = points.map((p) => ({ text: int(p.row[p.series.key]), x: p.x, y: p.y, color: p.series.text, candidates: p.series.candidates }));
  out.push(...placeLabels(labels, obstacles, { x1: plot.x1 + 1, x2: WIDTH - 2, y1: plot.y1 + 1, y2: plot.y2 - 1 }, 11));
  return svgDocument(
    H,
    "tools/list tokens against the number of upstream tools",
    `Tokens (${tokens.tokenizer}) of tools/list for ${rows.length} upstreams, traditional (every upstream tool) and the runner (search and execute), on log scales.`,
    out,
  );
}

/** p50 bars with p95 whiskers per scenario: runner, direct, codemode (when measured). */
function latencySvg(latency) {
  const scenarios = latency.scenarios;
  const series = [
    { key: "runner", label: "runner: execute in a fresh isolate" },
    { key: "direct", label: "direct tool calls (baseline)" },
    { key: "codemode", label: "@cloudflare/codemode" },
  ].filter((s) => s.key !== "codemode" || scenarios.some((sc) => sc.codemode));
  const barH = 12;
  const barGap = 3;
  const groupH = series.length * barH + (series.length - 1) * barGap;
  const rowH = groupH + 22;
  const labelW = Math.min(260, Math.max(110, ...scenarios.map((s) => textWidth(s.name, 12, { bold: true }))));
  const out = [];
  out.push(text("Latency per scenario: p50 (bar) and p95 (whisker)", { x: 16, y: 24, "font-size": 15, "font-weight": "bold" }));
  const key = legend(
    [
      ...series.map((s) => ({
        label: s.label,
        swatch: (x, y) => tag("rect", { x, y: y - 10, width: 16, height: 10, fill: COLORS[s.key].fill }),
      })),
      {
        label: "p95",
        swatch: (x, y) =>
          tag("line", { x1: x, y1: y - 5, x2: x + 16, y2: y - 5, stroke: COLORS.axis, "stroke-width": 1.5 }) +
          tag("line", { x1: x + 16, y1: y - 9, x2: x + 16, y2: y - 1, stroke: COLORS.axis, "stroke-width": 1.5 }),
      },
    ],
    16,
    50,
  );
  out.push(...key.svg);
  const top = key.bottom + 22;
  const plot = { x1: 16 + labelW + 12, x2: WIDTH - 80, y1: top, y2: top + scenarios.length * rowH };
  const H = plot.y2 + 52;
  const values = scenarios.flatMap((s) => series.flatMap((k) => (s[k.key] ? [s[k.key].p50_ms, s[k.key].p95_ms] : [])));
  const positive = values.filter((v) => v > 0);
  const useLog = positive.length === values.length && Math.max(...values) / Math.min(...values) > 30;
  const xs = useLog ? logScale(values, plot.x1, plot.x2) : linearScale(Math.max(...values), plot.x1, plot.x2);
  const base = useLog ? xs.min : 0;
  // Row bands, grid, axis.
  scenarios.forEach((_, i) => {
    if (i % 2 === 1) {
      out.push(tag("rect", { x: 8, y: plot.y1 + i * rowH, width: WIDTH - 16, height: rowH, fill: "#f9fafb" }));
    }
  });
  const labelled = (t) => (useLog ? [1, 2, 5].some((m) => Math.abs(t.value / 10 ** decadeBelow(t.value) - m) < 1e-9) : true);
  for (const t of xs.ticks) {
    const x = xs.map(t.value);
    out.push(tag("line", { x1: x, y1: plot.y1, x2: x, y2: plot.y2, stroke: t.major ? COLORS.grid : COLORS.minorGrid }));
    if (labelled(t)) {
      out.push(text(tickValue(t.value), { x, y: plot.y2 + 16, "text-anchor": "middle", "font-size": 11, fill: COLORS.axis }));
    }
  }
  out.push(tag("line", { x1: plot.x1, y1: plot.y1, x2: plot.x1, y2: plot.y2, stroke: COLORS.axis }));
  out.push(tag("line", { x1: plot.x1, y1: plot.y2, x2: plot.x2, y2: plot.y2, stroke: COLORS.axis }));
  out.push(text(`milliseconds${useLog ? " (log scale)" : ""}`, { x: (plot.x1 + plot.x2) / 2, y: H - 14, "text-anchor": "middle", fill: COLORS.axis }));
  // Bars.
  scenarios.forEach((s, i) => {
    const y0 = plot.y1 + i * rowH + (rowH - groupH) / 2;
    out.push(text(s.name, { x: plot.x1 - 10, y: y0 + groupH / 2 - 1, "text-anchor": "end", "font-weight": "bold" }));
    out.push(text(`${int(s.iterations)} iterations`, { x: plot.x1 - 10, y: y0 + groupH / 2 + 13, "text-anchor": "end", "font-size": 11, fill: COLORS.muted }));
    series.forEach((k, j) => {
      const y = y0 + j * (barH + barGap);
      const v = s[k.key];
      if (!v) {
        out.push(text("not run", { x: plot.x1 + 6, y: y + barH - 2, "font-size": 11, "font-style": "italic", fill: COLORS.muted }));
        return;
      }
      const x50 = xs.map(v.p50_ms);
      const x95 = xs.map(v.p95_ms);
      out.push(tag("rect", { x: plot.x1, y, width: Math.max(1, x50 - xs.map(base)), height: barH, fill: COLORS[k.key].fill }));
      if (x95 - x50 >= 0.5) {
        const cy = y + barH / 2;
        out.push(tag("line", { x1: x50, y1: cy, x2: x95, y2: cy, stroke: COLORS[k.key].stroke, "stroke-width": 1.5 }));
        out.push(tag("line", { x1: x95, y1: y + 2, x2: x95, y2: y + barH - 2, stroke: COLORS[k.key].stroke, "stroke-width": 1.5 }));
      }
      out.push(text(ms(v.p50_ms), { x: Math.max(x50, x95) + 5, y: y + barH - 2, "font-size": 11, fill: COLORS[k.key].text }));
    });
  });
  return svgDocument(
    H,
    "Latency per scenario",
    `p50 and p95 latency of ${scenarios.length} scenarios, ${series.map((s) => s.label).join("; ")}.`,
    out,
  );
}

/** Bucket labels: "≤ 10", "10–20", …, "> 5,000". */
function bucketLabels(histogram) {
  return histogram.map((b, i) => {
    const previous = i > 0 ? histogram[i - 1].le_ms : null;
    if (b.le_ms === null) {
      return previous === null ? "all" : `> ${int(previous)}`;
    }
    return previous === null ? `≤ ${int(b.le_ms)}` : `${int(previous)}–${int(b.le_ms)}`;
  });
}

/** The load test's latency distribution: one bar per (non-cumulative) bucket. */
function loadSvg(load) {
  const labels = bucketLabels(load.histogram);
  const m = { left: 70, right: 24, top: 84 };
  const slot = (WIDTH - m.left - m.right) / labels.length;
  const widest = Math.max(...labels.map((l) => textWidth(l, 11)));
  const rotate = widest > slot - 6;
  const bottom = rotate ? 40 + widest * 0.7 : 56;
  const H = 400 + (rotate ? widest * 0.7 - 16 : 0);
  const plot = { x1: m.left, x2: WIDTH - m.right, y1: m.top, y2: H - bottom };
  const ys = linearScale(Math.max(...load.histogram.map((b) => b.count)), plot.y2, plot.y1 + 14);
  const out = [];
  out.push(text("Latency distribution under load", { x: 16, y: 24, "font-size": 15, "font-weight": "bold" }));
  out.push(
    text(`${int(load.executions)} executions at concurrency ${int(load.concurrency)}, ${rate(load.successRate)} succeeded, ${fixed(load.throughputPerS, 1)} per second`, {
      x: 16,
      y: 46,
      fill: COLORS.axis,
    }),
  );
  out.push(
    text(`p50 ${ms(load.p50_ms)} · p95 ${ms(load.p95_ms)} · p99 ${ms(load.p99_ms)} · max ${ms(load.max_ms)}`, { x: 16, y: 64, fill: COLORS.axis }),
  );
  for (const t of ys.ticks) {
    const y = ys.map(t.value);
    out.push(tag("line", { x1: plot.x1, y1: y, x2: plot.x2, y2: y, stroke: COLORS.grid }));
    out.push(text(int(t.value), { x: plot.x1 - 8, y: y + 4, "text-anchor": "end", "font-size": 11, fill: COLORS.axis }));
  }
  load.histogram.forEach((b, i) => {
    const cx = plot.x1 + slot * (i + 0.5);
    const w = Math.min(56, slot * 0.78);
    const y = ys.map(b.count);
    if (b.count > 0) {
      out.push(tag("rect", { x: cx - w / 2, y, width: w, height: Math.max(1, plot.y2 - y), fill: COLORS.runner.fill }));
    }
    out.push(text(int(b.count), { x: cx, y: y - 5, "text-anchor": "middle", "font-size": 11, fill: COLORS.runner.text }));
    const ly = plot.y2 + 16;
    out.push(
      rotate
        ? text(labels[i], { x: cx, y: ly, "text-anchor": "end", "font-size": 11, fill: COLORS.axis, transform: `rotate(-40 ${num(cx)} ${num(ly)})` })
        : text(labels[i], { x: cx, y: ly, "text-anchor": "middle", "font-size": 11, fill: COLORS.axis }),
    );
  });
  out.push(tag("line", { x1: plot.x1, y1: plot.y1, x2: plot.x1, y2: plot.y2, stroke: COLORS.axis }));
  out.push(tag("line", { x1: plot.x1, y1: plot.y2, x2: plot.x2, y2: plot.y2, stroke: COLORS.axis }));
  out.push(text("client-side latency per execution (ms)", { x: (plot.x1 + plot.x2) / 2, y: H - 12, "text-anchor": "middle", fill: COLORS.axis }));
  const yMid = (plot.y1 + plot.y2) / 2;
  out.push(text("executions", { x: 20, y: yMid, "text-anchor": "middle", fill: COLORS.axis, transform: `rotate(-90 20 ${num(yMid)})` }));
  return svgDocument(
    H,
    "Latency distribution under load",
    `Executions per latency bucket: ${load.histogram.map((b, i) => `${labels[i]} ms: ${b.count}`).join(", ")}.`,
    out,
  );
}

// ---------------------------------------------------------------------------------------------
// Markdown

function markdown(tokens, latency, load) {
  const goals = targets(tokens, latency, load);
  const met = goals.filter((g) => g.met).length;
  const { machine } = latency;
  const hasCodemode = latency.scenarios.some((s) => s.codemode);
  const pair = (p) => (p ? [ms(p.p50_ms), ms(p.p95_ms)] : ["—", "—"]);
  const lines = [];
  const add = (...ls) => lines.push(...ls);

  add(
    "<!-- Generated by `make bench` (benches/report.mjs) from benches/results/*.json; do not edit. -->",
    "",
    "# Benchmarks",
    "",
    "Generated by `make bench` (`benches/report.mjs`) from `benches/results/*.json`; do not edit.",
    "",
    "What code mode costs and saves against traditional tool calling, where the agent holds every",
    "upstream tool's definition and calls each tool itself. Latencies are client-side, with the MCP",
    "TypeScript SDK against a local `wrangler dev` (workerd) and real upstream MCP servers; tokens are",
    `counted with ${tokens.tokenizer}.`,
    "",
    "## Summary",
    "",
    `${met} of ${goals.length} targets met.`,
    "",
    table(
      ["target", "measured", "result"],
      goals.map((g) => [g.target, g.measured, g.met ? "met" : "not met"]),
    ),
    "",
    "## Machine and how to reproduce",
    "",
    `Latency measured at ${latency.generatedAt}; the load test ran on the same machine.`,
    "",
    table(
      ["", ""],
      [
        ["CPU", `${int(machine.cpus)} × ${machine.cpuModel}`],
        ["memory", `${fixed(machine.memoryGiB, 1)} GiB`],
        ["OS", machine.os],
        ["Node.js", machine.node],
        ["wrangler", machine.wrangler],
      ],
    ),
    "",
    "`make bench` builds the Worker and runs, in order (its recipe in the Makefile):",
    "",
    "```sh",
    ...benchRecipe(),
    "```",
    "",
    "Each writes its results to `benches/results/`; the last turns them into this page and its charts.",
    "",
    "## Token footprint",
    "",
    "Tokens of `tools/list` as the agent receives it: traditionally, every tool of the upstream; through",
    "the runner, its two tools (`search` and `execute`) for the same upstream. Captured servers are the",
    "recorded tool lists of real MCP servers; synthetic upstreams have 10, 100 and 1,000 generated tools.",
    "",
    table(
      ["upstream", "tools", "traditional tokens", "runner tokens", "reduction"],
      tokens.footprint.map((r) => [r.upstream, int(r.tools), int(r.traditional), int(r.runner), pct(r.reduction)]),
      ["l", "r", "r", "r", "r"],
    ),
    "",
    "![tools/list tokens against the number of upstream tools, log scales: traditional grows with every tool, the runner stays flat](benchmarks/tokens.svg)",
    "",
    "## Task token cost",
    "",
  );
  if (tokens.tasks) {
    const { rows, total } = tokens.tasks;
    add(
      "Tokens that enter the agent's context to finish each scripted task (`benches/tasks.mjs`): the",
      "tool definitions once, then every call and its result. Traditionally the agent calls every tool",
      "itself; in code mode it makes one `search` and one `execute` and reads only the final result.",
      "",
      table(
        ["task", "traditional tokens", "code mode tokens", "reduction"],
        [
          ...rows.map((r) => [r.task, int(r.traditional), int(r.codemode), pct(r.reduction)]),
          ["**total**", `**${int(total.traditional)}**`, `**${int(total.codemode)}**`, `**${pct(total.reduction)}**`],
        ],
        ["l", "r", "r", "r"],
      ),
    );
  } else {
    add("The task benchmark was not run (`tasks` is null in `tokens.json`): run `node benches/tasks.mjs`, then `cargo bench --bench tokens`.");
  }
  add(
    "",
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
        s.direct.p50_ms > 0 ? times(s.runner.p50_ms / s.direct.p50_ms) : "—",
        s.codemode && s.codemode.p50_ms > 0 ? times(s.runner.p50_ms / s.codemode.p50_ms) : "—",
      ]),
      ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    ),
    "",
    "![p50 latency per scenario with p95 whiskers, runner against direct tool calls and @cloudflare/codemode](benchmarks/latency.svg)",
    "",
    "Inside the Worker, from receiving the program to having its result (the runner's audit `ms`;",
    "the time around `DynamicWorkerExecutor.execute` in the codemode Worker). This is the like-for-like",
    "comparison: at the client the runner is reached through MCP (a session, JSON-RPC, an SSE answer),",
    "codemode through a plain POST. The runner's time includes listing the upstreams' tools, type",
    "stripping and step checks, the audit entry, and tool calls through each upstream's Durable Object;",
    "the codemode Worker keeps one MCP session in its own isolate and calls the upstream directly.",
    "",
    table(
      ["scenario", "runner p50", "runner p95", "codemode p50", "codemode p95", "runner / codemode (p50)"],
      latency.scenarios.map((s) => [
        s.name,
        ...pair(s.runner.inWorker),
        ...pair(s.codemode?.inWorker),
        s.codemode && s.codemode.inWorker.p50_ms > 0 ? times(s.runner.inWorker.p50_ms / s.codemode.inWorker.p50_ms) : "—",
      ]),
      ["l", "r", "r", "r", "r", "r"],
    ),
    "",
    "### Wasm code flushed between executions",
    "",
    "Under `wrangler dev`, workerd's V8 throws away the runner's baseline-compiled (Liftoff) wasm as",
    "dynamic isolates come and go, so every execution compiles the code it runs again; calls that",
    "start no isolate (`ping`, `tools/list`, `search`) are unaffected, and JavaScript Workers such as",
    "the codemode baseline do not have this cost. Whether Cloudflare's production runtime does the",
    "same is not known here. The runner measured once more, on a workerd started with",
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
    "",
    "## Load",
    "",
    `${int(load.executions)} executions, each one upstream call, from ${int(load.concurrency)} concurrent client sessions;`,
    `then the same load on a workerd started with \`${load.liftoffKept.v8Flags}\` (see above), which shows`,
    `how much of workerd's growth in memory goes with recompiling flushed wasm: ${growth(load.workerdRssMiB)}`,
    `with the default flags, ${growth(load.liftoffKept.workerdRssMiB)} with Liftoff code kept.`,
    "",
    table(
      ["", "default", "Liftoff code kept"],
      [
        ["executions", int(load.executions), int(load.executions)],
        ["concurrency", int(load.concurrency), int(load.concurrency)],
        ["succeeded", `${int(load.succeeded)} (${rate(load.successRate)})`, rate(load.liftoffKept.successRate)],
        ["duration", `${fixed(load.durationS, 1)} s`, "—"],
        ["throughput", ...[load, load.liftoffKept].map((l) => `${fixed(l.throughputPerS, 1)} executions/s`)],
        ["p50", ms(load.p50_ms), ms(load.liftoffKept.p50_ms)],
        ["p95", ms(load.p95_ms), ms(load.liftoffKept.p95_ms)],
        ["p99", ms(load.p99_ms), ms(load.liftoffKept.p99_ms)],
        ["max", ms(load.max_ms), "—"],
        ["workerd resident memory", ...[load, load.liftoffKept].map((l) => memory(l.workerdRssMiB))],
      ],
      ["l", "r", "r"],
    ),
    "",
    "![number of executions per latency bucket under load](benchmarks/load.svg)",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

function main() {
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        "results-dir": { type: "string" },
        "docs-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ReportError(`${error.message}\nusage: node benches/report.mjs [--results-dir DIR] [--docs-dir DIR]`);
  }
  if (args.help) {
    console.log(
      [
        "usage: node benches/report.mjs [--results-dir DIR] [--docs-dir DIR]",
        "  --results-dir DIR  tokens.json, latency.json, load.json (else $BENCH_RESULTS_DIR, else benches/results)",
        "  --docs-dir DIR     writes benchmarks.md and benchmarks/*.svg (else $BENCH_DOCS_DIR, else docs)",
      ].join("\n"),
    );
    return;
  }
  const resultsDir = resolve(args["results-dir"] ?? process.env.BENCH_RESULTS_DIR ?? join(ROOT, "benches/results"));
  const docsDir = resolve(args["docs-dir"] ?? process.env.BENCH_DOCS_DIR ?? join(ROOT, "docs"));

  // Read and check everything, and render everything, before writing anything.
  const failures = [];
  const attempt = (read) => {
    try {
      return read(resultsDir);
    } catch (error) {
      if (!(error instanceof ReportError)) throw error;
      failures.push(error.message);
      return null;
    }
  };
  const tokens = attempt(readTokens);
  const latency = attempt(readLatency);
  const load = attempt(readLoad);
  if (failures.length > 0) {
    throw new ReportError(failures.join("\n"));
  }
  const files = [
    ["benchmarks.md", markdown(tokens, latency, load)],
    ["benchmarks/tokens.svg", tokensSvg(tokens)],
    ["benchmarks/latency.svg", latencySvg(latency)],
    ["benchmarks/load.svg", loadSvg(load)],
  ];
  mkdirSync(join(docsDir, "benchmarks"), { recursive: true });
  for (const [name, content] of files) {
    writeFileSync(join(docsDir, name), content);
    console.log(`wrote ${relative(process.cwd(), join(docsDir, name)) || name}`);
  }
}

try {
  main();
} catch (error) {
  if (error instanceof ReportError) {
    console.error(`benches/report.mjs: ${error.message}`);
  } else {
    console.error("benches/report.mjs: unexpected error:", error);
  }
  process.exitCode = 1;
}
