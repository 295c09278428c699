#!/usr/bin/env node
// A small hand-written MCP server (streamable HTTP, stateful sessions, JSON answers) whose faults
// the end-to-end tests switch on and off, to prove that the runner's upstream client turns each
// fault into its own clear error, redacts credentials and recovers. Node standard library only;
// binds 127.0.0.1.
//
//     node tests/upstreams/faulty_server.mjs --port N
//
// Prints exactly one stdout line, "faulty listening on http://127.0.0.1:N/mcp", once listening;
// exits on SIGTERM/SIGINT.
//
// MCP at /mcp: POST one JSON-RPC message (no batches); initialize issues an Mcp-Session-Id that
// every later message must carry (none: 400, unknown: 404); DELETE ends a session; GET is 405.
// Tools: echo {text} (structured {echoed}), whoami {} (the raw Authorization header received,
// for the redaction test), slow {ms}, and added_later {} once the list-changed fault announced it.
//
// Control API (not MCP):
//   POST   /control      {"fault": F, "delayMs"?: n, "scope"?: "calls" | "all"} -> {"ok": true}
//          "calls" (default) applies F to tools/call only, "all" to every JSON-RPC request;
//          notifications always get 202. Setting any fault releases (destroys) hung requests.
//   GET    /control/log  every request /mcp received:
//                        [{at, httpMethod, jsonrpcMethod, id, session, params, authorization}]
//   DELETE /control/log  clears the log.
// Faults F:
//   none           normal behaviour
//   slow           answer normally after delayMs (default 5000)
//   http500        500 text/plain whose body quotes the Authorization header
//   malformed-sse  200 text/event-stream whose only event is cut-off JSON
//   drop-session   forget every session now (old ids then get 404); the fault reverts to none
//   hang           never answer, until the fault changes or the server stops
//   rpc-error      JSON-RPC error -32603 quoting the Authorization header
//   tool-error     a tool result with isError: true
//   progress       tools/call accepting text/event-stream answers as SSE: a progress, a log and a
//                  tools/list_changed notification, then the response
//   list-changed   add the tool added_later; the next tools/call accepting text/event-stream
//                  announces it (SSE: tools/list_changed, then the response); the fault reverts
//                  to none

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
const FAULTS = ["none", "slow", "http500", "malformed-sse", "drop-session", "hang", "rpc-error", "tool-error", "progress", "list-changed"];
const NO_ARGUMENTS = { type: "object", properties: {} };

const TOOLS = [
  {
    name: "echo",
    description: "Echo the text back.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    outputSchema: { type: "object", properties: { echoed: { type: "string" } }, required: ["echoed"] },
  },
  { name: "whoami", description: "The Authorization header this server received.", inputSchema: NO_ARGUMENTS },
  {
    name: "slow",
    description: "Answer after the given number of milliseconds.",
    inputSchema: { type: "object", properties: { ms: { type: "integer", minimum: 0 } }, required: ["ms"] },
  },
];
const ADDED_LATER = { name: "added_later", description: "Appears after a tools/list_changed notification.", inputSchema: NO_ARGUMENTS };

const state = {
  fault: "none",
  delayMs: 5000,
  scope: "calls",
  sessions: new Set(),
  hung: new Set(),
  extraTool: false,
  announceListChanged: false,
  log: [],
};
let eventId = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value) => ({ content: [{ type: "text", text: value }] });
const notification = (method, params) => ({ jsonrpc: "2.0", method, ...(params && { params }) });
const rpcResult = (id, result) => ({ jsonrpc: "2.0", id, result });
const rpcError = (id, code, message) => ({ jsonrpc: "2.0", id, error: { code, message } });

function reply(res, status, body, headers = {}) {
  if (body === undefined) {
    res.writeHead(status, headers).end();
  } else {
    res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
  }
}

function replySse(res, messages) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  for (const message of messages) {
    res.write(`id: ${++eventId}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
  }
  res.end();
}

function releaseHung() {
  state.hung.forEach((res) => res.destroy());
  state.hung.clear();
}

/** Applies a POST /control body; returns an error message for a bad one. */
function setFault({ fault, delayMs = 5000, scope = "calls" }) {
  if (!FAULTS.includes(fault) || !["calls", "all"].includes(scope) || !(Number.isInteger(delayMs) && delayMs >= 0)) {
    return `expected {"fault": ${FAULTS.join("|")}, "delayMs"?: integer >= 0, "scope"?: calls|all}`;
  }
  releaseHung();
  Object.assign(state, { fault, delayMs, scope });
  if (fault === "drop-session") {
    state.sessions.clear();
    state.fault = "none";
  } else if (fault === "list-changed") {
    state.extraTool = true;
    state.announceListChanged = true;
    state.fault = "none";
  }
}

async function callTool({ name, arguments: args = {} } = {}, authorization) {
  switch (name) {
    case "echo":
      return { ...text(args.text), structuredContent: { echoed: args.text } };
    case "whoami":
      return text(authorization ?? "(none)");
    case "slow":
      await sleep(Number(args.ms) || 0);
      return text(`waited ${args.ms} ms`);
    case "added_later":
      return state.extraTool ? text("added later") : null;
    default:
      return null;
  }
}

/** The normal answer to request `message`: { body, headers? }. */
async function answer({ id, method, params }, authorization) {
  switch (method) {
    case "initialize": {
      const protocolVersion = VERSIONS.includes(params?.protocolVersion) ? params.protocolVersion : VERSIONS[0];
      const session = randomUUID();
      state.sessions.add(session);
      const serverInfo = { name: "faulty", version: "1.0.0" };
      return { headers: { "Mcp-Session-Id": session }, body: rpcResult(id, { protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo }) };
    }
    case "ping":
      return { body: rpcResult(id, {}) };
    case "tools/list":
      return { body: rpcResult(id, { tools: state.extraTool ? [...TOOLS, ADDED_LATER] : TOOLS }) };
    case "tools/call": {
      const result = await callTool(params, authorization);
      return { body: result ? rpcResult(id, result) : rpcError(id, -32602, `Unknown tool: ${params?.name}`) };
    }
    default:
      return { body: rpcError(id, -32601, `Method not found: ${method}`) };
  }
}

/** Applies the current fault to request `message`; true when the fault has taken over the answer. */
async function injectFault(res, message, authorization) {
  if (state.scope !== "all" && message.method !== "tools/call") {
    return false;
  }
  const credential = authorization ?? "(none)";
  switch (state.fault) {
    case "slow":
      await sleep(state.delayMs);
      return false;
    case "http500":
      res.writeHead(500, { "Content-Type": "text/plain" }).end(`internal failure while serving request (credential ${credential})`);
      return true;
    case "malformed-sse":
      res.writeHead(200, { "Content-Type": "text/event-stream" }).end('event: message\ndata: {"jsonrpc":"2.0","id":\n\n');
      return true;
    case "hang":
      state.hung.add(res);
      res.on("close", () => state.hung.delete(res));
      return true;
    case "rpc-error":
      reply(res, 200, rpcError(message.id, -32603, `database offline (credential ${credential})`));
      return true;
    case "tool-error":
      reply(res, 200, rpcResult(message.id, { ...text("tool failed: inventory locked"), isError: true }));
      return true;
    default:
      return false;
  }
}

/** Notifications to send on an SSE stream before the response to `message`; empty for a JSON answer. */
function noticesFor(req, message) {
  if (message.method !== "tools/call" || !(req.headers.accept ?? "").includes("text/event-stream")) {
    return [];
  }
  const notices = [];
  if (state.fault === "progress") {
    notices.push(notification("notifications/progress", { progressToken: "x", progress: 1, total: 2 }));
    notices.push(notification("notifications/message", { level: "info", logger: "faulty", data: "working on it" }));
  }
  if (state.fault === "progress" || state.announceListChanged) {
    notices.push(notification("notifications/tools/list_changed"));
    state.announceListChanged = false;
  }
  return notices;
}

async function serveMcp(req, res, message) {
  const session = req.headers["mcp-session-id"];
  if (message.method !== "initialize") {
    if (!session) {
      return reply(res, 400, rpcError(message.id ?? null, -32600, "Bad Request: Mcp-Session-Id header is required"));
    }
    if (!state.sessions.has(session)) {
      return reply(res, 404, rpcError(null, -32001, "Session not found"));
    }
  }
  if (message.id === undefined || message.method === undefined) {
    return reply(res, 202); // a notification, or a response to a request this server never sends
  }
  if (await injectFault(res, message, req.headers.authorization)) {
    return;
  }
  const { headers, body } = await answer(message, req.headers.authorization);
  const notices = noticesFor(req, message);
  return notices.length ? replySse(res, [...notices, body]) : reply(res, 200, body, headers);
}

async function route(req, res) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString("utf8");
  const parse = () => {
    try {
      return JSON.parse(body);
    } catch {
      return undefined;
    }
  };
  const path = new URL(req.url, "http://127.0.0.1").pathname;
  const endpoint = `${req.method} ${path}`;

  if (endpoint === "POST /control") {
    const error = setFault(parse() ?? {});
    return error ? reply(res, 400, { ok: false, error }) : reply(res, 200, { ok: true });
  }
  if (endpoint === "GET /control/log") {
    return reply(res, 200, state.log);
  }
  if (endpoint === "DELETE /control/log") {
    state.log = [];
    return reply(res, 200, { ok: true });
  }
  if (path !== "/mcp") {
    return reply(res, 404, { error: "not found" });
  }

  const message = req.method === "POST" ? parse() : undefined;
  const session = req.headers["mcp-session-id"] ?? null;
  state.log.push({
    at: Date.now(),
    httpMethod: req.method,
    jsonrpcMethod: message?.method ?? null,
    id: message?.id ?? null,
    session,
    params: message?.params ?? null,
    authorization: req.headers.authorization ?? null,
  });

  if (req.method === "DELETE") {
    const known = state.sessions.delete(session);
    return known ? reply(res, 200) : reply(res, 404, rpcError(null, -32001, "Session not found"));
  }
  if (req.method !== "POST") {
    return reply(res, 405, rpcError(null, -32000, "Method not allowed: POST JSON-RPC messages"), { Allow: "POST" });
  }
  if (message === undefined) {
    return reply(res, 400, rpcError(null, -32700, "Parse error"));
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return reply(res, 400, rpcError(null, -32600, "Invalid Request: one JSON-RPC message per POST"));
  }
  return serveMcp(req, res, message);
}

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    if (!res.headersSent) {
      reply(res, 500, { error: String(error) });
    }
  });
});
server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(`faulty listening on http://127.0.0.1:${server.address().port}/mcp`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    releaseHung();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
