// The README's quick start, run as written: `make dev`, then `make try` in another terminal.
// Ports are moved off the defaults (PORT, EVERYTHING_PORT) so a developer's own `make dev`
// can keep running.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";

import { example } from "./markdown.mjs";
import { ROOT, freePort } from "./stack.mjs";

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
