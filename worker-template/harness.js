// @ts-check
// The main module of every dynamic isolate the runner loads.
//
// The isolate has no network (`globalOutbound: null`) and an empty `env`. Its one capability,
// the bridge (an RPC stub of a function the runner made for this execution), arrives as an
// argument of `run` and stays in this module's closures; the harness only ever calls it, so no
// accessor or method the program plants is handed the stub. Every limit that counts and
// everything the audit records is enforced by the runner on the other side of the bridge; the
// harness turns the run request into one object per upstream namespace whose functions call
// the bridge, captures the console, awaits the user's program (the default export of
// program.js) and reports what the program produced. It never throws across RPC.
//
// The program shares this isolate, so the harness calls only built-ins captured before the
// program's module was evaluated (primordials.js) and keeps its state in null-prototype
// objects: a program that tampers with built-ins breaks only itself. regexp_guard.js refuses
// patterns that would backtrack catastrophically; no_cache.js takes the Cache API away.
//
// The contract it speaks is src/sandbox/protocol.rs (Outcome, BridgeReply) and
// src/sandbox/program.rs (RunRequest).

import { WorkerEntrypoint } from "cloudflare:workers";
import {
  DateNow,
  IntrinsicError,
  IntrinsicProxy,
  JSONParse,
  JSONStringify,
  ObjectFreeze,
  ReflectApply,
  ReflectDefineProperty,
  StringOf,
  StringSlice,
  define,
  descriptor,
  list,
  record,
} from "./primordials.js";
import "./regexp_guard.js";
import "./no_cache.js";
import program, { __mirLoopLimitHit as loopLimitHit } from "./program.js";

const LEVELS = ["log", "info", "warn", "error", "debug"];

/**
 * The runner's function for this execution: `(namespace, function, argumentsJson)` → the
 * BridgeReply's wire form (src/shell/bridge.rs): a returned string as TEXT_REPLY_MARK and the
 * string itself, any other reply as its JSON.
 * @typedef {(namespace: string, fn: string, argumentsJson: string) => Promise<string>} Bridge
 */

/** `BridgeReply::to_wire`'s mark (src/sandbox/protocol.rs; tests/protocol_types.rs checks it). */
const TEXT_REPLY_MARK = "=";

/**
 * What the program's console fills in: entries kept, and how many more were dropped.
 * @typedef {{ logs: string[], droppedLogs: number }} Console
 */

export default class Harness extends WorkerEntrypoint {
  /**
   * Runs the program with tool calls over `bridge`; resolves to the Outcome as JSON text (a
   * string, so resolving the promise looks up no `then` on an object of the harness).
   * @param {import("./protocol").RunRequest} request
   * @param {Bridge} bridge
   * @returns {Promise<string>}
   */
  async run(request, bridge) {
    const outcome = /** @type {import("./protocol").Outcome & Console} */ (record());
    outcome.startedAtMs = DateNow();
    outcome.logs = list();
    outcome.droppedLogs = 0;
    const args = [];
    const bindings = request.bindings;
    for (let i = 0; i < bindings.length; i += 1) {
      const name = bindings[i];
      const unavailable = request.unavailable[name];
      define(
        args,
        i,
        name === "console"
          ? captureConsole(outcome, request)
          : unavailable
            ? unavailableNamespace(name, unavailable)
            : namespace(bridge, name, request.namespaces[name]),
      );
    }
    try {
      const value = await ReflectApply(program, undefined, args);
      if (value !== undefined) {
        const json = toJson(value);
        // Only the kept part crosses back to the runner; it still gets the full length.
        if (json !== undefined && json.length > request.maxResultChars) {
          outcome.resultChars = json.length;
          outcome.resultJson = ReflectApply(StringSlice, json, [0, request.maxResultChars]);
        } else {
          outcome.resultJson = json;
        }
      }
    } catch (error) {
      outcome.error = describe(error);
    }
    outcome.loopLimitHit = loopLimitHit();
    return JSONStringify(outcome);
  }
}

/**
 * The frozen object of one namespace: a function per tool, each a call over the bridge.
 * @param {Bridge} bridge
 * @param {string} name
 * @param {string[]} functions
 */
function namespace(bridge, name, functions) {
  const object = record();
  for (let i = 0; i < functions.length; i += 1) {
    const fn = functions[i];
    define(object, fn, async (args = {}) => {
      // The bridge gets plain JSON, whatever the program passed.
      const wire = await bridge(name, fn, JSONStringify(args ?? {}));
      if (ReflectApply(StringSlice, wire, [0, 1]) === TEXT_REPLY_MARK) {
        return ReflectApply(StringSlice, wire, [1]);
      }
      /** @type {import("./protocol").BridgeReply} */
      const reply = JSONParse(wire);
      if (reply.status === "ok") {
        return reply.value;
      }
      throw toolCallError(reply.kind, `${name}.${fn}: ${reply.message}`, name, fn);
    });
  }
  return ObjectFreeze(object);
}

/**
 * The object of a namespace whose tools could not be listed: any function of it the program
 * calls throws why (an `AuthorizationRequired` with the person's sign-in link, an
 * `UpstreamUnreachable`, ...), so the program fails as a call would. `then` is absent, so
 * awaiting the namespace itself does not throw.
 * @param {string} name
 * @param {import("./protocol").UnavailableNamespace} why
 */
function unavailableNamespace(name, { kind, message }) {
  const handler = record();
  handler.get = (_target, key) => {
    if (typeof key !== "string" || key === "then") {
      return undefined;
    }
    return async () => {
      throw toolCallError(kind, `${name}.${key}: ${message}`, name, key);
    };
  };
  return new IntrinsicProxy(ObjectFreeze(record()), handler);
}

/**
 * A failed tool call, named after its class (UpstreamTimeout, UpstreamToolError, NotPermitted,
 * ...), carrying the namespace and function so a program can decide what to do about it.
 */
function toolCallError(kind, message, upstream, tool) {
  const error = new IntrinsicError(message);
  const own = (key, value) => ReflectDefineProperty(error, key, descriptor({ __proto__: null, value, writable: true, configurable: true }));
  own("name", kind);
  own("upstream", upstream);
  own("tool", tool);
  return error;
}

/**
 * The program's console: entries kept in `outcome.logs` within the request's limits.
 * @param {Console} outcome
 * @param {import("./protocol").RunRequest} request
 */
function captureConsole(outcome, { maxLogEntries, maxLogEntryChars }) {
  const console = record();
  for (let i = 0; i < LEVELS.length; i += 1) {
    const level = LEVELS[i];
    console[level] = (...values) => {
      const logs = outcome.logs;
      if (logs.length >= maxLogEntries) {
        outcome.droppedLogs += 1;
        return;
      }
      let line = "";
      for (let j = 0; j < values.length; j += 1) {
        line += (j === 0 ? "" : " ") + format(values[j]);
      }
      if (line.length > maxLogEntryChars) {
        line = `${ReflectApply(StringSlice, line, [0, maxLogEntryChars])}… [${line.length} chars, cut]`;
      }
      define(logs, logs.length, level === "log" ? line : `[${level}] ${line}`);
    };
  }
  return ObjectFreeze(console);
}

/** A console value as text; the program's own `toString` or getters may run, or throw. */
function format(value) {
  if (typeof value === "string") {
    return value;
  }
  try {
    if (value instanceof IntrinsicError) {
      return `${StringOf(value.name)}: ${StringOf(value.message)}`;
    }
    return toJson(value) ?? StringOf(value);
  } catch {
    return "[a value that could not be shown]";
  }
}

function toJson(value) {
  return JSONStringify(value, (_key, v) => (typeof v === "bigint" ? StringOf(v) : v));
}

/** What the program threw, as plain strings. */
function describe(error) {
  const thrown = record();
  try {
    if (error instanceof IntrinsicError) {
      thrown.name = StringOf(error.name);
      thrown.message = StringOf(error.message);
      thrown.stack = StringOf(error.stack);
      return thrown;
    }
  } catch {
    // An error whose fields throw is reported as a non-Error below.
  }
  let message;
  try {
    message = toJson(error) ?? StringOf(error);
  } catch {
    message = "a value that could not be shown";
  }
  thrown.name = "NonErrorThrown";
  thrown.message = `the program threw a non-Error value: ${message}`;
  return thrown;
}
