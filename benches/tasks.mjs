// Task token cost: seven scripted multi-step tasks, each done twice against the same real
// upstreams by a scripted agent: traditionally (the agent holds every upstream tool's
// definition and reads every call's result) and in code mode (the runner's two tools, one
// `search`, one `execute`, the final result). Both ways must reach the same answer. Writes the
// transcripts (what entered the agent's context) to benches/results/task_transcripts.json;
// `cargo bench --bench tokens` counts their tokens. The last two read fields of results from the
// tracker's tools, which declare no outputSchema: their programs use the result types the
// runner learned from earlier calls (made once before the tasks, as an agent's earlier work
// would have), which `search` declares.
//
// Usage: node benches/tasks.mjs   (make bench)

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { connectTypeScript } from "../tests/support/mcp.mjs";
import { ROOT, startStack } from "../tests/support/stack.mjs";

const round = (n) => Math.round(n * 100) / 100;

/**
 * Each task: the code-mode search queries and program, and the traditional agent's steps
 * (`call(upstream, tool, args)` returns the tool's structured value). Both return the answer.
 */
const TASKS = [
  {
    name: "filter 100 orders by status and summarise",
    searches: ["orders"],
    code: `const page = await orders.list_orders({ page_size: 100 });
const open = page.orders.filter((o) => o.status === "open");
return { open: open.length, amount: Math.round(open.reduce((s, o) => s + o.amount, 0) * 100) / 100 };`,
    async traditional(call) {
      const page = await call("orders", "list_orders", { page_size: 100 });
      const open = page.orders.filter((o) => o.status === "open");
      return { open: open.length, amount: round(open.reduce((s, o) => s + o.amount, 0)) };
    },
  },
  {
    name: "fan out 20 lookups, then aggregate",
    searches: ["orders.get_order"],
    code: `const ids = Array.from({ length: 20 }, (_, i) => "o-" + String(i + 1).padStart(3, "0"));
const found = await Promise.all(ids.map((id) => orders.get_order({ id })));
return { orders: found.length, amount: Math.round(found.reduce((s, o) => s + o.amount, 0) * 100) / 100 };`,
    async traditional(call) {
      const found = [];
      for (let i = 1; i <= 20; i += 1) {
        found.push(await call("orders", "get_order", { id: `o-${String(i).padStart(3, "0")}` }));
      }
      return { orders: found.length, amount: round(found.reduce((s, o) => s + o.amount, 0)) };
    },
  },
  {
    name: "a conditional chain",
    searches: ["orders", "inventory.create_order"],
    code: `for (const id of ["o-001", "o-002", "o-003", "o-004", "o-005", "o-006"]) {
  const order = await orders.get_order({ id });
  if (order.status !== "open") continue;
  const customer = await orders.get_customer({ id: order.customer });
  if (customer.tier !== "gold") continue;
  const placed = await inventory.create_order({ order: { customer: customer.name, lines: [{ sku: order.sku, quantity: order.quantity }] } });
  return { order: id, customer: customer.name, total: placed.total };
}
return null;`,
    async traditional(call) {
      for (const id of ["o-001", "o-002", "o-003", "o-004", "o-005", "o-006"]) {
        const order = await call("orders", "get_order", { id });
        if (order.status !== "open") continue;
        const customer = await call("orders", "get_customer", { id: order.customer });
        if (customer.tier !== "gold") continue;
        const placed = await call("inventory", "create_order", {
          order: { customer: customer.name, lines: [{ sku: order.sku, quantity: order.quantity }] },
        });
        return { order: id, customer: customer.name, total: placed.total };
      }
      return null;
    },
  },
  {
    name: "paginate to the end",
    searches: ["orders.list_orders"],
    code: `let cursor: string | undefined;
let count = 0;
let amount = 0;
do {
  const page = await orders.list_orders({ page_size: 50, cursor });
  count += page.orders.length;
  amount += page.orders.reduce((s, o) => s + o.amount, 0);
  cursor = page.next_cursor ?? undefined;
} while (cursor);
return { count, amount: Math.round(amount * 100) / 100 };`,
    async traditional(call) {
      let cursor;
      let count = 0;
      let amount = 0;
      do {
        const page = await call("orders", "list_orders", { page_size: 50, ...(cursor ? { cursor } : {}) });
        count += page.orders.length;
        amount += page.orders.reduce((s, o) => s + o.amount, 0);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return { count, amount: round(amount) };
    },
  },
  {
    name: "join results from two upstreams",
    searches: ["orders.list_orders", "inventory.search_products"],
    code: `const [page, catalogue] = await Promise.all([
  orders.list_orders({ page_size: 100 }),
  inventory.search_products({ filter: {}, limit: 100 }),
]);
const category = new Map(catalogue.items.map((p) => [p.sku, p.category]));
const revenue: Record<string, number> = {};
for (const o of page.orders) {
  if (o.status === "cancelled") continue;
  const c = category.get(o.sku) ?? "unknown";
  revenue[c] = Math.round(((revenue[c] ?? 0) + o.amount) * 100) / 100;
}
return revenue;`,
    async traditional(call) {
      const page = await call("orders", "list_orders", { page_size: 100 });
      const catalogue = await call("inventory", "search_products", { filter: {}, limit: 100 });
      const category = new Map(catalogue.items.map((p) => [p.sku, p.category]));
      const revenue = {};
      for (const o of page.orders) {
        if (o.status === "cancelled") continue;
        const c = category.get(o.sku) ?? "unknown";
        revenue[c] = round((revenue[c] ?? 0) + o.amount);
      }
      return revenue;
    },
  },
  {
    name: "triage open crash reports by assignee",
    searches: ["tracker.search_issues"],
    code: `const found = await tracker.search_issues({ query: "crash", state: "open" });
const byAssignee: Record<string, number[]> = {};
for (const issue of found.items) {
  const who = issue.assignee?.login ?? "unassigned";
  (byAssignee[who] ??= []).push(issue.number);
}
return { total: found.total_count, byAssignee };`,
    async traditional(call) {
      const found = await call("tracker", "search_issues", { query: "crash", state: "open" });
      const byAssignee = {};
      for (const issue of found.items) {
        const who = issue.assignee?.login ?? "unassigned";
        (byAssignee[who] ??= []).push(issue.number);
      }
      return { total: found.total_count, byAssignee };
    },
  },
  {
    name: "who commented on the busiest bugs",
    searches: ["tracker.search_issues", "tracker.list_comments"],
    code: `const bugs = await tracker.search_issues({ query: "bug", limit: 50 });
const busiest = bugs.items.filter((i) => i.comments >= 3).map((i) => i.number);
const threads = await Promise.all(busiest.map((number) => tracker.list_comments({ number })));
const people = new Set(threads.flat().map((c) => c.user.login));
return { issues: busiest, commenters: [...people].sort() };`,
    async traditional(call) {
      const bugs = await call("tracker", "search_issues", { query: "bug", limit: 50 });
      const busiest = bugs.items.filter((i) => i.comments >= 3).map((i) => i.number);
      const threads = [];
      for (const number of busiest) {
        threads.push(await call("tracker", "list_comments", { number }));
      }
      const people = new Set(threads.flat().map((c) => c.user.login));
      return { issues: busiest, commenters: [...people].sort() };
    },
  },
];

/** The tracker's tools, called once so the runner has learned their result types. */
const WARM_UP = `await tracker.search_issues({ query: "editor" });
await tracker.list_comments({ number: 105 });
return null;`;

/** What a tool call puts in an agent's context: the call and the result's content. */
const turn = (call, result) => ({ call, result: { content: result.content, isError: result.isError } });

const stack = await startStack({
  pythonUpstreams: [
    { name: "orders", script: "benches/upstreams/orders_server.py" },
    { name: "tracker", script: "tests/upstreams/tracker_server.py" },
  ],
});
try {
  const direct = {};
  for (const { name, url } of stack.upstreams) {
    direct[name] = new Client({ name: "bench-traditional", version: "1.0.0" });
    await direct[name].connect(new StreamableHTTPClientTransport(new URL(url)));
  }
  const definitions = { tools: [] };
  for (const client of Object.values(direct)) {
    definitions.tools.push(...(await client.listTools()).tools);
  }
  const runner = await connectTypeScript(stack.url);
  const surface = await runner.listTools();
  const warmed = await runner.callTool({ name: "execute", arguments: { code: WARM_UP } });
  assert.ok(!warmed.isError, JSON.stringify(warmed));

  const tasks = [];
  for (const task of TASKS) {
    const traditional = [];
    const call = async (upstream, name, args) => {
      const result = await direct[upstream].callTool({ name, arguments: args });
      assert.ok(!result.isError, JSON.stringify(result));
      traditional.push(turn({ name, arguments: args }, result));
      return result.structuredContent ?? JSON.parse(result.content[0].text);
    };
    const expected = await task.traditional(call);

    const codemode = [];
    for (const query of task.searches) {
      const args = { query };
      const found = await runner.callTool({ name: "search", arguments: args });
      assert.doesNotMatch(found.content[0].text, /Promise<unknown>/, `${query}: a learned or declared result type`);
      codemode.push(turn({ name: "search", arguments: args }, found));
    }
    const args = { code: task.code };
    const executed = await runner.callTool({ name: "execute", arguments: args });
    assert.ok(!executed.isError, JSON.stringify(executed));
    assert.deepEqual(executed.structuredContent.result, expected, task.name);
    codemode.push(turn({ name: "execute", arguments: args }, executed));

    tasks.push({
      name: task.name,
      answer: expected,
      traditional: { definitions, turns: traditional },
      codemode: { definitions: surface, turns: codemode },
    });
    console.log(`${task.name}: ${traditional.length} direct calls, ${codemode.length} code-mode calls`);
  }
  await runner.close();
  for (const client of Object.values(direct)) {
    await client.close();
  }
  const out = join(ROOT, "benches/results/task_transcripts.json");
  mkdirSync(join(ROOT, "benches/results"), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ upstreams: stack.upstreams.map((u) => u.name), tasks }, null, 1)}\n`);
  console.log(`written to ${out}`);
} finally {
  stack.stop();
}
