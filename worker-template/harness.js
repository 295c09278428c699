// The main module of every dynamic isolate the runner loads.
//
// The isolate has no network (`globalOutbound: null`) and one binding, `env.BRIDGE`: an RPC
// stub to the runner whose props the runner set. This module turns the run request into one
// object per upstream namespace whose methods call the bridge, captures the console, awaits
// the user's program (the default export of program.js) and reports an outcome. It never
// throws across RPC: every failure is part of the outcome.
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

export default class Harness extends WorkerEntrypoint {
  async run(request) {
    const outcome = { logs: [], droppedLogs: 0, calls: [] };
    const console = captureConsole(outcome, request);
    const namespaces = bindNamespaces(this.env.BRIDGE, request.namespaces, outcome.calls);
    const args = request.bindings.map((name) => (name === "console" ? console : namespaces[name]));
    try {
      const value = await program(...args);
      if (value !== undefined) {
        outcome.resultJson = toJson(value);
      }
    } catch (error) {
      outcome.error = describe(error);
    }
    return outcome;
  }
}

function bindNamespaces(bridge, manifest, calls) {
  const namespaces = {};
  for (const [namespace, functions] of Object.entries(manifest)) {
    const object = {};
    for (const [name, tool] of Object.entries(functions)) {
      object[name] = async (args = {}) => {
        const started = Date.now();
        // A JSON round trip gives the bridge plain data, whatever the program passed.
        const plain = JSON.parse(JSON.stringify(args ?? {}));
        const reply = await bridge.callTool(namespace, tool, plain);
        const trace = { tool: `${namespace}.${name}`, ms: Date.now() - started, ok: reply.status === "ok" };
        if (reply.status === "ok") {
          calls.push(trace);
          return reply.value;
        }
        calls.push({ ...trace, error: reply.kind });
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
