#!/usr/bin/env node
// A hostile MCP server: a real one (the MCP TypeScript SDK's McpServer over
// StreamableHTTPServerTransport, stateful sessions, SSE answers) whose tools are built to stall
// or poison a client, to prove that the runner bounds what an upstream sends. Binds 127.0.0.1.
//
//     node tests/upstreams/hostile_server.mjs --port N
//
// Prints exactly one stdout line, "hostile listening on http://127.0.0.1:N/mcp", once listening;
// exits on SIGTERM/SIGINT.
//
// Tools:
//   sized_result {megabytes}  a text result of that many MiB (10 and 60 are what the tests use)
//   sized_list {megabytes}    a JSON text result of that many MiB: an array of small records
//   pick_code {code}          its input schema's `code` is an enum of 50,000 values
//   long_description {}       its description is 2 MiB long
//   deep_schema {node}        its input schema nests 120 levels of objects
//   fanning_schema {x}        its input schema's `x` is an anyOf of two $refs to a definition
//                             that is the same, 30 definitions down: checked naively, any
//                             wrong `x` takes 2^31 steps
//   bad_request {}            answered with HTTP 400 and a JSON-RPC error quoting the
//                             Authorization header the request carried (for redaction)
//   session_id {}             the MCP session id the call arrived in
//   concurrency {key, ms}     holds the call for `ms`; records how many calls with the same `key`
//                             were in flight at once and returns {peak} (the most so far)
//   odd_question {}           asks, during the call, an `elicitation/create` whose params are
//                             an array; returns "answered" or "refused: <code> <message>"
//   echo {text}               {echoed: text}
//
// A session initialized with the header `X-Hostile-Crowd: N` also lists N tools (at most
// 20,736) whose names all map to the JavaScript identifier `x____`: "x" and four of
// - . / space ! @ # ~ % ^ & *. Calling one returns "called <its name>".
// A session initialized with `X-Hostile-Bulk: N` also lists `too_wide` (4,000 parameters, each
// described in 900 characters: about 3.7 MB, and a description of 3,000 characters) and N tools
// `bulky_0`, `bulky_1`, … of 60 such parameters (about 56 KB each), all in one page. Calling
// one returns "called <its name>".
//
// Control API (not MCP): GET /control/peaks -> {key: peak} for every concurrency key.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const ENUM_VALUES = 50_000;
const DESCRIPTION_BYTES = 2 * 1024 * 1024;
const SCHEMA_LEVELS = 120;
const FANNING_LEVELS = 30;

const { values: options } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(options.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: hostile_server.mjs --port N");
  process.exit(2);
}

const codes = Array.from({ length: ENUM_VALUES }, (_, i) => `code_${String(i).padStart(5, "0")}`);
const knownCodes = new Set(codes);

/** A schema of `levels` objects, each holding the next as `child`, a string at the bottom. */
function nestedSchema(levels) {
  let schema = { type: "string", description: "the innermost value" };
  for (let level = 0; level < levels; level += 1) {
    schema = { type: "object", properties: { child: schema }, required: ["child"] };
  }
  return schema;
}

/** `x` checked against an anyOf of two refs to the next definition, `levels` down to a string. */
function fanningSchema(levels) {
  const definitions = { [`d${levels}`]: { type: "string" } };
  for (let level = 0; level < levels; level += 1) {
    const next = { $ref: `#/$defs/d${level + 1}` };
    definitions[`d${level}`] = { anyOf: [next, next] };
  }
  return { type: "object", $defs: definitions, properties: { x: { $ref: "#/$defs/d0" } }, required: ["x"] };
}

/** What tools/list says beyond what zod can: the raw schemas and the long description. */
const RAW_LISTING = {
  pick_code: {
    inputSchema: {
      type: "object",
      properties: { code: { type: "string", enum: codes, description: "One of the known codes" } },
      required: ["code"],
    },
  },
  long_description: { description: `Does nothing, at length. ${"blah ".repeat(DESCRIPTION_BYTES / 5)}` },
  deep_schema: {
    inputSchema: { type: "object", properties: { node: nestedSchema(SCHEMA_LEVELS) }, required: ["node"] },
  },
  fanning_schema: { inputSchema: fanningSchema(FANNING_LEVELS) },
};

const NAME_MARKS = ["-", ".", "/", " ", "!", "@", "#", "~", "%", "^", "&", "*"];

/** `count` tools named "x" and four of NAME_MARKS, in order: "x----", "x.---", … */
function crowdedTools(count) {
  return Array.from({ length: Math.min(count, NAME_MARKS.length ** 4) }, (_, i) => {
    let name = "x";
    for (let rest = i, k = 0; k < 4; k += 1, rest = Math.floor(rest / NAME_MARKS.length)) {
      name += NAME_MARKS[rest % NAME_MARKS.length];
    }
    return { name, description: `Crowded tool number ${i}.`, inputSchema: { type: "object", properties: {} } };
  });
}

/**
 * A tool named `name` taking `count` string parameters, each described in 900 characters;
 * `description` follows the count in its own description.
 */
function wideTool(name, count, description = "") {
  const properties = {};
  for (let i = 0; i < count; i += 1) {
    properties[`p${i}`] = { type: "string", description: `Parameter ${i}. ${"d".repeat(880)}` };
  }
  return { name, description: `A tool of ${count} parameters.${description}`, inputSchema: { type: "object", properties } };
}

/** `too_wide` (its description longer than a declaration quotes) and `count` tools `bulky_<i>`. */
function bulkyTools(count) {
  if (count === 0) {
    return [];
  }
  const tooWide = wideTool("too_wide", 4_000, ` ${"w".repeat(3_000)}`);
  return [tooWide, ...Array.from({ length: count }, (_, i) => wideTool(`bulky_${i}`, 60))];
}

const blobs = new Map();
/** A string of `megabytes` MiB, built once per size. */
function blob(megabytes) {
  if (!blobs.has(megabytes)) {
    blobs.set(megabytes, "x".repeat(megabytes * 1024 * 1024));
  }
  return blobs.get(megabytes);
}

/** A JSON array of records of about `megabytes` MiB. */
function list(megabytes) {
  const records = [];
  let size = 2;
  for (let id = 0; size < megabytes * 1024 * 1024; id += 1) {
    const record = JSON.stringify({ id, name: `record ${id}`, tags: ["alpha", "beta"], score: id % 97 });
    records.push(record);
    size += record.length + 1;
  }
  return `[${records.join(",")}]`;
}

const inFlight = new Map();
const peaks = new Map();
const text = (value) => ({ content: [{ type: "text", text: value }] });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One McpServer per session, as the SDK's stateful examples do, listing `crowd` more tools
 * named alike and `bulk` more wide ones.
 */
function makeServer(crowd, bulk) {
  const server = new McpServer({ name: "hostile", version: "1.0.0" });
  server.registerTool("sized_result", {
    description: "A text result of the given size in MiB.",
    inputSchema: { megabytes: z.number().int().min(1).max(100) },
  }, async ({ megabytes }) => text(blob(megabytes)));
  server.registerTool("sized_list", {
    description: "A JSON array of records, about the given size in MiB.",
    inputSchema: { megabytes: z.number().int().min(1).max(100) },
  }, async ({ megabytes }) => text(list(megabytes)));
  server.registerTool("pick_code", {
    description: "Accepts one of 50,000 codes.",
    inputSchema: { code: z.string() },
  }, async ({ code }) => (knownCodes.has(code)
    ? text(`picked ${code}`)
    : { ...text(`unknown code ${code}`), isError: true }));
  server.registerTool("long_description", { description: "(replaced in the listing)" }, async () => text("done"));
  server.registerTool("deep_schema", {
    description: "Accepts a value nested 120 levels deep.",
    inputSchema: { node: z.any() },
  }, async ({ node }) => {
    let depth = 0;
    for (let at = node; at && typeof at === "object"; at = at.child) {
      depth += 1;
    }
    return text(`depth ${depth}`);
  });
  server.registerTool("fanning_schema", {
    description: "Accepts a string, through a schema whose refs fan out.",
    inputSchema: { x: z.any() },
  }, async ({ x }) => text(`reached with ${JSON.stringify(x)}`));
  server.registerTool("bad_request", { description: "Always refused with HTTP 400." }, async () => text("never reached"));
  server.registerTool("session_id", { description: "The session this call arrived in." }, async (extra) => text(extra.sessionId));
  server.registerTool("concurrency", {
    description: "Holds the call for ms milliseconds; returns the most calls of the same key seen in flight at once.",
    inputSchema: { key: z.string(), ms: z.number().int().min(0).max(10_000) },
  }, async ({ key, ms }) => {
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    peaks.set(key, Math.max(peaks.get(key) ?? 0, inFlight.get(key)));
    await sleep(ms);
    inFlight.set(key, inFlight.get(key) - 1);
    return { content: [{ type: "text", text: JSON.stringify({ peak: peaks.get(key) }) }] };
  });
  server.registerTool("odd_question", {
    description: "Asks the person a question whose params are not an object; returns how it was answered.",
  }, async (extra) => {
    try {
      await extra.sendRequest({ method: "elicitation/create", params: [1] }, z.any());
      return text("answered");
    } catch (error) {
      return text(`refused: ${error.code} ${error.message}`);
    }
  });
  server.registerTool("echo", {
    description: "Echo the text back.",
    inputSchema: { text: z.string() },
  }, async ({ text: value }) => text(JSON.stringify({ echoed: value })));

  // The listing the SDK generates, with the parts zod cannot say put back in raw.
  const generated = server.server._requestHandlers.get("tools/list");
  const added = [...crowdedTools(crowd), ...bulkyTools(bulk)];
  server.server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
    const listing = await generated(request, extra);
    const tools = listing.tools.map((tool) => ({ ...tool, ...RAW_LISTING[tool.name] }));
    return { ...listing, tools: [...tools, ...added] };
  });
  if (added.length > 0) {
    const addedNames = new Set(added.map((tool) => tool.name));
    const call = server.server._requestHandlers.get("tools/call");
    server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => (
      addedNames.has(request.params.name) ? text(`called ${request.params.name}`) : call(request, extra)));
  }
  return server;
}

const transports = new Map();

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString("utf8");
  return body ? JSON.parse(body) : undefined;
}

function reply(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

async function handleMcp(req, res) {
  const sessionId = req.headers["mcp-session-id"];
  const body = req.method === "POST" ? await readJson(req) : undefined;
  if (body?.method === "tools/call" && body.params?.name === "bad_request") {
    // The upstream's own refusal of this request; the session stays valid.
    const credential = req.headers.authorization ?? "none";
    reply(res, 400, {
      jsonrpc: "2.0",
      id: body.id,
      error: { code: -32602, message: `order 7 is locked by another user (request carried ${credential})` },
    });
    return;
  }
  let transport = sessionId && transports.get(sessionId);
  if (!transport) {
    if (sessionId || body?.method !== "initialize") {
      reply(res, sessionId ? 404 : 400, { jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request: No valid session ID provided" } });
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
    const count = (header) => Number(req.headers[header] ?? 0);
    await makeServer(count("x-hostile-crowd"), count("x-hostile-bulk")).connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, `http://${req.headers.host}`);
  const route = pathname === "/mcp" ? handleMcp(req, res)
    : pathname === "/control/peaks" ? Promise.resolve(reply(res, 200, Object.fromEntries(peaks)))
    : Promise.resolve(reply(res, 404, { error: "not found" }));
  route.catch((error) => {
    if (!res.headersSent) {
      reply(res, 500, { error: String(error) });
    }
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`hostile listening on http://127.0.0.1:${port}/mcp`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
