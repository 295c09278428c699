// Regenerates docs/benchmarks.md and its charts (docs/benchmarks/{tokens,latency,load}.svg)
// from the benchmark results in benches/results/ (see benches/report/results.mjs); the charts
// are drawn with Vega-Lite (benches/report/charts/). The output depends only on the inputs (no
// clock, no locale), so an unchanged run changes no file.
//
// A missing or malformed results file is an error (exit 1, with every problem found), and
// nothing is written.
//
// Usage: node benches/report.mjs [--results-dir DIR] [--docs-dir DIR]   (make bench)
//   --results-dir DIR   where the results are    (else $BENCH_RESULTS_DIR, else benches/results)
//   --docs-dir DIR      where benchmarks.md and benchmarks/*.svg go
//                                                 (else $BENCH_DOCS_DIR, else docs)

import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

import { latencyChart } from "./report/charts/latency.mjs";
import { loadChart } from "./report/charts/load.mjs";
import { tokensChart } from "./report/charts/tokens.mjs";
import { ReportError } from "./report/checker.mjs";
import { benchmarksPage } from "./report/page.mjs";
import { benchRecipe } from "./report/recipe.mjs";
import { readCpu, readLatency, readLoad, readProfile, readTokens } from "./report/results.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const USAGE = "usage: node benches/report.mjs [--results-dir DIR] [--docs-dir DIR]";

function options() {
  try {
    return parseArgs({
      options: {
        "results-dir": { type: "string" },
        "docs-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ReportError(`${error.message}\n${USAGE}`);
  }
}

/** Every results file, read and checked; a ReportError naming the problems of all of them. */
function readResults(dir) {
  const failures = [];
  const attempt = (read) => {
    try {
      return read(dir);
    } catch (error) {
      if (!(error instanceof ReportError)) throw error;
      failures.push(error.message);
      return null;
    }
  };
  const results = {
    tokens: attempt(readTokens),
    latency: attempt(readLatency),
    load: attempt(readLoad),
    profile: attempt(readProfile),
    cpu: attempt(readCpu),
  };
  if (failures.length > 0) {
    throw new ReportError(failures.join("\n"));
  }
  return results;
}

async function main() {
  const args = options();
  if (args.help) {
    console.log(
      [
        USAGE,
        "  --results-dir DIR  tokens.json, latency.json, load.json, profile.json (else $BENCH_RESULTS_DIR, else benches/results)",
        "  --docs-dir DIR     writes benchmarks.md and benchmarks/*.svg (else $BENCH_DOCS_DIR, else docs)",
      ].join("\n"),
    );
    return;
  }
  const resultsDir = resolve(args["results-dir"] ?? process.env.BENCH_RESULTS_DIR ?? join(ROOT, "benches/results"));
  const docsDir = resolve(args["docs-dir"] ?? process.env.BENCH_DOCS_DIR ?? join(ROOT, "docs"));

  // Read and check everything, and render everything, before writing anything.
  const results = readResults(resultsDir);
  const files = [
    ["benchmarks.md", benchmarksPage(results, benchRecipe(join(ROOT, "Makefile")))],
    ["benchmarks/tokens.svg", await tokensChart(results.tokens)],
    ["benchmarks/latency.svg", await latencyChart(results.latency)],
    ["benchmarks/load.svg", await loadChart(results.load)],
  ];
  mkdirSync(join(docsDir, "benchmarks"), { recursive: true });
  for (const [name, content] of files) {
    writeFileSync(join(docsDir, name), content);
    console.log(`wrote ${relative(process.cwd(), join(docsDir, name)) || name}`);
  }
}

try {
  await main();
} catch (error) {
  if (error instanceof ReportError) {
    console.error(`benches/report.mjs: ${error.message}`);
  } else {
    console.error("benches/report.mjs: unexpected error:", error);
  }
  process.exitCode = 1;
}
