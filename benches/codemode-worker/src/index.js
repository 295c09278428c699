// The latency baseline for benches/latency.mjs: the same programs the runner executes, run by
// @cloudflare/codemode's DynamicWorkerExecutor in a plain JS Worker on the same wrangler/workerd,
// their tool functions calling one upstream MCP server over streamable HTTP.
//
// HTTP:
//   GET  /          200 {"ok": true, ...}: readiness (does not touch the upstream)
//   POST /execute   {"code": "<program>"} → 200 with the executor's ExecuteResult as JSON:
//                   {"result": …, "logs": [...]} or {"error": "<message>", "logs": [...]},
//                   plus "ms", the time execute() took inside this Worker
//                   (400 for a bad body; 502 when the upstream cannot be initialized).
//
// Program text. DynamicWorkerExecutor.execute(code, providers) passes `code` through codemode's
// normalizeCode() and runs `(<normalized>)()` inside a fresh isolate (LOADER.load per call,
// globalOutbound: null, so the program has no network). normalizeCode accepts:
//   - an arrow function, `async () => { … }`, run as it is (the form codemode's docs use);
//   - a function body: text that does not parse as a module (a top-level `return`) is wrapped in
//     `async () => {\n<text>\n}`, so the runner's format — the body of an async function with
//     top-level `await` and `return` — runs unchanged;
//   - statements ending in an expression: that expression's value is returned;
//   - a lone function declaration (called), or `export default` of a function;
//   - any of these inside a Markdown code fence.
// It is JavaScript only (no TypeScript stripping, unlike the runner).
//
// Namespaces. The upstream's tools are exposed twice, under UPSTREAM_NAME ("everything", the
// runner's name for server-everything) and under `codemode` (codemode's default namespace),
// with the same functions behind both. codemode turns tool names into identifiers the way the
// runner does (`get-sum` → `get_sum`), so these are the same call:
//   runner:   return await everything.get_sum({ a: 2, b: 40 });
//   here:     return await everything.get_sum({ a: 2, b: 40 });          (same text)
//   here:     async () => { return await codemode.get_sum({ a: 2, b: 40 }); }
// A tool's value is what codemode's own McpConnector gives (and what the runner gives): its
// `structuredContent` when present, else its text content (parsed as JSON when it is JSON); a
// result with `isError` throws an Error carrying the text.
//
// The MCP client is a minimal fetch-based JSON-RPC client (initialize → notifications/initialized
// → tools/list, then tools/call with the Mcp-Session-Id and MCP-Protocol-Version headers; answers
// in application/json or text/event-stream). One session per Worker isolate, opened lazily on the
// first /execute and opened again once if the server says the session is gone (404, or
// server-everything's 400 "No valid session ID provided").
//
// Errors: the result is always JSON. A program that does not compile makes DynamicWorkerExecutor
// throw (the dynamic isolate fails to start) instead of returning { error }; it is reported as
// { "error": "Failed to start Worker: Uncaught SyntaxError: …", "logs": [] } all the same.

import { DynamicWorkerExecutor } from "@cloudflare/codemode";

const PROTOCOL_VERSION = "2025-11-25";
const EXECUTE_TIMEOUT_MS = 60_000;
const CLIENT_INFO = { name: "codemode-baseline", version: "1.0.0" };

/** Thrown when the server no longer knows our session (on a request that carried one). */
class SessionGone extends Error {}

/** A streamable HTTP MCP client for one server: one lazily opened session, shared by requests. */
class McpClient {
  #url;
  #session = null;
  #nextId = 1;

  constructor(url) {
    this.#url = url;
  }

  /** The open session ({ sessionId, protocolVersion, tools }), opening it on first use. */
  session() {
    if (!this.#session) {
      const opening = this.#open();
      this.#session = opening;
      opening.catch(() => {
        if (this.#session === opening) {
          this.#session = null;
        }
      });
    }
    return this.#session;
  }

  /** tools/call; opens a new session once if the server has forgotten ours. */
  async callTool(name, args) {
    for (let attempt = 0; ; attempt += 1) {
      const current = this.session();
      const session = await current;
      try {
        return await this.#request(session, "tools/call", { name, arguments: args });
      } catch (error) {
        if (!(error instanceof SessionGone) || attempt > 0) {
          throw error;
        }
        if (this.#session === current) {
          this.#session = null;
        }
      }
    }
  }

  async #open() {
    const params = { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };
    const { headers, message } = await this.#post({ jsonrpc: "2.0", id: this.#nextId++, method: "initialize", params }, {});
    if (message.error) {
      throw new Error(`initialize: ${message.error.message} (${message.error.code})`);
    }
    const session = {
      sessionId: headers.get("mcp-session-id") ?? undefined,
      protocolVersion: message.result.protocolVersion ?? PROTOCOL_VERSION,
      tools: [],
    };
    await this.#post({ jsonrpc: "2.0", method: "notifications/initialized" }, session);
    let cursor;
    do {
      const page = await this.#request(session, "tools/list", cursor ? { cursor } : {});
      session.tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return session;
  }

  async #request(session, method, params) {
    const { message } = await this.#post({ jsonrpc: "2.0", id: this.#nextId++, method, params }, session);
    if (message.error) {
      throw new Error(`${method}: ${message.error.message} (${message.error.code})`);
    }
    return message.result;
  }

  /** POSTs one JSON-RPC message; returns { headers, message } (message: the response, if any). */
  async #post(body, session) {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (session.sessionId) {
      headers["mcp-session-id"] = session.sessionId;
    }
    if (session.protocolVersion) {
      headers["mcp-protocol-version"] = session.protocolVersion;
    }
    const response = await fetch(this.#url, { method: "POST", headers, body: JSON.stringify(body) });
    if (!response.ok) {
      const text = (await response.text()).slice(0, 500);
      // The spec says 404 for a session the server does not know; server-everything (2026.8.31)
      // answers 400 "Bad Request: No valid session ID provided" instead, e.g. after a restart.
      if (session.sessionId && (response.status === 404 || (response.status === 400 && /session/i.test(text)))) {
        throw new SessionGone(`${body.method}: the server ended the MCP session (HTTP ${response.status})`);
      }
      throw new Error(`${body.method}: HTTP ${response.status}: ${text}`);
    }
    if (body.id === undefined) {
      await response.body?.cancel();
      return { headers: response.headers };
    }
    const type = response.headers.get("content-type") ?? "";
    const message = type.includes("text/event-stream") ? await readSseResponse(response, body.id, body.method) : await response.json();
    return { headers: response.headers, message };
  }
}

/**
 * Reads an SSE answer until the JSON-RPC response with `id` arrives (events without data, such as
 * server-everything's priming event, and other messages are skipped), then stops reading.
 */
async function readSseResponse(response, id, method) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value ?? new Uint8Array(), { stream: !done });
      const events = buffer.split(/\r?\n\r?\n/);
      buffer = done ? "" : events.pop();
      for (const event of events) {
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
          .join("\n");
        if (!data.trim()) {
          continue;
        }
        const message = JSON.parse(data);
        if (message.id === id && ("result" in message || "error" in message)) {
          return message;
        }
      }
      if (done) {
        throw new Error(`${method}: the event stream ended without a response`);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** A tools/call result as the program sees it (codemode's McpConnector convention). */
function toolValue(result) {
  const content = result.content ?? [];
  const allText = content.length > 0 && content.every((block) => block.type === "text");
  if (result.isError) {
    const text = content.filter((block) => block.type === "text").map((block) => block.text).join("\n");
    throw new Error(text || "Tool call failed");
  }
  if (result.structuredContent != null) {
    return result.structuredContent;
  }
  if (!allText) {
    return result;
  }
  const text = content.map((block) => block.text ?? "").join("\n");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Per isolate: the MCP client (one session) and the executor, made on the first request.
let client = null;
let executor = null;

function clientFor(env) {
  client ??= new McpClient(env.UPSTREAM_URL);
  return client;
}

function executorFor(env) {
  executor ??= new DynamicWorkerExecutor({ loader: env.LOADER, timeout: EXECUTE_TIMEOUT_MS, globalOutbound: null });
  return executor;
}

/** The namespaces a program sees: the upstream's name and `codemode`, with the same functions. */
function namespaces(env) {
  return [...new Set([env.UPSTREAM_NAME || "everything", "codemode"])];
}

/** ResolvedProvider[] for execute(): every upstream tool, by its MCP name (codemode sanitizes). */
function providers(env, tools) {
  const mcp = clientFor(env);
  const fns = Object.fromEntries(
    tools.map((tool) => [tool.name, async (args) => toolValue(await mcp.callTool(tool.name, args ?? {}))]),
  );
  return namespaces(env).map((name) => ({ name, fns }));
}

function problem(status, error) {
  return Response.json({ error }, { status });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/" && request.method === "GET") {
      return Response.json({ ok: true, upstream: env.UPSTREAM_URL, namespaces: namespaces(env) });
    }
    if (pathname !== "/execute") {
      return problem(404, "not found: POST /execute");
    }
    if (request.method !== "POST") {
      return problem(405, "POST /execute");
    }
    let code;
    try {
      ({ code } = await request.json());
    } catch {
      return problem(400, 'the body must be JSON: {"code": "…"}');
    }
    if (typeof code !== "string") {
      return problem(400, '"code" must be a string');
    }
    let session;
    try {
      session = await clientFor(env).session();
    } catch (error) {
      return problem(502, `upstream ${env.UPSTREAM_URL}: ${error.message}`);
    }
    const started = Date.now();
    let outcome;
    try {
      outcome = await executorFor(env).execute(code, providers(env, session.tools));
    } catch (error) {
      // execute() is documented never to throw, but a program that does not compile makes
      // LOADER.load's isolate fail to start, and that rejection escapes: report it the same way.
      outcome = { error: String(error?.message ?? error), logs: [] };
    }
    // `ms`: the execution inside this Worker, as the runner's audit `ms` measures its own.
    return Response.json({ ...outcome, ms: Date.now() - started });
  },
};
