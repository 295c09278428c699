// `wrangler deploy --dry-run` bundles the Worker exactly as a deploy would, without an account.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";

import { ROOT } from "../support/stack.mjs";

test("wrangler deploy --dry-run bundles the Worker with its wasm module", async () => {
  const outdir = mkdtempSync(join(tmpdir(), "mir-deploy-"));
  const { stdout } = await promisify(execFile)(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 16 * 1024 * 1024 },
  );
  assert.match(stdout, /--dry-run: exiting now\./);
  assert.match(stdout, /env\.LOADER\s+Worker Loader/);
  assert.match(stdout, /env\.SESSION_OBJECTS \(SessionObject\)\s+Durable Object/);
  assert.match(stdout, /env\.UPSTREAM_OBJECTS \(UpstreamObject\)\s+Durable Object/);
  const files = readdirSync(outdir);
  assert.ok(files.includes("entry.js"), files.join(", "));
  const wasm = files.find((f) => f.endsWith(".wasm"));
  assert.ok(wasm && statSync(join(outdir, wasm)).size > 100_000, files.join(", "));
});
