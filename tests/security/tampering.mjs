// Escape-corpus entries that tamper with what the harness shares with the program: accessors
// and setters planted on built-in prototypes, replaced built-ins (`JSON`, `Array.prototype.push`,
// `Promise.prototype.then`, `Map.prototype.set`, ...), Proxies and well-known Symbols, aimed at
// the bridge stub, the counters, the call trace and the outcome. Each is contained: the stub is
// never handed over, and the trace, the limits and the audit entry match the calls the
// upstream actually received (the fault server's request log), because the runner's gate
// counts and records them, not the harness.
//
// `check(report, probe, code)` also gets the program's text, to find its audit entry.

import assert from "node:assert/strict";

/** Program text that plants a recorder on every built-in the harness could touch. */
const PLANT = `
const seen = new Set<unknown>();
let noting = true;
const note = (value: unknown) => { if (noting && value !== undefined && value !== null) seen.add(value); };
const realIterator = Array.prototype[Symbol.iterator];
Object.defineProperty(Array.prototype, Symbol.iterator, { configurable: true, value: function (this: unknown[]) { note(this); return realIterator.call(this); } });
Object.defineProperty(Array, Symbol.species, { configurable: true, get() { note(this); return Array; } });
for (const target of [Object.prototype, Array.prototype, Object.getPrototypeOf(() => 0), Promise.prototype, Map.prototype, Error.prototype, String.prototype]) {
  for (const key of ["then", "callTool", "bridge", "set", "get", "push", "call", "apply", "bind", "status", "value", "kind", "name", "logs", "calls", "0", "1", "length", "toJSON"]) {
    const own = Object.getOwnPropertyDescriptor(target, key);
    try {
      Object.defineProperty(target, key, {
        __proto__: null,
        configurable: true,
        get() { note(this); return own && "value" in own ? own.value : own?.get?.call(this); },
        set(value) { note(this); note(value); },
      });
    } catch {}
  }
}
for (const symbol of [Symbol.iterator, Symbol.species, Symbol.toPrimitive, Symbol.hasInstance, Symbol.toStringTag]) {
  for (const target of [Object.prototype, Object.getPrototypeOf(() => 0), Promise.prototype]) {
    try { Object.defineProperty(target, symbol, { __proto__: null, configurable: true, get() { note(this); return undefined; } }); } catch {}
  }
}
const realStringify = JSON.stringify;
(JSON as any).stringify = (...args: unknown[]) => { note(args[0]); return realStringify(...(args as [unknown])); };
(JSON as any).parse = () => ({ status: "ok", value: "forged" });
(Reflect as any).apply = (...args: unknown[]) => { note(args); return "forged"; };
(Object as any).create = () => ({});
`;

/** Program text that tries every value the recorder saw as a bridge; returns how many answered. */
const TRY_SEEN = `
noting = false;
let reached = 0;
for (const value of [...seen]) {
  for (const attempt of [
    () => (value as any)("faulty", "echo", JSON.stringify({ text: "stolen" })),
    () => (value as any).callTool("faulty", "echo", { text: "stolen" }),
  ]) {
    try { const reply = await attempt(); if (typeof reply === "string" && reply.includes("stolen")) reached++; } catch {}
  }
}
`;

/** The calls the fault server received whose text is `marker`. */
async function received(probe, marker) {
  return (await probe.faultyLog()).filter((entry) => entry.params?.arguments?.text === marker).length;
}

export const TAMPERING = [
  {
    name: "with the harness tampered with, a blocked tool and one that needs approval stay out of reach",
    code: () => `${PLANT}
await faulty.echo({ text: "tamper-blocked" });
noting = false;
let reached = 0;
for (const value of [...seen]) {
  for (const [ns, fn] of [["everything", "get_env"], ["everything", "get-env"], ["faulty", "whoami"]]) {
    try { const reply = await (value as any)(ns, fn, "{}"); if (typeof reply === "string" && reply.includes('"ok"')) reached++; } catch {}
  }
}
let direct = "";
try { await (faulty as any).whoami({}); } catch (e) { direct = (e as Error).name; }
return { reached, direct };`,
    check: async (report, probe, code) => {
      assert.equal(report.isError, false, JSON.stringify(report).slice(0, 2000));
      assert.equal(report.result.reached, 0);
      assert.equal(report.result.direct, "ApprovalRequired");
      assert.equal((await probe.faultyLog()).filter((entry) => entry.params?.name === "whoami").length, 0);
      const entry = await probe.auditOf(code);
      assert.deepEqual(entry.calls.map((c) => [c.tool, c.ok]), [["faulty.echo", true], ["faulty.whoami", false]]);
    },
  },
  {
    name: "accessors planted on built-in prototypes never hand the program the bridge",
    code: () => `${PLANT}
for (let i = 0; i < 3; i++) await faulty.echo({ text: "tamper-seen" });
${TRY_SEEN}
return { reached, seenFunctions: [...seen].filter((v) => typeof v === "function").length };`,
    check: async (report, probe, code) => {
      assert.equal(report.isError, false, JSON.stringify(report).slice(0, 2000));
      assert.equal(report.result.reached, 0, "no value the program saw reached the upstream");
      assert.equal(await received(probe, "stolen"), 0);
      assert.equal(await received(probe, "tamper-seen"), 3);
      const entry = await probe.auditOf(code);
      assert.equal(entry.callsTotal, 3);
      assert.deepEqual(entry.calls.map((c) => c.tool), ["faulty.echo", "faulty.echo", "faulty.echo"]);
    },
  },
  {
    name: "rewritten built-ins cannot change the trace: the audit names the tools really called",
    code: () => `
const realPush = Array.prototype.push;
(Array.prototype as any).push = function (...items: any[]) {
  return realPush.apply(this, items.map((item) => (item && typeof item === "object" && "tool" in item ? { ...item, tool: "faulty.whoami" } : item)));
};
const realSet = Map.prototype.set;
(Map.prototype as any).set = function (key: unknown, value: unknown) { return realSet.call(this, key, value); };
const realThen = Promise.prototype.then;
(Promise.prototype as any).then = function (...args: any[]) { return realThen.apply(this, args); };
await everything.get_sum({ a: 1, b: 2 });
await everything.get_sum({ a: 3, b: 4 });
return "done";`,
    check: async (report, probe, code) => {
      assert.equal(report.result, "done", JSON.stringify(report).slice(0, 2000));
      assert.deepEqual(report.calls.map((c) => c.tool), ["everything.get_sum", "everything.get_sum"]);
      const entry = await probe.auditOf(code);
      assert.deepEqual(entry.calls.map((c) => c.tool), ["everything.get_sum", "everything.get_sum"]);
      assert.equal(entry.callsTotal, 2);
    },
  },
  {
    name: "maxToolCalls holds and is audited whatever the program did to built-ins",
    code: ({ limits }) => `${PLANT}
let answered = 0;
for (let i = 0; i < ${limits.maxToolCalls + 20}; i++) {
  try { await faulty.echo({ text: "tamper-count" }); answered++; } catch {}
}
${TRY_SEEN}
return { answered, reached };`,
    check: async (report, probe, code) => {
      const { maxToolCalls } = probe.limits;
      assert.equal(report.isError, false, JSON.stringify(report).slice(0, 2000));
      assert.equal(await received(probe, "tamper-count"), maxToolCalls, "the upstream got exactly maxToolCalls");
      assert.equal(await received(probe, "stolen"), 0);
      assert.equal(report.calls.filter((c) => c.ok).length, maxToolCalls);
      const entry = await probe.auditOf(code);
      assert.ok(entry.limitsHit.includes("maxToolCalls"), JSON.stringify(entry));
      assert.equal(entry.calls.filter((c) => c.ok).length, Math.min(maxToolCalls, 100));
      assert.ok(entry.callsTotal >= maxToolCalls + 20, JSON.stringify(entry));
    },
  },
  {
    name: "maxConcurrentToolCalls holds whatever the program did to built-ins",
    code: ({ limits }) => `${PLANT}
await Promise.allSettled(Array.from({ length: ${limits.maxConcurrentToolCalls * 3} }, () => faulty.slow({ ms: 300 })));
return "settled";`,
    check: async (report, probe) => {
      const { maxConcurrentToolCalls } = probe.limits;
      assert.equal(report.result, "settled", JSON.stringify(report).slice(0, 2000));
      const arrivals = (await probe.faultyLog())
        .filter((entry) => entry.params?.name === "slow" && entry.params?.arguments?.ms === 300)
        .map((entry) => (typeof entry.at === "number" ? entry.at : Date.parse(entry.at)))
        .sort((a, b) => a - b);
      assert.equal(arrivals.length, maxConcurrentToolCalls * 3);
      for (let i = 0; i + maxConcurrentToolCalls < arrivals.length; i++) {
        const gap = arrivals[i + maxConcurrentToolCalls] - arrivals[i];
        assert.ok(gap >= 250, `call ${i + maxConcurrentToolCalls} started ${gap} ms after call ${i}: more than ${maxConcurrentToolCalls} in flight`);
      }
    },
  },
  {
    name: "a Proxy or a getter as arguments reaches the upstream as the plain data it stood for",
    code: () => `
let reads = 0;
const args = new Proxy({ text: "tamper-proxy" }, { get(target, key) { reads++; return (target as any)[key]; } });
const first = await faulty.echo(args as any);
const tricky = { get text() { reads++; return reads > 10 ? "changed" : "tamper-getter"; } };
const second = await faulty.echo(tricky as any);
return { first, second };`,
    check: async (report, probe) => {
      assert.deepEqual(report.result, { first: { echoed: "tamper-proxy" }, second: { echoed: "tamper-getter" } });
      assert.equal(await received(probe, "tamper-proxy"), 1);
      assert.equal(await received(probe, "tamper-getter"), 1);
    },
  },
  {
    name: "a text reply reads as the upstream's text, however slicing, JSON.parse and string indexes are rewritten",
    code: () => `
(String.prototype as any).slice = () => '{"status":"error","kind":"LimitExceeded","message":"forged"}';
(JSON as any).parse = () => ({ status: "ok", value: "forged" });
Object.defineProperty(String.prototype, "0", { get() { return "{"; } });
const said = await everything.echo({ message: "=tamper-text" });
return [said, typeof said];`,
    check: async (report, probe, code) => {
      assert.equal(report.isError, false, JSON.stringify(report).slice(0, 2000));
      assert.deepEqual(report.result, ["Echo: =tamper-text", "string"]);
      const entry = await probe.auditOf(code);
      assert.deepEqual(entry.calls.map((c) => [c.tool, c.ok]), [["everything.echo", true]]);
    },
  },
  {
    name: "a catastrophic regular expression is refused before it runs, however it is reached",
    code: () => `
const subject = "a".repeat(40) + "!";
const attempts: string[] = [];
for (const run of [
  () => /^(a+)+$/.test(subject),
  () => subject.match("^(a+)+$"),
  () => subject.replace(new RegExp("(a+)+$", "g"), "x"),
  () => subject.split(/(a|a+)+$/),
  () => /^(a|aa)+$/.test(subject),
  () => [...subject.matchAll(/(\\w+\\s?)*$/g)],
  () => { const r = /^(a+)+$/; Object.defineProperty(r, "exec", { value: null }); return r.test(subject); },
  () => { (RegExp.prototype as any).exec = () => null; return "replaced"; },
  () => { (RegExp.prototype as any).compile("(a+)+$"); return "compiled"; },
]) {
  try { run(); attempts.push("ran"); } catch (error) { attempts.push((error as Error).name); }
}
return { attempts, safe: "2026-11-29".split(/-/).length };`,
    check: (report) => {
      assert.deepEqual(report.result, {
        attempts: ["UnsafeRegExp", "UnsafeRegExp", "UnsafeRegExp", "UnsafeRegExp", "UnsafeRegExp", "UnsafeRegExp", "UnsafeRegExp", "TypeError", "TypeError"],
        safe: 3,
      });
    },
  },
];
