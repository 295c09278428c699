#!/usr/bin/env node
// A small MCP server (streamable HTTP, stateful, JSON answers) whose faults the end-to-end tests
// switch on and off, to prove the runner's upstream client turns each into its own clear error
// and recovers. Node standard library only; binds 127.0.0.1.
//
//     node tests/upstreams/faulty_server.mjs --port N
//
// Prints "faulty listening on http://127.0.0.1:N/mcp" once listening.
//
// Tools: echo {text} (structured {echoed}), whoami {} (the Authorization header it received,
// for the secret-redaction test), slow {ms}, and added_later {} once announced.
//
// Control API (not MCP):
//   POST /control {"fault": F, "delayMs"?: n, "scope"?: "calls" | "all"}
//       sets the fault for tools/call ("calls", the default) or for every request ("all");
//       notifications always get 202.
//   GET /control/log      every MCP message received: {at, jsonrpcMethod, id, session, params, authorization}
// Faults: none; slow (answer after delayMs, default 5000); http500 (a 500 whose body quotes the
// Authorization header); malformed-sse (an event stream whose only event is cut-off JSON);
// drop-session (forget every session now, then none); hang (never answer, until the fault
// changes); rpc-error (JSON-RPC -32603 quoting the Authorization header); tool-error (isError);
// list-changed (add `added_later` and announce it, in an SSE answer to the next call, then none).

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

const TOOLS = [
  {
    name: "echo",
    description: "Echo the text back.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    outputSchema: { type: "object", properties: { echoed: { type: "string" } }, required: ["echoed"] },
  },
  {
    name: "whoami",
    description: "The Authorization header this server received.",
    inputSchema: { type: "object", properties: {} },
  },
  {
    name: "slow",
    description: "Answer after the given number of milliseconds.",
    inputSchema: { type: "object", properties: { ms: { type: "integer", minimum: 0 } }, required: ["ms"] },
  },
];

const ADDED_LATER = {
  name: "added_later",
  description: "A tool that appears after a tools/list_changed notification.",
  inputSchema: { type: "object", properties: {} },
};

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

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

function rpcError(id, code, message) {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

function sse(res, messages) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  messages.forEach((message, index) => res.write(`id: ${index + 1}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`));
  res.end();
}

function releaseHung() {
  state.hung.forEach((res) => res.destroy());
  state.hung.clear();
}

function setFault({ fault = "none", delayMs = 5000, scope = "calls" }) {
  releaseHung();
  Object.assign(state, { fault: "none", delayMs, scope });
  if (fault === "drop-session") {
    state.sessions.clear();
  } else if (fault === "list-changed") {
    state.extraTool = true;
    state.announceListChanged = true;
  } else {
    state.fault = fault;
  }
}

function callTool(params, authorization) {
  const args = params?.arguments ?? {};
  switch (params?.name) {
    case "echo":
      return { content: [{ type: "text", text: String(args.text) }], structuredContent: { echoed: String(args.text) } };
    case "whoami":
      return { content: [{ type: "text", text: authorization ?? "(none)" }] };
    case "slow":
      return sleep(Number(args.ms) || 0).then(() => ({ content: [{ type: "text", text: `waited ${args.ms} ms` }] }));
    case "added_later":
      if (state.extraTool) {
        return { content: [{ type: "text", text: "added later" }] };
      }
  }
  return null;
}

async function answer(message, session, authorization) {
  const { id, method, params } = message;
  switch (method) {
    case "initialize": {
      const requested = params?.protocolVersion;
      const protocolVersion = VERSIONS.includes(requested) ? requested : VERSIONS[0];
      const sessionId = randomUUID();
      state.sessions.add(sessionId);
      return {
        headers: { "Mcp-Session-Id": sessionId },
        body: {
          jsonrpc: "2.0",
          id,
          result: { protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: { name: "faulty", version: "1.0.0" } },
        },
      };
    }
    case "ping":
      return { body: { jsonrpc: "2.0", id, result: {} } };
    case "tools/list":
      return { body: { jsonrpc: "2.0", id, result: { tools: state.extraTool ? [...TOOLS, ADDED_LATER] : TOOLS } } };
    case "tools/call": {
      const result = await callTool(params, authorization);
      return { body: result ? { jsonrpc: "2.0", id, result } : rpcError(id, -32602, `Unknown tool: ${params?.name}`) };
    }
    default:
      return { body: rpcError(id, -32601, `Method not found: ${method}`) };
  }
}

/** Applies the current fault to request `message`; true when it has answered. */
async function injectFault(res, message, authorization) {
  const applies = state.fault !== "none" && (state.scope === "all" || message.method === "tools/call");
  if (!applies) {
    return false;
  }
  const credential = authorization ?? "(none)";
  switch (state.fault) {
    case "slow":
      await sleep(state.delayMs);
      return false;
    case "http500":
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`internal failure while serving request (credential ${credential})`);
      return true;
    case "malformed-sse":
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end('event: message\ndata: {"jsonrpc":"2.0","id":\n\n');
      return true;
    case "hang":
      state.hung.add(res);
      res.on("close", () => state.hung.delete(res));
      return true;
    case "rpc-error":
      reply(res, 200, rpcError(message.id, -32603, `database offline (credential ${credential})`));
      return true;
    case "tool-error":
      reply(res, 200, { jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: "tool failed: inventory locked" }], isError: true } });
      return true;
    default:
      return false;
  }
}

async function serveMcp(req, res, text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return reply(res, 400, rpcError(null, -32700, "Parse error"));
  }
  if (Array.isArray(message) || typeof message !== "object" || message === null) {
    return reply(res, 400, rpcError(null, -32600, "Invalid Request: one JSON-RPC message per POST"));
  }
  const session = req.headers["mcp-session-id"];
  const authorization = req.headers.authorization;
  state.log.push({ at: Date.now(), jsonrpcMethod: message.method, id: message.id, session, params: message.params, authorization });

  if (message.method !== "initialize") {
    if (!session) {
      return reply(res, 400, rpcError(message.id ?? null, -32600, "Bad Request: Mcp-Session-Id header is required"));
    }
    if (!state.sessions.has(session)) {
      return reply(res, 404, rpcError(null, -32001, "Session not found"));
    }
  }
  if (message.id === undefined) {
    return reply(res, 202);
  }
  if (await injectFault(res, message, authorization)) {
    return;
  }
  const { headers, body } = await answer(message, session, authorization);
  const acceptsSse = (req.headers.accept ?? "").includes("text/event-stream");
  if (message.method === "tools/call" && state.announceListChanged && acceptsSse) {
    state.announceListChanged = false;
    return sse(res, [{ jsonrpc: "2.0", method: "notifications/tools/list_changed" }, body]);
  }
  reply(res, 200, body, headers);
}

async function route(req, res) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const path = new URL(req.url, "http://127.0.0.1").pathname;
  if (path === "/control" && req.method === "POST") {
    setFault(JSON.parse(text || "{}"));
    return reply(res, 200, { ok: true });
  }
  if (path === "/control/log" && req.method === "GET") {
    return reply(res, 200, state.log);
  }
  if (path !== "/mcp") {
    return reply(res, 404, { error: "not found" });
  }
  if (req.method === "POST") {
    return serveMcp(req, res, text);
  }
  if (req.method === "DELETE") {
    state.sessions.delete(req.headers["mcp-session-id"]);
    return reply(res, 200);
  }
  reply(res, 405, rpcError(null, -32600, "Method Not Allowed"), { Allow: "POST, DELETE" });
}

const { values } = parseArgs({ options: { port: { type: "string", default: "3103" } } });
const port = Number(values.port);
const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    if (!res.headersSent) {
      reply(res, 500, { error: String(error) });
    }
  });
});
server.listen(port, "127.0.0.1", () => console.log(`faulty listening on http://127.0.0.1:${port}/mcp`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    releaseHung();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
