// The main module of every dynamic isolate the runner loads.
//
// The isolate has no network (`globalOutbound: null`) and an empty `env`. Its one capability,
// the bridge (an RPC stub to the runner whose props the runner set), arrives as an argument of
// `run` and stays in this module's closures, out of the program's reach, so every tool call
// goes through the limits below. This module turns the run request into one
// object per upstream namespace whose methods call the bridge, captures the console, awaits
// the user's program (the default export of program.js) and reports an outcome. It never
// throws across RPC: every failure is part of the outcome.
//
// The runner may abandon the execution (out of time, or cancelled by its client) by calling
// `cancel`: from then on every tool call fails with a `Cancelled` error, the calls in flight
// settle at once, and `cancel` names their upstreams so the runner can stop them too. Each
// execution has its own isolate, so this module's state belongs to one execution.
//
// The contract it speaks is src/sandbox/protocol.rs (Outcome, BridgeReply, CallTrace) and
// src/sandbox/program.rs (RunRequest).

import { WorkerEntrypoint } from "cloudflare:workers";
import program from "./program.js";

/**
 * A failed tool call, named after its class (UpstreamTimeout, UpstreamToolError, NotPermitted,
 * ...), carrying the namespace and function so a program can decide what to do about it.
 */
class ToolCallError extends Error {
  constructor(kind, message, upstream, tool) {
    super(message);
    this.name = kind;
    this.upstream = upstream;
    this.tool = tool;
  }
}

/** Why the runner abandoned this execution; null while it runs. */
let stopped = null;
/** Tool calls awaiting the bridge: id → { namespace, settle }. */
const inFlight = new Map();
let nextCallId = 0;
/** Tool calls the program has made, for `maxToolCalls`. */
let made = 0;
/** Tool calls holding one of the `maxConcurrentToolCalls` slots, and those waiting for one. */
let active = 0;
const waiting = [];

export default class Harness extends WorkerEntrypoint {
  /**
   * Runs the program with tool calls over `bridge`. `onCall`, when the runner passes it, is
   * told of each finished tool call (its trace), which the runner turns into progress
   * notifications.
   */
  async run(request, bridge, onCall) {
    const outcome = { startedAtMs: Date.now(), logs: [], droppedLogs: 0, calls: [], callResultChars: 0 };
    const console = captureConsole(outcome, request);
    const reports = [];
    const record = (trace, value) => {
      outcome.calls.push(trace);
      outcome.callResultChars += jsonLength(value);
      if (onCall) {
        // Progress is advisory: a lost report must not fail the program.
        reports.push(Promise.resolve().then(() => onCall(trace)).catch(() => {}));
      }
    };
    const namespaces = bindNamespaces(bridge, request, record);
    const args = request.bindings.map((name) => (name === "console" ? console : namespaces[name]));
    try {
      const value = await program(...args);
      if (value !== undefined) {
        const json = toJson(value);
        // Only the kept part crosses back to the runner; it still gets the full length.
        if (json !== undefined && json.length > request.maxResultChars) {
          outcome.resultChars = json.length;
          outcome.resultJson = json.slice(0, request.maxResultChars);
        } else {
          outcome.resultJson = json;
        }
      }
    } catch (error) {
      outcome.error = describe(error);
    }
    // Every report reaches the runner before the outcome does, so progress precedes the result.
    await Promise.all(reports);
    return outcome;
  }

  /** Abandons the execution; returns the upstreams that had calls in flight. */
  cancel(reason) {
    stopped ??= String(reason);
    const upstreams = new Set();
    for (const call of inFlight.values()) {
      upstreams.add(call.namespace);
      call.settle(cancelledReply());
    }
    inFlight.clear();
    return [...upstreams];
  }
}

function cancelledReply() {
  return { status: "error", kind: "Cancelled", message: `the execution was stopped: ${stopped}` };
}

/** The bridge's reply to one call, or the cancellation's if that comes first. */
function callBridge(bridge, namespace, tool, args) {
  if (stopped !== null) {
    return Promise.resolve(cancelledReply());
  }
  const id = nextCallId++;
  return new Promise((settle) => {
    inFlight.set(id, { namespace, settle });
    bridge.callTool(namespace, tool, args).then(settle, (error) =>
      settle({ status: "error", kind: "UpstreamUnreachable", message: `the bridge failed: ${error}` }),
    );
  }).finally(() => inFlight.delete(id));
}

/**
 * Calls the bridge within the execution's limits: past `maxToolCalls` a call fails at once
 * with `LimitExceeded`; past `maxConcurrentToolCalls` in flight it waits for a free slot, so a
 * `Promise.all` over a long list runs in bounded batches rather than failing.
 */
async function limitedCall(bridge, limits, namespace, tool, args) {
  if (made >= limits.maxToolCalls) {
    return {
      status: "error",
      kind: "LimitExceeded",
      message: `this execution already made ${limits.maxToolCalls} tool calls, its limit (maxToolCalls); do the rest in another execute`,
    };
  }
  made += 1;
  if (active < limits.maxConcurrentToolCalls) {
    active += 1;
  } else {
    // The call that finishes hands its slot over.
    await new Promise((resolve) => waiting.push(resolve));
  }
  try {
    return await callBridge(bridge, namespace, tool, args);
  } finally {
    const next = waiting.shift();
    if (next) {
      next();
    } else {
      active -= 1;
    }
  }
}

function bindNamespaces(bridge, request, record) {
  const namespaces = {};
  for (const [namespace, functions] of Object.entries(request.namespaces)) {
    const object = {};
    for (const [name, tool] of Object.entries(functions)) {
      object[name] = async (args = {}) => {
        const started = Date.now();
        // A JSON round trip gives the bridge plain data, whatever the program passed.
        const plain = JSON.parse(JSON.stringify(args ?? {}));
        const reply = await limitedCall(bridge, request, namespace, tool, plain);
        const trace = { tool: `${namespace}.${name}`, ms: Date.now() - started, ok: reply.status === "ok" };
        if (reply.status === "ok") {
          record(trace, reply.value);
          return reply.value;
        }
        record({ ...trace, error: reply.kind });
        throw new ToolCallError(reply.kind, `${namespace}.${name}: ${reply.message}`, namespace, name);
      };
    }
    namespaces[namespace] = Object.freeze(object);
  }
  return namespaces;
}

function captureConsole(outcome, { maxLogEntries, maxLogEntryChars }) {
  const record = (level) => (...values) => {
    if (outcome.logs.length >= maxLogEntries) {
      outcome.droppedLogs += 1;
      return;
    }
    let line = values.map(format).join(" ");
    if (line.length > maxLogEntryChars) {
      line = `${line.slice(0, maxLogEntryChars)}… [${line.length} chars, cut]`;
    }
    outcome.logs.push(level === "log" ? line : `[${level}] ${line}`);
  };
  const levels = ["log", "info", "warn", "error", "debug"];
  return Object.freeze(Object.fromEntries(levels.map((level) => [level, record(level)])));
}

function format(value) {
  if (typeof value === "string") {
    return value;
  }
  if (value instanceof Error) {
    return `${value.name}: ${value.message}`;
  }
  try {
    return toJson(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** How many characters of JSON a tool's value is (0 when it has none). */
function jsonLength(value) {
  try {
    return toJson(value)?.length ?? 0;
  } catch {
    return 0;
  }
}

function toJson(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

function describe(error) {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  let message;
  try {
    message = toJson(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { name: "NonErrorThrown", message: `the program threw a non-Error value: ${message}` };
}
