// What the latency and load benchmarks share: percentiles, the machine, and the memory of the
// workerd processes `wrangler dev` runs.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

import { ROOT } from "../../tests/support/stack.mjs";

/**
 * The V8 flag (for `MINIFLARE_WORKERD_V8_FLAGS`) that keeps Liftoff code: the benches measure
 * the runner a second time with it, to show what recompiling flushed wasm costs locally.
 */
export const KEEP_LIFTOFF = "--no-flush-liftoff-code";

/** The `p`th percentile (0–100) of ascending `sorted` samples. */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Milliseconds rounded to 0.01. */
export const round = (ms) => Math.round(ms * 100) / 100;

/** p50 and p95 of `samples` (milliseconds). */
export function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)) };
}

/** The machine the benchmarks ran on. */
export function machine() {
  const wrangler = JSON.parse(readFileSync(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    wrangler,
    os: `${process.platform} ${release()}`,
  };
}

/** Resident memory, in MiB, of the workerd processes in process group `group`. */
export function workerdRssMiB(group) {
  const table = execFileSync("ps", ["-eo", "pgid=,rss=,comm="], { encoding: "utf8" });
  const kib = table
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([pgid, , comm]) => Number(pgid) === group && comm === "workerd")
    .reduce((sum, [, rss]) => sum + Number(rss), 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`). */
const TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

/**
 * CPU time, in milliseconds, that the workerd processes in process group `group` have used so
 * far (user and system, all threads). workerd runs every isolate of a `wrangler dev` on one
 * thread, so under load this, per execution, is what bounds throughput.
 */
export function workerdCpuMs(group) {
  const table = execFileSync("ps", ["-eo", "pid=,pgid=,comm="], { encoding: "utf8" });
  return table
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid, comm]) => Number(pgid) === group && comm === "workerd")
    .reduce((sum, [pid]) => {
      // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
    }, 0);
}
