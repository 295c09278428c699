// docs/benchmarks.md and its charts are generated from benches/results/*.json by
// benches/report.mjs. Regenerating them from the committed results must give the committed
// files, so the page never disagrees with the results beside it (the benchmarks themselves run
// in `make bench`, not here), and each chart must draw every figure. A malformed results file
// must stop the report with what is wrong.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { ROOT } from "../support/stack.mjs";

const run = promisify(execFile);
const REPORT = join(ROOT, "benches/report.mjs");
const GENERATED = ["benchmarks.md", "benchmarks/tokens.svg", "benchmarks/latency.svg", "benchmarks/load.svg"];

test("docs/benchmarks.md and its charts are what the committed results generate", async () => {
  const docsDir = mkdtempSync(join(tmpdir(), "mir-bench-docs-"));
  await run(process.execPath, [REPORT, "--docs-dir", docsDir]);
  for (const name of GENERATED) {
    assert.equal(
      readFileSync(join(docsDir, name), "utf8"),
      readFileSync(join(ROOT, "docs", name), "utf8"),
      `docs/${name} is out of date: run node benches/report.mjs (or make bench)`,
    );
  }
});

test("each chart draws a mark for every figure of its results", () => {
  const results = (name) => JSON.parse(readFileSync(join(ROOT, "benches/results", `${name}.json`), "utf8"));
  const chart = (name) => readFileSync(join(ROOT, "docs/benchmarks", `${name}.svg`), "utf8");
  // Vega gives every data mark it draws an ARIA role and says what kind of mark it is.
  const marks = (svg, kind) => svg.split(`role="graphics-symbol" aria-roledescription="${kind}"`).length - 1;
  const { footprint } = results("tokens");
  assert.equal(marks(chart("tokens"), "point"), footprint.length * 2, "a traditional and a runner point per upstream");
  const { scenarios } = results("latency");
  const measured = scenarios.flatMap((s) => [s.runner, s.direct, s.codemode].filter(Boolean));
  assert.equal(marks(chart("latency"), "bar"), measured.length, "a bar per measured side of each scenario");
  assert.equal(marks(chart("latency"), "tick"), measured.length, "a p95 whisker per bar");
  const { histogram } = results("load");
  assert.equal(marks(chart("load"), "bar"), histogram.length, "a bar per latency bucket");
});

test("a malformed results file stops the report, naming the file and the field, and writes nothing", async () => {
  const resultsDir = mkdtempSync(join(tmpdir(), "mir-bench-results-"));
  const docsDir = mkdtempSync(join(tmpdir(), "mir-bench-docs-"));
  cpSync(join(ROOT, "benches/results"), resultsDir, { recursive: true });
  const load = JSON.parse(readFileSync(join(resultsDir, "load.json"), "utf8"));
  writeFileSync(join(resultsDir, "load.json"), JSON.stringify({ ...load, successRate: 2 }));
  const failed = await run(process.execPath, [REPORT, "--results-dir", resultsDir, "--docs-dir", docsDir]).then(
    () => null,
    (error) => error,
  );
  assert.ok(failed, "the report accepted a success rate of 2");
  assert.match(failed.stderr, /load\.json/);
  assert.match(failed.stderr, /successRate/);
  assert.throws(() => readFileSync(join(docsDir, "benchmarks.md")), { code: "ENOENT" });
});
