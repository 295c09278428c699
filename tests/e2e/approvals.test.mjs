// A person in the loop, against a real `wrangler dev`: the operator's policy makes some tools
// wait for approval (by annotation in ACCESS, by name in an upstream's `tools`) and hides
// others; the MCP TypeScript SDK 1.x, with an elicitation handler, approves once, for the
// session, declines and lets a question time out; a client without elicitation is told why.
// The inventory upstream numbers its orders, so the calls it received are counted there.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import { auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { ROOT, startStack } from "../support/stack.mjs";

const ADMIN_TOKEN = "e2e-approvals-operator-6b1d";
/** Room for a hundred calls in one execute on a slow machine (fresh-clone CIs took 3 and 6 s). */
const TIMEOUT_MS = 15_000;
/** Past what the slow person below takes (TIMEOUT_MS + 500), so only timeoutMs could stop them. */
const APPROVAL_TIMEOUT_MS = 16_000;

/** A TypeScript SDK 1.x client that answers elicitations with `answer(request)`; `asked` collects the questions. */
async function connectAsking(url, answer) {
  const client = new Client({ name: "e2e-approver", version: "1.0.0" }, { capabilities: { elicitation: {} } });
  const asked = [];
  client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
    asked.push(request.params);
    return answer(request.params, extra);
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { client, asked };
}

const approve = (decision) => () => ({ action: "accept", content: { decision } });

/** A program that orders one unit of TL-001 `times` times and returns the last order's id, or the error's name. */
const ordering = (times) => `
let last = "";
try {
  for (let i = 0; i < ${times}; i++) {
    last = (await inventory.create_order({
      order: { customer: { name: "Ada", email: "ada@example.com" }, lines: [{ sku: "TL-001", quantity: 1 }] },
    })).order_id;
  }
} catch (e) {
  return { error: (e as Error).name, message: (e as Error).message };
}
return last;`;

describe("approvals", () => {
  let stack;
  /** How many orders the upstream has made so far: the number of the next one, less one. */
  let ordersBefore = 0;
  before(async () => {
    stack = await startStack({
      secrets: { ADMIN_TOKEN },
      vars: {
        ACCESS: JSON.stringify({ approve: ["@destructive"] }),
        LIMITS: JSON.stringify({ timeoutMs: TIMEOUT_MS, approvalTimeoutMs: APPROVAL_TIMEOUT_MS }),
      },
      overrides: {
        everything: { tools: { deny: ["get-env"], approve: ["get-sum"] } },
        inventory: { tools: { approve: ["fail_always"] } },
      },
    });
  });
  after(() => stack?.stop());

  /** The id number of the order `result` names. */
  const orderNumber = (result) => Number(String(result).replace("ord-", ""));

  test("declarations mark the tools that wait for approval and leave out the blocked ones", async () => {
    const client = await connectTypeScript(stack.url);
    try {
      const found = (await client.callTool({ name: "search", arguments: { query: "sum env order" } })).content[0].text;
      assert.match(found, /@remarks Each call waits for a person to approve it[^]*function get_sum/);
      assert.match(found, /@remarks Each call waits for a person to approve it[^]*function create_order/);
      assert.doesNotMatch(found, /get_env/);
      const echo = found.match(/(\/\*\*(?:(?!\*\/)[^])*\*\/)\s*function echo/);
      assert.ok(!echo || !/approve/.test(echo[1]), "a tool no rule names does not wait");
      const tried = await execute(client, `
const env = (everything as any).get_env;
return [typeof env, typeof (everything as any)["get-env"]];`);
      assert.deepEqual(tried.result, ["undefined", "undefined"]);
    } finally {
      await client.close();
    }
  });

  test("approved once, the call is made; the audit says who approved it and how", async () => {
    const { client, asked } = await connectAsking(stack.url, approve("once"));
    try {
      const code = `return await everything.get_sum({ a: 2, b: 3 });`;
      const report = await execute(client, code);
      assert.equal(report.result, "The sum of 2 and 3 is 5.", JSON.stringify(report));
      assert.equal(asked.length, 1);
      assert.match(asked[0].message, /everything\.get_sum[^]*a: 2[^]*b: 3/);
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.equal(entry.calls[0].approval.way, "elicitation");
      assert.ok(entry.calls[0].approval.atMs > 0);
      assert.doesNotMatch(JSON.stringify(entry), /"a":\s*2/, "argument values are not audited");
    } finally {
      await client.close();
    }
  });

  test("a program cannot disguise the call a person is asked to approve", async () => {
    const { client, asked } = await connectAsking(stack.url, () => ({ action: "decline" }));
    try {
      // A value forging a line of the question and reversed on screen by a bidirectional
      // override, then 40 more arguments to push whatever follows out of sight.
      const pads = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`pad${i}`, "y".repeat(200)]));
      const call = JSON.stringify({ reason: 'a dry run\n  mode: "read-only"\u202e', ...pads }).replace("\u202e", "\\u202e");
      const report = await execute(client, `try { await inventory.fail_always(${call} as any); } catch (e) { return (e as Error).name; }`);
      assert.equal(report.result, "ApprovalDeclined", JSON.stringify(report));
      const { message } = asked[0];
      assert.ok(!message.includes("\u202e"), "no character reorders the question");
      const lines = message.split("\n");
      assert.equal(lines[1], String.raw`  reason: "a dry run\n  mode: \"read-only\"\u202e"`);
      assert.match(lines[2], /^ {2}pad0: "y{31}"… \[200 chars, cut\]$/);
      assert.equal(lines.at(-2), "  … and 9 more arguments, not shown (41 in all)");
      assert.equal(lines.length, 1 + 32 + 1 + 1, message);
    } finally {
      await client.close();
    }
  });

  test("approved for the session, a hundred calls ask once, and the next execute not at all", async () => {
    const { client, asked } = await connectAsking(stack.url, approve("session"));
    try {
      const first = await execute(client, ordering(1));
      ordersBefore = orderNumber(first.result) - 1;
      const hundred = await execute(client, ordering(100));
      assert.equal(orderNumber(hundred.result), ordersBefore + 101, JSON.stringify(hundred));
      assert.equal(asked.length, 1, "asked once, for the first call");
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, ordering(100));
      assert.ok(entry.calls.every((call) => call.approval?.way === "session"), "each call rides the standing approval");
    } finally {
      await client.close();
    }
  });

  test("a declined call throws ApprovalDeclined and never reaches the upstream", async () => {
    const { client, asked } = await connectAsking(stack.url, () => ({ action: "decline" }));
    const counting = await connectAsking(stack.url, approve("once"));
    try {
      const declined = await execute(client, ordering(1));
      assert.equal(declined.result.error, "ApprovalDeclined", JSON.stringify(declined));
      assert.match(declined.result.message, /declined/);
      assert.equal(asked.length, 1);
      const before = orderNumber((await execute(counting.client, ordering(1))).result);
      await execute(client, ordering(1));
      const afterwards = orderNumber((await execute(counting.client, ordering(1))).result);
      assert.equal(afterwards, before + 1, "the declined order was never made");
    } finally {
      await client.close();
      await counting.client.close();
    }
  });

  test("an unanswered question is declined at approvalTimeoutMs, and the client is told to drop it", async () => {
    let withdrawn;
    const answered = Promise.withResolvers();
    const { client, asked } = await connectAsking(stack.url, async (_, extra) => {
      await sleep(APPROVAL_TIMEOUT_MS + 1_000);
      withdrawn = extra.signal.aborted;
      answered.resolve();
      return { action: "accept", content: { decision: "once" } };
    });
    try {
      const started = Date.now();
      const report = await execute(client, ordering(1));
      assert.equal(report.result.error, "ApprovalDeclined", JSON.stringify(report));
      assert.match(report.result.message, /no one answered within 16 s/);
      assert.ok(Date.now() - started >= APPROVAL_TIMEOUT_MS);
      assert.equal(asked.length, 1);
      await answered.promise;
      assert.equal(withdrawn, true, "the runner sent notifications/cancelled for its question");
    } finally {
      await client.close();
    }
  });

  test("a person's time to answer does not count toward timeoutMs", async () => {
    const { client } = await connectAsking(stack.url, async () => {
      await sleep(TIMEOUT_MS + 500);
      return { action: "accept", content: { decision: "once" } };
    });
    try {
      const report = await execute(client, `return await everything.get_sum({ a: 20, b: 22 });`);
      assert.equal(report.result, "The sum of 20 and 22 is 42.", JSON.stringify(report));
    } finally {
      await client.close();
    }
  });

  test("a client without elicitation gets ApprovalRequired, saying why", async () => {
    const client = await connectTypeScript(stack.url);
    try {
      const report = await execute(client, ordering(1));
      assert.equal(report.result.error, "ApprovalRequired", JSON.stringify(report));
      assert.match(report.result.message, /this client did not say it takes elicitation\/create/);
    } finally {
      await client.close();
    }
  });

  /** Runs `code` with the Python mcp 2.x client on 2026-07-28, answering every question with `answer`. */
  async function runPython2(code, answer) {
    const python = join(process.env.MIR_VENV_MCP2, "bin/python");
    const script = join(ROOT, "tests/support/py_approver.py");
    const { stdout } = await promisify(execFile)(python, [script, "--url", stack.url, "--code", code, "--answer", answer]);
    return JSON.parse(stdout);
  }

  test("the Python mcp 2.x client on 2026-07-28 is asked with input_required, and the resumed program makes no call twice", async () => {
    const counting = await connectAsking(stack.url, approve("once"));
    try {
      const before = orderNumber((await execute(counting.client, ordering(1))).result);
      const code = `
const first = await everything.get_sum({ a: 1, b: 1 });
const orders = [];
for (let i = 0; i < 2; i++) {
  orders.push((await inventory.create_order({
    order: { customer: { name: "Py", email: "py@example.com" }, lines: [{ sku: "TL-001", quantity: 1 }] },
  })).order_id);
}
return { first, orders };`;
      const { result, asked } = await runPython2(code, "accept");
      assert.equal(asked.length, 3, `one question for get_sum and one for each order: ${JSON.stringify(asked)}`);
      const report = result.structuredContent;
      assert.equal(result.isError, false, JSON.stringify(result));
      assert.deepEqual(report.result.orders.map(orderNumber), [before + 1, before + 2], "each order made once");
      assert.ok(report.calls.some((call) => call.replayed), "earlier calls were answered from the record");
      const afterwards = orderNumber((await execute(counting.client, ordering(1))).result);
      assert.equal(afterwards, before + 3, "the upstream made exactly two orders for the program");
    } finally {
      await counting.client.close();
    }
  });

  test("the Python mcp 2.x client's decline makes the call throw ApprovalDeclined", async () => {
    const { result, asked } = await runPython2(ordering(1), "decline");
    assert.equal(asked.length, 1);
    assert.equal(result.structuredContent.result.error, "ApprovalDeclined", JSON.stringify(result));
  });
});
