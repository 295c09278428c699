// The @cloudflare/codemode baseline for the latency benchmark: starts `wrangler dev` for
// benches/codemode-worker (DynamicWorkerExecutor with a Worker Loader binding, tools calling one
// upstream MCP server) on a free 127.0.0.1 port, in its own process group.
//
//   const codemode = await startCodemodeWorker({ upstreamUrl, logDir });
//   await codemode.execute("return await everything.get_sum({ a: 2, b: 40 });");
//   //   → { result: "The sum of 2 and 40 is 42.", logs: [] }
//   codemode.stop();
//
// Programs: the runner's format (a function body with top-level await/return, tools under
// `everything.*`) runs unchanged; so does an `async () => { … }` arrow using `codemode.*`. See
// benches/codemode-worker/src/index.js for the mapping. JavaScript only (no TypeScript).
//
// Self-check: `node benches/codemode_baseline.mjs` starts server-everything and the worker, runs
// 1 call, 10 sequential calls and 10 parallel calls of get-sum (and checks that the sandbox has no
// network), prints results and timings, and stops everything.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { ROOT, freePort, start, startEverything, stop, waitFor } from "../tests/support/stack.mjs";

const CONFIG = join(ROOT, "benches/codemode-worker/wrangler.toml");

/**
 * Starts the codemode worker against `upstreamUrl` (server-everything's /mcp URL); its log goes
 * to `logDir`/codemode-worker.log. Returns { url, log, execute(code, { throwOnError }), processGroup, stop() }.
 * `execute` resolves to the executor's result ({ result, logs } or { error, logs }) and, unless
 * `throwOnError` is false, throws when the program failed, so a benchmark never times failures.
 */
export async function startCodemodeWorker({ upstreamUrl, logDir = mkdtempSync(join(tmpdir(), "mir-codemode-")) }) {
  const port = await freePort();
  const args = ["dev", "--config", CONFIG, "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(await freePort()), "--persist-to", join(logDir, "codemode-state"),
    "--show-interactive-dev-session=false", "--var", `UPSTREAM_URL:${upstreamUrl}`];
  const worker = start("codemode-worker", join(ROOT, "node_modules/.bin/wrangler"), args, { logDir });
  const { log } = worker;
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor("the codemode worker", async () => (await fetch(`${base}/`)).ok, [worker]);
  } catch (error) {
    stop(worker);
    throw error;
  }

  return {
    url: `${base}/execute`,
    log,
    async execute(code, { throwOnError = true } = {}) {
      const response = await fetch(`${base}/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code }),
      });
      const text = await response.text();
      if (!response.ok) {
        throw new Error(`codemode worker: HTTP ${response.status}: ${text.slice(0, 2000)} (log: ${log})`);
      }
      const result = JSON.parse(text);
      if (throwOnError && result.error !== undefined) {
        throw new Error(`codemode program failed: ${result.error}${result.logs?.length ? `\nlogs: ${result.logs.join("\n")}` : ""}`);
      }
      return result;
    },
    /** The process group of its `wrangler dev` and workerd. */
    processGroup: worker.child.pid,
    stop: () => stop(worker),
  };
}

// ---------------------------------------------------------------------------------------------
// Self-check.

async function selfCheck() {
  const logDir = mkdtempSync(join(tmpdir(), "mir-codemode-check-"));
  const started = [];
  try {
    const everything = await startEverything(logDir);
    started.push(everything);
    const t0 = performance.now();
    const codemode = await startCodemodeWorker({ upstreamUrl: everything.url, logDir });
    started.push(codemode);
    console.log(`server-everything ${everything.url}; codemode worker ${codemode.url} ready in ${Math.round(performance.now() - t0)} ms`);
    console.log(`logs in ${logDir}`);

    const programs = [
      {
        name: "1 call (runner's text)",
        code: "return await everything.get_sum({ a: 2, b: 40 });",
        expect: "The sum of 2 and 40 is 42.",
      },
      {
        name: "10 sequential",
        code: "const out = [];\nfor (let i = 0; i < 10; i++) { out.push(await everything.get_sum({ a: i, b: 1 })); }\nreturn out;",
        expect: Array.from({ length: 10 }, (_, i) => `The sum of ${i} and 1 is ${i + 1}.`),
      },
      {
        name: "10 parallel",
        code: "return await Promise.all(Array.from({ length: 10 }, (_, i) => everything.get_sum({ a: i, b: 1 })));",
        expect: Array.from({ length: 10 }, (_, i) => `The sum of ${i} and 1 is ${i + 1}.`),
      },
      {
        name: "arrow on codemode.* (latency.mjs's text)",
        code: "async () => {\nfor (let i = 0; i < 10; i++) { await codemode.get_sum({ a: i, b: 1 }); }\nreturn 10;\n}",
        expect: 10,
      },
      {
        name: "echo + console.log",
        code: 'const said = await everything.echo({ message: "hi" });\nconsole.log(said);\nreturn said;',
        expect: "Echo: hi",
      },
    ];
    const WARMUP = 3;
    const ITERATIONS = 20;
    for (const { name, code, expect } of programs) {
      const first = await codemode.execute(code);
      const ok = JSON.stringify(first.result) === JSON.stringify(expect);
      for (let i = 0; i < WARMUP; i += 1) {
        await codemode.execute(code);
      }
      const samples = [];
      for (let i = 0; i < ITERATIONS; i += 1) {
        const t = performance.now();
        await codemode.execute(code);
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      const ms = (p) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))].toFixed(1);
      console.log(`\n${name}: ${ok ? "OK" : "UNEXPECTED"}\n  code: ${code.replaceAll("\n", " ")}\n  answer: ${JSON.stringify(first)}`);
      console.log(`  ${ITERATIONS} runs: min ${samples[0].toFixed(1)} ms, p50 ${ms(50)} ms, p95 ${ms(95)} ms, max ${samples.at(-1).toFixed(1)} ms`);
      if (!ok) {
        process.exitCode = 1;
      }
    }

    // Failures come back as { error }: an unknown tool, and a fetch (globalOutbound: null).
    const failures = [
      { name: "unknown tool", code: "return await everything.no_such_tool({});" },
      { name: "no network", code: `return (await fetch(${JSON.stringify(everything.url)})).status;` },
    ];
    for (const { name, code } of failures) {
      const answer = await codemode.execute(code, { throwOnError: false });
      console.log(`\n${name}: ${answer.error !== undefined ? "OK (error)" : "UNEXPECTED (no error)"}\n  answer: ${JSON.stringify(answer)}`);
      if (answer.error === undefined) {
        process.exitCode = 1;
      }
    }
  } finally {
    started.reverse().forEach((s) => s.stop());
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await selfCheck();
}
