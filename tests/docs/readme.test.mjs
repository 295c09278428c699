// Every example in README.md that can run here is run, so the README cannot drift from the
// product. Examples are fenced blocks preceded by `<!-- example: NAME -->`. (The `config`
// example is parsed by the Rust configuration loader in src/config.rs; `try-output` is checked
// by quickstart.test.mjs.)

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";

import { example } from "../support/markdown.mjs";
import { adminRequest, connectTypeScript } from "../support/mcp.mjs";
import { ROOT, startOAuthNotes, startStack, stop } from "../support/stack.mjs";

const README_URL = "http://127.0.0.1:8787/mcp";

/** Shell commands of an example, with continuation lines joined. */
function commands(block) {
  return block.replace(/\\\n\s*/g, "").split("\n").filter((line) => line.trim() && !line.startsWith("#"));
}

describe("README examples", () => {
  let stack;
  before(async () => {
    stack = await startStack({
      publicUrl: true,
      secrets: { ADMIN_TOKEN: "readme-admin-token", UPSTREAM_TOKEN_KEY: "readme-upstream-token-key-5e2a9c1b7d3f" },
    });
  });
  after(() => stack?.stop());

  // First: once get_sum has been called, its declaration shows the result type learned.
  test("the search output shown is what search returns before any call", async () => {
    const client = await connectTypeScript(stack.url);
    try {
      const result = await client.callTool({ name: "search", arguments: { query: "everything.get_sum" } });
      assert.equal(result.content[0].text, example("search-output"));
    } finally {
      await client.close();
    }
  });

  test("the operator endpoint example lists the upstreams with their health", async () => {
    const [command] = commands(example("admin")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
    const { stdout } = await promisify(execFile)("bash", ["-c", command], {
      env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
    });
    const { upstreams } = JSON.parse(stdout);
    assert.deepEqual(upstreams.map((u) => u.name), stack.upstreams.map((u) => u.name));
    assert.ok(upstreams.every((u) => "health" in u && "toolCount" in u));
  });

  test("the audit example returns the newest execution's entry", async () => {
    const client = await connectTypeScript(stack.url);
    try {
      await client.callTool({ name: "execute", arguments: { code: "return await everything.get_sum({ a: 1, b: 1 });" } });
    } finally {
      await client.close();
    }
    const [command] = commands(example("audit")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
    const deadline = Date.now() + 10_000;
    let entries = [];
    while (entries.length === 0 && Date.now() < deadline) {
      const { stdout } = await promisify(execFile)("bash", ["-c", command], {
        env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
      });
      ({ entries } = JSON.parse(stdout));
    }
    assert.equal(entries.length, 1);
    assert.equal(entries[0].ending, "returned");
    assert.deepEqual(entries[0].calls.map((c) => c.tool), ["everything.get_sum"]);
  });

  test("the metrics example scrapes Prometheus text", async () => {
    const [command] = commands(example("metrics")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
    const { stdout } = await promisify(execFile)("bash", ["-c", command], {
      env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
    });
    assert.match(stdout, /^# HELP mir_executions_total /m);
    assert.match(stdout, /^mir_tool_listings_total \d+$/m);
  });

  test("the scoped URL example's session sees only the upstreams it names", async () => {
    const home = mkdtempSync(join(tmpdir(), "mir-inspector-"));
    const [scoped] = commands(example("scoped")).map((c) => c.replaceAll(README_URL, stack.url));
    const namespaces = async (command) => {
      const { stdout } = await promisify(execFile)("bash", ["-c", command], { cwd: ROOT, env: { ...process.env, HOME: home } });
      return JSON.parse(stdout).tools.find((t) => t.name === "execute").description;
    };
    assert.match(await namespaces(scoped.replace("?upstreams=everything", "")), /inventory/, "unscoped: every upstream");
    const description = await namespaces(scoped);
    assert.match(description, /everything/);
    assert.doesNotMatch(description, /inventory/);
  });

  test("the MCP Inspector commands list the tools and run an execute", async () => {
    const home = mkdtempSync(join(tmpdir(), "mir-inspector-"));
    const [list, call] = commands(example("inspector")).map((command) => command.replaceAll(README_URL, stack.url));
    const run = (command) =>
      promisify(execFile)("bash", ["-c", command], { cwd: ROOT, env: { ...process.env, HOME: home } });
    const listed = JSON.parse((await run(list)).stdout);
    assert.deepEqual(listed.tools.map((t) => t.name), ["search", "execute"]);
    const called = JSON.parse((await run(call)).stdout);
    assert.equal(called.isError, false);
    assert.equal(called.structuredContent.result, "The sum of 2 and 40 is 42.");
  });

  test("the runtime upstream examples add and remove an upstream", async () => {
    const [put, remove] = commands(example("add-upstream")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
    const run = async (command) => JSON.parse((await promisify(execFile)("bash", ["-c", command], {
      env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
    })).stdout);
    assert.deepEqual(await run(put), { saved: "docs" });
    const { text } = await adminRequest(stack.base, "readme-admin-token", "/admin/upstreams");
    assert.ok(JSON.parse(text).upstreams.some((u) => u.name === "docs"));
    assert.deepEqual(await run(remove), { removed: "docs" });
  });

  test("the people examples show and revoke a person", async () => {
    const [show, revoke] = commands(example("people")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
    const run = async (command) => JSON.parse((await promisify(execFile)("bash", ["-c", command], {
      env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
    })).stdout);
    const shown = await run(show);
    assert.equal(shown.person, "key:alice");
    assert.equal(shown.grant, "everything");
    assert.deepEqual(shown.sessions, []);
    assert.deepEqual(shown.connections, []);
    assert.deepEqual(await run(revoke), { oauthGrants: 0, sessions: 0, connections: 0 });
  });

  test("the shared-account examples give the operator a sign-in link and disconnect it", async () => {
    const processes = [];
    const notes = await startOAuthNotes(mkdtempSync(join(tmpdir(), "mir-readme-")), processes);
    try {
      const upstream = { name: "team_notes", url: notes.url, auth: { type: "oauth", per: "shared" } };
      const put = await adminRequest(stack.base, "readme-admin-token", "/admin/upstreams/team_notes", { method: "PUT", body: JSON.stringify(upstream) });
      assert.equal(put.status, 200, put.text);
      const [connect, disconnect] = commands(example("connect-shared")).map((c) => c.replaceAll("http://127.0.0.1:8787", stack.base));
      const run = async (command) => JSON.parse((await promisify(execFile)("bash", ["-c", command], {
        env: { ...process.env, ADMIN_TOKEN: "readme-admin-token" },
      })).stdout);
      const { signIn } = await run(connect);
      assert.ok(signIn.startsWith(`${stack.base}/oauth/connect/`), signIn);
      assert.match(await (await fetch(signIn)).text(), /Connect team_notes/);
      assert.deepEqual(await run(disconnect), { disconnected: false });
      await adminRequest(stack.base, "readme-admin-token", "/admin/upstreams/team_notes", { method: "DELETE" });
    } finally {
      processes.forEach(stop);
    }
  });

  test("the Cursor configuration is valid JSON pointing at the MCP URL", () => {
    const config = JSON.parse(example("cursor"));
    assert.deepEqual(config, { mcpServers: { "isolate-runner": { url: README_URL } } });
  });

  test("the Claude Code commands add the MCP URL over HTTP, with or without an access key", () => {
    // The claude CLI needs an account, so only the commands' shape is checked here; the header
    // form is what auth.test.mjs and people.test.mjs send.
    assert.deepEqual(commands(example("claude-code")), [
      `claude mcp add --transport http isolate-runner ${README_URL}`,
      `claude mcp add --transport http isolate-runner ${README_URL} --header "Authorization: Bearer $RUNNER_KEY"`,
    ]);
  });
});
