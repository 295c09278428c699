// What the model reads, against a real `wrangler dev`. Learned result types, with real upstreams whose tools declare no
// outputSchema: the tracker (a Python `mcp` SDK server answering JSON text, like server-github)
// and server-everything's `get-env`. Before any call a function returns `unknown`; after one,
// `search` declares the shape of what it returned, marked as observed, and a program reading a
// field of it compiles with `tsc --strict` against the declarations `search` gave, and one
// reading a field no result had does not. Errors that point to the fix: a misspelt function is
// refused naming the real one, invalid arguments come back with the declared ones, a runtime
// error quotes its line.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, execute } from "../support/mcp.mjs";
import { ROOT, startStack } from "../support/stack.mjs";

/** The declarations `search` answers for `query`. */
async function declarations(client, query) {
  const found = await client.callTool({ name: "search", arguments: { query } });
  return found.content[0].text;
}

/** The declaration of `name` in `text`, with its JSDoc. */
function declarationOf(text, name) {
  const match = text.match(new RegExp(`(/\\*\\*(?:(?!\\*/)[^])*\\*/)\\s*function ${name}\\([^]*?\\): Promise<([^]*?)>;\\n`));
  assert.ok(match, `no declaration of ${name} in:\n${text}`);
  return { doc: match[1], returns: match[2] };
}

/** Compiles `usage` with `tsc --strict` against `declared`; the compiler's output on failure. */
async function compiles(declared, usage) {
  const dir = mkdtempSync(join(tmpdir(), "mir-learned-"));
  writeFileSync(join(dir, "declarations.d.ts"), declared);
  writeFileSync(join(dir, "usage.ts"), usage);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "es2022", lib: ["es2022"], types: [] },
    include: ["declarations.d.ts", "usage.ts"],
  }));
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  return promisify(execFile)(tsc, ["-p", dir]).then(() => "", (e) => `${e.stdout}${e.stderr}`);
}

describe("learned result types", () => {
  let stack;
  let client;
  before(async () => {
    stack = await startStack({ pythonUpstreams: [{ name: "tracker", script: "tests/upstreams/tracker_server.py" }] });
    client = await connectTypeScript(stack.url);
  });
  after(async () => {
    await client?.close();
    stack?.stop();
  });

  test("after one call, a tool without outputSchema returns the shape it was seen to return", async () => {
    const before = declarationOf(await declarations(client, "search issues"), "search_issues");
    assert.equal(before.returns, "unknown");
    const usage = `export async function firstTitle(): Promise<string | undefined> {
  const found = await tracker.search_issues({ query: "crash" });
  const login: string | undefined = found.items[0]?.assignee?.login;
  return found.total_count > 0 ? found.items[0].title + (login ?? "") : undefined;
}
`;
    assert.match(await compiles(await declarations(client, "search issues"), usage), /error TS/, "unknown has no fields yet");

    const ran = await execute(client, `return (await tracker.search_issues({ query: "crash" })).items.map((i: any) => i.number);`);
    assert.deepEqual(ran.result, [101, 103], JSON.stringify(ran));
    const after = declarationOf(await declarations(client, "search issues"), "search_issues");
    assert.match(after.doc, /@returns The upstream declares no result type: this is the shape of the one result the runner has seen \(the last on \d{4}-\d{2}-\d{2}\)/);
    assert.match(after.returns, /total_count: number;/);
    assert.match(after.returns, /title: string;/);
    assert.match(after.returns, /assignee: \{\n\s+login: string;\n\s+\}/);
    assert.doesNotMatch(after.returns, /Crash|ada|grace/, "no value is kept");

    assert.equal(await compiles(await declarations(client, "search issues"), usage), "");
    const wrong = `export async function f() { return (await tracker.search_issues({ query: "x" })).items[0].priority; }\n`;
    assert.match(await compiles(await declarations(client, "search issues"), wrong), /priority/);
  });

  test("more results widen the shape: what some lacked becomes optional, null joins the union", async () => {
    await execute(client, `await tracker.search_issues({ query: "dark" }); return 1;`);
    const { doc, returns } = declarationOf(await declarations(client, "search issues"), "search_issues");
    assert.match(doc, /the 2 results/);
    assert.match(returns, /assignee: \{\n\s+login: string;\n\s+\} \| null;/);
  });

  test("a third-party server's JSON text is learned too, and none of its values", async () => {
    await execute(client, `return Object.keys(await everything.get_env({})).length;`);
    const { returns } = declarationOf(await declarations(client, "get env"), "get_env");
    assert.notEqual(returns, "unknown");
    assert.doesNotMatch(returns, /\/root|127\.0\.0\.1/, "no environment value is kept");
  });

  test("errors point to the fix: the nearest function, the declared arguments, the failing line", async () => {
    const misspelt = await execute(client, `const found = await tracker.search_issue({ query: "crash" });\nreturn found;`);
    assert.equal(misspelt.error?.name, "UnknownFunction", JSON.stringify(misspelt));
    assert.equal(misspelt.error.message, "`tracker.search_issue` is not a function; did you mean `tracker.search_issues`?");
    assert.equal(misspelt.error.line, 1);

    const invalid = await execute(client, `try { await tracker.search_issues({ query: 7 } as any); } catch (e) { return (e as Error).message; }`);
    assert.match(invalid.result, /query/);
    assert.match(invalid.result, /`tracker\.search_issues` takes `\{[^`]*query: string;[^`]*\}`/);

    const thrown = await execute(client, `const a = 1;\nconst issue = await tracker.get_issue({ number: 101 });\nreturn issue.missing.field;`);
    assert.equal(thrown.error?.name, "TypeError", JSON.stringify(thrown));
    assert.equal(thrown.error.line, 3);
    assert.equal(thrown.error.code, "return issue.missing.field;");
  });
});
