// The acceptance scenario, run by two real MCP clients (the TypeScript SDK and the Python SDK)
// against a real `wrangler dev` with real upstreams (server-everything, and the Python inventory
// server both stateful with SSE answers and stateless with JSON answers). Every step is checked the same way for both clients.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { connectTypeScript, runPython } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const run = (code) => ({ tool: "execute", arguments: { code } });

const TS_RUNTIME_ERROR = `type Reading = { value: number; unit: "mm" | "cm" };
const readings: Reading[] = [{ value: 3, unit: "mm" }];
const total: number = readings.reduce((sum: number, r: Reading): number => sum + r.value, 0); if (total > 2) throw new RangeError(\`too big: \${total}\`);
return total;`;

/** Each step: a tools/call and what its result must be. */
const SCENARIO = [
  {
    name: "search returns the TypeScript declaration of the matching tool",
    call: { tool: "search", arguments: { query: "sum two numbers" } },
    check(result) {
      const text = result.content[0].text;
      assert.match(text, /declare namespace everything \{/);
      // `unknown` until a client's program has called it; then the string its results were.
      assert.match(text, /function get_sum\(args: \{[^}]*\ba: number;[^}]*\bb: number;\n\s*\}\): Promise<(?:unknown|string)>;/);
      assert.match(text, /@mcpTool get-sum/);
    },
  },
  {
    name: "an execute calls two upstream tools in one program",
    call: run(`const [sum, stock] = await Promise.all([
  everything.get_sum({ a: 2, b: 40 }),
  inventory.get_stock({ sku: "TL-001" }),
]);
return { sum, stock };`),
    check(result) {
      assert.equal(result.isError, false);
      const report = result.structuredContent;
      assert.equal(report.result.sum, "The sum of 2 and 40 is 42.");
      assert.deepEqual(report.result.stock, { sku: "TL-001", stock: 25 });
      assert.deepEqual(report.calls.map((c) => c.tool).sort(), ["everything.get_sum", "inventory.get_stock"]);
      assert.ok(report.calls.every((c) => c.ok));
    },
  },
  {
    name: "an upstream that answers plain JSON without a session works the same",
    call: run('return await inventory_json.get_stock({ sku: "KT-001" });'),
    check(result) {
      assert.equal(result.isError, false, JSON.stringify(result.structuredContent));
      assert.equal(result.structuredContent.result.sku, "KT-001");
      assert.equal(typeof result.structuredContent.result.stock, "number");
    },
  },
  {
    name: "an execute with TypeScript annotations runs, with a nested $ref'd argument",
    call: run(`interface Filter { category: "tools" | "garden" | "kitchen"; price?: { min?: number; max?: number } }
const filter: Filter = { category: "garden", price: { max: 40 } };
const page = (await inventory.search_products({ filter, limit: 10 })) as { items: { sku: string }[]; total: number };
console.log(\`found \${page.total}\`);
return page.items.map((item): string => item.sku);`),
    check(result) {
      assert.equal(result.isError, false, JSON.stringify(result.structuredContent));
      const report = result.structuredContent;
      assert.ok(Array.isArray(report.result) && report.result.length > 0);
      assert.ok(report.result.every((sku) => sku.startsWith("GD-")));
      assert.deepEqual(report.logs, [`found ${report.result.length}`]);
    },
  },
  {
    name: "a syntax error comes back with line and column, before any isolate runs",
    call: run("const total = 1;\nconst broken = ;"),
    check(result) {
      assert.equal(result.isError, true);
      const { error, calls } = result.structuredContent;
      assert.deepEqual({ name: error.name, line: error.line, column: error.column }, { name: "SyntaxError", line: 2, column: 16 });
      assert.equal(calls, undefined);
    },
  },
  {
    name: "a program that throws reports the error, its line and the logs before it",
    call: run('console.log("about to fail");\nthrow new Error("deliberate failure");'),
    check(result) {
      assert.equal(result.isError, true);
      const { error, logs } = result.structuredContent;
      assert.deepEqual(error, { name: "Error", message: "deliberate failure", line: 2, column: 7, code: 'throw new Error("deliberate failure");' });
      assert.deepEqual(logs, ["about to fail"]);
    },
  },
  {
    name: "a runtime error in TypeScript points at the original line and column, types included",
    call: run(TS_RUNTIME_ERROR),
    check(result) {
      assert.equal(result.isError, true);
      const { error } = result.structuredContent;
      const column = TS_RUNTIME_ERROR.split("\n")[2].indexOf("new RangeError") + 1;
      const code = TS_RUNTIME_ERROR.split("\n")[2].trim();
      assert.deepEqual(error, { name: "RangeError", message: "too big: 3", line: 3, column, code });
    },
  },
  {
    name: "code the sandbox cannot run is refused with its position before any isolate runs",
    call: run('const code: string = "1 + 1";\nreturn eval(code);'),
    check(result) {
      assert.equal(result.isError, true);
      const { error } = result.structuredContent;
      assert.deepEqual({ name: error.name, line: error.line, column: error.column }, { name: "NotAllowed", line: 2, column: 8 });
      assert.match(error.message, /`eval` is not available/);
    },
  },
  {
    name: "the next execute after a failure succeeds",
    call: run("return 6 * 7;"),
    check(result) {
      assert.equal(result.isError, false);
      assert.equal(result.structuredContent.result, 42);
    },
  },
  {
    name: "arguments that break the tool's input schema are refused with their paths, before the upstream",
    call: run('return await inventory.search_products({ filter: { category: "toys" }, limit: 500 } as any);'),
    check(result) {
      assert.equal(result.isError, true);
      const { error, calls } = result.structuredContent;
      assert.equal(error.name, "InvalidArguments");
      assert.match(error.message, /^inventory\.search_products: the arguments do not match the tool's input schema: /);
      // category is `anyOf [Category, null]` (pydantic's Optional): each allowed form is spelled out.
      assert.match(error.message, /at \/filter\/category: "toys" matches none of the allowed forms: \(1\) "toys" is not one of "tools", "garden" or "kitchen" \(2\) "toys" is not of type "null"/);
      assert.match(error.message, /at \/limit: 500 is greater than the maximum of 100/);
      assert.deepEqual(calls.map((c) => c.ok), [false]);
    },
  },
  {
    name: "a tool that returns isError surfaces as a thrown error carrying the upstream's message",
    call: run('return await inventory.get_stock({ sku: "ZZ-999" });'),
    check(result) {
      assert.equal(result.isError, true);
      const { error, calls } = result.structuredContent;
      assert.equal(error.name, "UpstreamToolError");
      assert.match(error.message, /unknown SKU: ZZ-999/);
      assert.equal(error.line, 1);
      assert.deepEqual(calls.map((c) => c.ok), [false]);
    },
  },
];

function checkToolList(tools) {
  assert.deepEqual(tools.map((t) => t.name), ["search", "execute"]);
  const execute = tools.find((t) => t.name === "execute");
  assert.match(execute.description, /- everything \(\d+ functions\)/);
  assert.match(execute.description, /- inventory \(4 functions\)/);
  assert.match(execute.description, /- inventory_json \(4 functions\)/);
  assert.deepEqual(execute.inputSchema.required, ["code"]);
  const search = tools.find((t) => t.name === "search");
  assert.equal(search.inputSchema.properties.query.maxLength, 1000, "a query's length is bounded, and said");
}

describe("MCP clients against the runner", () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.stop());

  test("TypeScript SDK client", async (t) => {
    const client = await connectTypeScript(stack.url);
    try {
      assert.equal(client.getServerVersion().name, "mcp-isolate-runner");
      checkToolList((await client.listTools()).tools);
      for (const step of SCENARIO) {
        await t.test(step.name, async () => {
          step.check(await client.callTool({ name: step.call.tool, arguments: step.call.arguments }));
        });
      }
    } finally {
      await client.close();
    }
  });

  test("Python SDK client", async (t) => {
    const output = await runPython(stack.url, SCENARIO.map((s) => s.call));
    assert.equal(output.serverInfo.name, "mcp-isolate-runner");
    assert.equal(output.protocolVersion, "2025-11-25");
    checkToolList(output.tools);
    for (const [index, step] of SCENARIO.entries()) {
      await t.test(step.name, () => step.check(output.results[index]));
    }
  });
});
