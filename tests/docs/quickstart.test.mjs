// The README's quick start, run as written: `make dev`, then `make try` in another terminal.
// Ports are moved off the defaults (PORT, EVERYTHING_PORT) so a developer's own `make dev`
// can keep running.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";

import { example } from "../support/markdown.mjs";
import { ROOT, freePort } from "../support/stack.mjs";

const STARTUP_TIMEOUT_MS = 120_000;
let dev;

after(() => {
  if (dev) {
    process.kill(-dev.pid, "SIGTERM");
  }
});

test("make dev serves the demo upstream and make try gets 42 back through execute", async () => {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), EVERYTHING_PORT: String(await freePort()), WRANGLER_SEND_METRICS: "false" };
  let output = "";
  dev = spawn("make", ["--no-print-directory", "dev"], { cwd: ROOT, env, detached: true });
  dev.stdout.on("data", (chunk) => (output += chunk));
  dev.stderr.on("data", (chunk) => (output += chunk));

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false))) {
    assert.equal(dev.exitCode, null, `make dev exited:\n${output}`);
    assert.ok(Date.now() < deadline, `make dev was not ready in time:\n${output}`);
    await sleep(250);
  }
  assert.match(output, new RegExp(`MCP URL:  http://127\\.0\\.0\\.1:${port}/mcp`));

  const { stdout } = await promisify(execFile)(
    "make", ["--no-print-directory", "try", `MCP_URL=http://127.0.0.1:${port}/mcp`],
    { cwd: ROOT, env },
  );
  const timing = /"ms": \d+/g;
  assert.equal(stdout.replace(timing, '"ms": N'), example("try-output").replace(timing, '"ms": N'));
});

test("make try with nothing listening says to start make dev, without a stack trace", async () => {
  const url = `http://127.0.0.1:${await freePort()}/mcp`;
  const failed = await promisify(execFile)("make", ["--no-print-directory", "try", `MCP_URL=${url}`], { cwd: ROOT })
    .then(() => assert.fail("make try succeeded with nothing listening"), (error) => error);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, new RegExp(`nothing answers at ${url.replaceAll(".", "\\.")}`));
  assert.match(failed.stderr, /Start the runner with `make dev` in another terminal/);
  assert.doesNotMatch(failed.stderr, /^\s+at /m, "no stack trace");
});

test("make dev refuses to start when a port it needs is taken, naming the port", async () => {
  const squatter = createServer(() => {});
  await new Promise((ok) => squatter.listen(0, "127.0.0.1", ok));
  const taken = squatter.address().port;
  try {
    for (const [variable, other] of [["EVERYTHING_PORT", "PORT"], ["PORT", "EVERYTHING_PORT"]]) {
      const env = { ...process.env, [variable]: String(taken), [other]: String(await freePort()), WRANGLER_SEND_METRICS: "false" };
      const failed = await promisify(execFile)("make", ["--no-print-directory", "dev"], { cwd: ROOT, env, timeout: 120_000 })
        .then(() => assert.fail(`make dev started with ${variable} taken`), (error) => error);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, new RegExp(`port ${taken} on 127\\.0\\.0\\.1, for .*\\(${variable}\\), is already in use`));
    }
  } finally {
    squatter.close();
  }
});
