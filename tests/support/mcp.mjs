// MCP clients for the tests, benchmarks and scripts: the TypeScript SDK in-process, and the
// Python SDK through tests/support/py_client.py. Both return plain CallToolResult objects.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { ROOT, startStack } from "./stack.mjs";

/** A connected TypeScript SDK client, sending `headers` with every request. */
export async function connectTypeScript(url, headers = {}) {
  const client = new Client({ name: "e2e-typescript", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/**
 * Registers `before`/`after` hooks on the current suite that start a stack (`startStack(options)`)
 * and connect a TypeScript client to it; the returned object's `stack` and `client` are set once
 * the suite starts.
 */
export function useStackAndClient(options) {
  const running = {};
  before(async () => {
    running.stack = await startStack(options);
    running.client = await connectTypeScript(running.stack.url);
  });
  after(async () => {
    await running.client?.close();
    running.stack?.stop();
  });
  return running;
}

/** Runs `execute` and returns the structured report, with `isError` alongside. */
export async function execute(client, code) {
  const result = await client.callTool({ name: "execute", arguments: { code } });
  return { isError: result.isError, ...result.structuredContent };
}

/**
 * Runs the Python SDK client: initialize, tools/list, then each call in order.
 * Returns { protocolVersion, serverInfo, tools, results }.
 */
export async function runPython(url, calls) {
  const python = join(process.env.MIR_VENV, "bin/python");
  const { stdout } = await promisify(execFile)(
    python,
    [join(ROOT, "tests/support/py_client.py"), "--url", url, "--calls", JSON.stringify(calls)],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout);
}

/** The SHA-256 of `text` in hex, as audit entries name code. */
export const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** A request to the operator endpoint at `base` + `path` with `adminToken`: { status, text }. */
export async function adminRequest(base, adminToken, path, init = {}) {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${adminToken}`, ...init.headers },
  });
  return { status: response.status, text: await response.text() };
}

/** The audit entry of `code`'s newest execution, once the ledger at `base` has it. */
export async function auditEntry(base, adminToken, code) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { status, text } = await adminRequest(base, adminToken, "/admin/audit?limit=50");
    if (status !== 200) {
      throw new Error(`/admin/audit answered ${status}: ${text}`);
    }
    const { entries } = JSON.parse(text);
    const entry = entries.find((e) => e.codeSha256 === sha256(code));
    if (entry) {
      return entry;
    }
    await sleep(100);
  }
  throw new Error(`no audit entry for ${code}`);
}
