// docs/benchmarks.md and its charts are generated from benches/results/*.json by
// benches/report.mjs. Regenerating them from the committed results must give the committed
// files, so the page never disagrees with the results beside it (the benchmarks themselves run
// in `make bench`, not here). A malformed results file must stop the report with what is wrong.

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
