// An upstream's own questions during a call, against a real `wrangler dev` and the real
// server-everything: its tools that elicit and sample work through `execute` for a client that
// answers (the MCP TypeScript SDK 1.x with handlers), and fail clearly for one that cannot.
// The person's time to answer does not count against the upstream's `timeoutMs`. The audit
// entry records each question, without its words.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const ADMIN_TOKEN = "e2e-questions-operator-2f8a";

/** A value for each property of an elicitation's `requestedSchema`, of the type it asks for. */
function fill(schema) {
  const values = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const choices = property.enum ?? property.oneOf?.map((choice) => choice.const) ?? property.items?.enum;
    if (property.type === "array") {
      values[name] = choices ? [choices[0]] : [];
    } else if (choices) {
      values[name] = choices[0];
    } else if (property.type === "boolean") {
      values[name] = true;
    } else if (property.type === "number" || property.type === "integer") {
      values[name] = property.minimum ?? 1;
    } else if (property.format === "email") {
      values[name] = "ada@example.com";
    } else if (property.format === "date") {
      values[name] = "2026-11-30";
    } else {
      values[name] = "from the person";
    }
  }
  return values;
}

/** A TypeScript SDK 1.x client that answers elicitations and sampling; `asked` collects what it was asked. */
async function connectAnswering(url) {
  const client = new Client(
    { name: "e2e-answering", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  const asked = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push({ method: "elicitation/create", params: request.params });
    // The person takes longer than the upstream's timeoutMs to answer.
    await sleep(3_000);
    return { action: "accept", content: fill(request.params.requestedSchema) };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push({ method: "sampling/createMessage", params: request.params });
    const prompt = request.params.messages.map((m) => m.content.text).join(" ");
    return { model: "e2e-model", role: "assistant", content: { type: "text", text: `sampled: ${prompt}` } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { client, asked };
}

describe("upstreams' own questions", () => {
  let stack;
  before(async () => {
    // A short timeout for everything's calls, which a person's time to answer must not count against.
    stack = await startStack({ secrets: { ADMIN_TOKEN }, overrides: { everything: { timeoutMs: 2_000 } } });
  });
  after(() => stack?.stop());

  test("the tools that elicit and sample work through execute for a client that answers", async () => {
    const { client, asked } = await connectAnswering(stack.url);
    try {
      const code = `
const elicited = await everything.trigger_elicitation_request({});
const sampled = await everything.trigger_sampling_request({ prompt: "hello from the program" });
return { elicited, sampled, roots: typeof (everything as any).get_roots_list };`;
      const report = await execute(client, code);
      assert.equal(report.isError, false, JSON.stringify(report));
      assert.match(JSON.stringify(report.result.elicited), /from the person|accept/i, JSON.stringify(report.result));
      assert.match(JSON.stringify(report.result.sampled), /sampled: [^"]*hello from the program/);
      assert.equal(report.result.roots, "undefined", "roots are not offered: servers ask for them outside any call");
      assert.deepEqual(asked.map((a) => a.method), ["elicitation/create", "sampling/createMessage"]);
      assert.match(asked[0].params.message, /^The upstream everything asks: [^]*\n\(Asked by the upstream everything\.\)$/, "the person is told who asks, first and last");
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.deepEqual(entry.questions, [
        { upstream: "everything", method: "elicitation/create", answered: true },
        { upstream: "everything", method: "sampling/createMessage", answered: true },
      ]);
      assert.doesNotMatch(JSON.stringify(entry), /hello from the program/, "no words in the audit");
    } finally {
      await client.close();
    }
  });

  test("a client that cannot answer gets a clear failure, and the upstream an error saying why", async () => {
    const client = await connectTypeScript(stack.url);
    try {
      const code = `
try {
  return { answered: await everything.trigger_sampling_request({ prompt: "anyone?" }) };
} catch (e) {
  return { name: (e as Error).name, message: (e as Error).message };
}`;
      const report = await execute(client, code);
      const text = JSON.stringify(report.result);
      assert.match(text, /sampling\/createMessage cannot be answered: this client did not say it takes sampling\/createMessage/, text);
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.deepEqual(entry.questions, [{ upstream: "everything", method: "sampling/createMessage", answered: false }]);
    } finally {
      await client.close();
    }
  });
});
