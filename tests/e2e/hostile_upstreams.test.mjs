// What a hostile upstream can no longer do to the runner. tests/upstreams/hostile_server.mjs (a
// real MCP SDK server) is configured four times: as `hostile` (maxConcurrentCalls 1, a secret
// credential), as `hostile_free` (no call limit, the control for the concurrency test), as
// `hostile_crowded` (20,000 more tools, seen only by a session opened for it) and as
// `hostile_bulky` (9 MB more of wide tools, seen only by a session opened for it). Each test
// measures against a real wrangler dev: what a 10 MB result adds to an execute against what it
// adds to a direct SDK call, `search` over a 50,000-value enum while another session works, a
// 2 MB description, a schema nested 120 levels, a schema whose $refs fan out, 20,000 tools
// named alike, a tool list past the runner's bytes, a question whose params are not an object,
// a 60 MB result and the runner's memory after it, an HTTP 400 to a call, and a burst of
// parallel calls at the upstream.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { workerdRssMiB } from "../../benches/lib/measure.mjs";
import { adminRequest, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const SECRET = "hostile-credential-5d2b71";
const ADMIN_TOKEN = "operator-token-for-hostile-tests";
const MIB = 1024 * 1024;
const DEFAULT_MAX_RESULT_BYTES = 16 * MIB;
/** The hostile server's own tools, before a crowd or a bulk is added. */
const HOSTILE_TOOLS = 11;
/** Tools the crowded upstream adds, all named alike: "x" and four marks, each `x____` in JavaScript. */
const CROWD = 20_000;
/** Tools of about 56 KB the bulky upstream adds after `too_wide` (3.7 MB): 9 MB in all. */
const BULK = 100;

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

/** Milliseconds `work` takes, and its value. */
async function timed(work) {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

describe("hostile upstreams", () => {
  let stack;
  let client;
  let other;
  let crowded;
  let bulky;
  let direct;
  /** Everything the runner returned, for the secret scan. */
  const seen = [];

  const run = async (code, on = client) => {
    const report = await execute(on, code);
    seen.push(JSON.stringify(report));
    return report;
  };
  const search = async (query, on = client) => {
    const result = await on.callTool({ name: "search", arguments: { query } });
    const text = result.content[0].text;
    seen.push(text);
    return text;
  };

  before(async () => {
    stack = await startStack({
      hostile: {
        hostile: { maxConcurrentCalls: 1, headers: { Authorization: "Bearer ${HOSTILE_TOKEN}" } },
        hostile_free: {},
        hostile_crowded: { headers: { "X-Hostile-Crowd": String(CROWD) } },
        hostile_bulky: { headers: { "X-Hostile-Bulk": String(BULK) } },
      },
      secrets: { HOSTILE_TOKEN: SECRET, ADMIN_TOKEN },
    });
    // Only the crowded session sees the crowded upstream's 20,000 tools.
    const scoped = `${stack.url}?upstreams=everything,inventory,inventory_json,hostile,hostile_free`;
    client = await connectTypeScript(scoped);
    other = await connectTypeScript(scoped);
    crowded = await connectTypeScript(`${stack.url}?upstreams=hostile_crowded`);
    bulky = await connectTypeScript(`${stack.url}?upstreams=hostile_bulky`);
    direct = await connectTypeScript(stack.hostile.url);
  });

  after(async () => {
    await Promise.all([client?.close(), other?.close(), crowded?.close(), bulky?.close(), direct?.close()]);
    stack?.stop();
  });

  test("a schema nested 120 levels is cut and marked, and the upstream keeps its other tools", async () => {
    const { tools } = await client.listTools();
    const description = tools.find((t) => t.name === "execute").description;
    assert.ok(description.includes(`- hostile (${HOSTILE_TOOLS} functions)`), description);
    assert.ok(description.includes(`- hostile_free (${HOSTILE_TOOLS} functions)`), description);

    const declaration = await search("hostile.deep_schema");
    assert.match(declaration, /function deep_schema\(/);
    assert.match(declaration, /\/\*\* \[cut by the runner: nested deeper than 12 levels; the upstream checks what is not shown\] \*\/\n\s+child: unknown;/);

    let node = "bottom";
    for (let level = 0; level < 120; level += 1) {
      node = { child: node };
    }
    const report = await run(`return [await hostile.deep_schema({ node: ${JSON.stringify(node)} }), await hostile.echo({ text: "still here" })];`);
    assert.deepEqual(report.result, ["depth 120", { echoed: "still here" }], JSON.stringify(report));
  });

  // Checked naively, the wrong `x` below is 2^31 steps: the upstream's object would never
  // answer again, and locally workerd's one thread would hold every session with it.
  test("arguments whose check would fan out through $refs are left to the upstream, at once", { timeout: 30_000 }, async () => {
    const { ms, value: report } = await timed(() => run("return await hostile.fanning_schema({ x: 1 });"));
    assert.equal(report.result, "reached with 1", JSON.stringify(report));
    assert.ok(ms < 2_000, `the execute took ${ms} ms`);
    const checked = await run('try { await hostile.pick_code({ code: 7 }); } catch (e) { return e.name; }');
    assert.equal(checked.result, "InvalidArguments", "other tools' arguments are still checked");
  });

  // Numbering 20,000 colliding names, or rendering a whole namespace to cut it down to the
  // budget, took over a minute when each step looked at every name before it.
  test("an upstream listing 20,000 tools named alike is searched and called at once", { timeout: 30_000 }, async () => {
    const listed = await timed(() => search("hostile_crowded", crowded));
    assert.ok(listed.ms < 2_000, `search took ${listed.ms} ms`);
    assert.match(listed.value, /function x____\(/);
    assert.match(listed.value, /function x_____2\(/);
    const [, left] = listed.value.match(/\/\/ (\d+) more functions match/) ?? [];
    assert.ok(Number(left) > 19_000, listed.value.slice(-300));

    const called = await timed(() => run("return [await hostile_crowded.x_____2({}), await hostile_crowded.x_____20000({})];", crowded));
    assert.deepEqual(called.value.result, ["called x.---", "called x~&#*"], JSON.stringify(called.value).slice(0, 500));
    assert.ok(called.ms < 2_000, `the execute took ${called.ms} ms`);
  });

  // Unbounded, a list like this one (or 50 pages of it) is read by the Worker for every
  // session whose scope holds the upstream, in the memory those sessions share.
  test("a tool list past the runner's bytes keeps the tools that fit, cuts one too wide to show, and counts the rest", async () => {
    // The note comes before the upstream's 3,000-character description, which the declaration
    // quotes only the start of.
    const declaration = await search("hostile_bulky.too_wide", bulky);
    assert.ok(declaration.length < 5_000, `the declaration is ${declaration.length} characters`);
    assert.match(declaration, /cut by the runner: the upstream's definition of this tool takes \d+ bytes, over the runner's 65536; its parameters are not listed, any arguments are passed on, and the upstream checks them/);
    const report = await run(`return [
  await hostile_bulky.too_wide({ p0: "a", p3999: "b" }),
  await hostile_bulky.bulky_0({}),
  typeof hostile_bulky.bulky_${BULK - 1},
];`, bulky);
    assert.deepEqual(report.result, ["called too_wide", "called bulky_0", "undefined"], JSON.stringify(report).slice(0, 500));

    const { status, text } = await adminRequest(stack.base, ADMIN_TOKEN, "/admin/upstreams");
    assert.equal(status, 200, text);
    const upstream = JSON.parse(text).upstreams.find((u) => u.name === "hostile_bulky");
    const listed = HOSTILE_TOOLS + 1 + BULK;
    assert.ok(upstream.toolsLeftOut > 0 && upstream.toolsLeftOut < BULK, JSON.stringify(upstream));
    assert.equal(upstream.upstreamToolCount + upstream.toolsLeftOut, listed);
  });

  test("search over a 50,000-value enum answers within 500 ms and another session is unaffected", async (t) => {
    // Both sessions have listed once: the lists are fetched and cached.
    await other.listTools();
    const alone = [];
    for (let i = 0; i < 3; i += 1) {
      alone.push((await timed(() => search("sum two numbers", other))).ms);
    }
    const [hostileSearch, otherSearch] = await Promise.all([
      timed(() => search("hostile.pick_code")),
      timed(() => search("sum two numbers", other)),
    ]);
    t.diagnostic(`enum search ${hostileSearch.ms.toFixed(0)} ms; other session ${otherSearch.ms.toFixed(0)} ms meanwhile, ${median(alone).toFixed(0)} ms alone`);
    assert.ok(hostileSearch.ms < 500, `search took ${hostileSearch.ms} ms`);
    assert.ok(otherSearch.ms < median(alone) + 250, `the other session's search took ${otherSearch.ms} ms`);
    assert.match(otherSearch.value, /function get_sum/);

    const declaration = hostileSearch.value;
    assert.ok(declaration.length < 10_000, `the declaration is ${declaration.length} characters`);
    assert.match(declaration, /code: string;/);
    assert.match(declaration, /cut by the runner: the upstream lists 50000 allowed values .*the first 20 are \\?"code_00000\\?", \\?"code_00001\\?",/);

    const report = await run(`const picked = await hostile.pick_code({ code: "code_49999" });
let refused;
try { await hostile.pick_code({ code: "nope" }); } catch (e) { refused = e.name; }
return { picked, refused };`);
    assert.deepEqual(report.result, { picked: "picked code_49999", refused: "UpstreamToolError" }, JSON.stringify(report));
  });

  test("a question whose params are not an object is refused to the upstream, and the runner goes on", async () => {
    // A client that answers elicitations, so the runner would pass the question on.
    const asking = new Client({ name: "e2e-asking", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    const asked = [];
    asking.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: "decline" };
    });
    await asking.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}?upstreams=hostile`)));
    try {
      const report = await run("return await hostile.odd_question({});", asking);
      assert.equal(
        report.result,
        "refused: -32602 MCP error -32602: elicitation/create needs its params as an object; the runner did not pass it on",
        JSON.stringify(report),
      );
      assert.deepEqual(asked, [], "the person is not asked");
      const after = await run('return await hostile.echo({ text: "still here" });', asking);
      assert.deepEqual(after.result, { echoed: "still here" });
    } finally {
      await asking.close();
    }
  });

  test("a 2 MB description is capped, saying how long it was", async () => {
    const declaration = await search("hostile.long_description");
    assert.ok(declaration.length < 10_000, `the declaration is ${declaration.length} characters`);
    const [, chars] = declaration.match(/cut by the runner: (\d+) characters, the first 1800 shown/) ?? [];
    assert.ok(Number(chars) > 2_000_000, declaration.slice(0, 300));
  });

  // Runs and reports, but does not fail the suite yet: measured at 1.2x to 1.55x (issue 15's open
  // item), too near the bound for a gate. The runner's call of the tool costs less than the
  // direct call; the rest is an execute's fixed cost (about 45 ms at the client for
  // `return 1;`), most of it V8 compiling the runner's wasm again after dropping its baseline
  // code at each isolate workerd starts (docs/benchmarks.md, "Where the time goes").
  // What a 10 MB result costs is what it adds to a call: through the runner, an execute whose
  // program fetches it against the same execute fetching a small result from the same upstream;
  // directly, the SDK's call of it against its call of the small one. An execute's own cost,
  // the same whatever its calls return (isolate, program checks, MCP session), is issue 21's
  // overhead target, and the diagnostic shows the whole-execute ratio beside.
  test("a 10 MB result adds within 1.5x of what it adds to a direct call to the upstream", async (t) => {
    const directCall = (name, args) => () => direct.callTool({ name, arguments: args });
    const large = { direct: directCall("sized_result", { megabytes: 10 }), runner: () => run("const text = await hostile.sized_result({ megabytes: 10 }); return text.length;") };
    const small = { direct: directCall("echo", { text: "small" }), runner: () => run("const { echoed } = await hostile.echo({ text: \"small\" }); return echoed.length;") };
    const ms = { large: { direct: [], runner: [] }, small: { direct: [], runner: [] } };
    for (let round = -1; round < 9; round += 1) {
      for (const [size, ways] of Object.entries({ large, small })) {
        for (const [way, work] of Object.entries(ways)) {
          const { ms: took, value } = await timed(work);
          const length = way === "direct" ? value.content[0].text.length : value.result;
          assert.ok(size === "large" ? length === 10 * MIB : length > 0, `${size} ${way}: ${JSON.stringify(value).slice(0, 300)}`);
          if (round >= 0) {
            ms[size][way].push(took);
          }
        }
      }
    }
    const added = (way) => median(ms.large[way]) - median(ms.small[way]);
    const ratio = added("runner") / added("direct");
    const list = (samples) => samples.map((took) => took.toFixed(0)).join(", ");
    t.diagnostic(`10 MB: direct ${list(ms.large.direct)} ms, small ${list(ms.small.direct)} ms; through execute ${list(ms.large.runner)} ms, small ${list(ms.small.runner)} ms`);
    t.diagnostic(`10 MB adds ${added("direct").toFixed(0)} ms to a direct call and ${added("runner").toFixed(0)} ms to an execute: ratio ${ratio.toFixed(2)}; whole executes against direct calls: ${(median(ms.large.runner) / median(ms.large.direct)).toFixed(2)}`);
    assert.ok(ratio <= 1.5, `a 10 MB result adds ${added("runner").toFixed(0)} ms to an execute, ${added("direct").toFixed(0)} ms to a direct call`);
  });

  test("a 10 MB result comes back as JSON within the token budget, its structure kept and its cuts marked", async () => {
    const report = await run("return await hostile.sized_list({ megabytes: 10 });");
    assert.equal(report.isError, false, JSON.stringify(report).slice(0, 500));
    const records = report.result;
    assert.ok(Array.isArray(records), JSON.stringify(report).slice(0, 500));
    assert.deepEqual(records[0], { id: 0, name: "record 0", tags: ["alpha", "beta"], score: 0 });
    const [, left, all] = records.at(-1).match(/^… and (\d+) more items \((\d+) in all\)$/) ?? [];
    assert.equal(Number(left), Number(all) - (records.length - 1));
    assert.ok(Number(all) > 100_000, `${all} records`);
    assert.ok(JSON.stringify(records).length < 18_000 * 4, "within the default budget of 18,000 tokens");
    assert.match(report.resultCut, /an array keeps its first items[^]*return less/);
  });

  test("a 60 MB result fails as too large, naming the size and the limit, and its memory is not kept", async (t) => {
    const before = workerdRssMiB(stack.runnerProcessGroup);
    for (let i = 0; i < 3; i += 1) {
      const report = await run(`try { await hostile.sized_result({ megabytes: 60 }); } catch (e) { return [e.name, e.message]; }`);
      assert.equal(report.result?.[0], "UpstreamResultTooLarge", JSON.stringify(report));
      assert.match(report.result[1], new RegExp(`^hostile\\.sized_result: the answer is too large: more than ${DEFAULT_MAX_RESULT_BYTES} bytes \\(reading stopped at \\d+\\), over this upstream's limit of ${DEFAULT_MAX_RESULT_BYTES} bytes \\(maxResultBytes\\); the runner did not read it$`));
    }
    const grown = workerdRssMiB(stack.runnerProcessGroup) - before;
    t.diagnostic(`workerd resident memory: ${before} MiB before three 60 MB results, grew by ${grown.toFixed(1)} MiB`);
    assert.ok(grown < 64, `workerd grew by ${grown} MiB`);
    const report = await run('return await hostile.echo({ text: "after" });');
    assert.deepEqual(report.result, { echoed: "after" });
  });

  test("an HTTP 400 to a call reports the upstream's error, redacted and quoted, and keeps the session", async () => {
    const report = await run(`const before = await hostile.session_id({});
let failure;
try { await hostile.bad_request({}); } catch (e) { failure = [e.name, e.message]; }
const after = await hostile.session_id({});
return { before, after, failure };`);
    assert.equal(report.isError, false, JSON.stringify(report));
    const { before, after, failure } = report.result;
    assert.deepEqual(failure, [
      "UpstreamHttpError",
      'hostile.bad_request: HTTP 400: JSON-RPC error -32602 "order 7 is locked by another user (request carried Bearer [redacted])"',
    ]);
    assert.match(before, /^[0-9a-f-]{36}$/);
    assert.equal(after, before, "the same upstream session before and after the 400");
  });

  test("maxConcurrentCalls 1: a burst of parallel calls reaches the upstream one at a time", async () => {
    const burst = (namespace, key) => run(`const started = Date.now();
const answers = await Promise.all(Array.from({ length: 6 }, () => ${namespace}.concurrency({ key: "${key}", ms: 100 })));
return { peaks: answers.map((a) => a.peak), ms: Date.now() - started };`);
    const key = `limited-${Date.now()}`;
    const limited = await burst("hostile", key);
    assert.deepEqual(limited.result.peaks, [1, 1, 1, 1, 1, 1], JSON.stringify(limited));
    assert.ok(limited.result.ms >= 600, `six 100 ms calls in turn took ${limited.result.ms} ms`);

    const controlKey = `free-${Date.now()}`;
    const free = await burst("hostile_free", controlKey);
    assert.ok(Math.max(...free.result.peaks) > 1, `without the limit the calls overlap: ${JSON.stringify(free.result)}`);

    const peaks = await stack.hostile.peaks();
    assert.equal(peaks[key], 1);
    assert.ok(peaks[controlKey] > 1);
  });

  test("the hostile upstream's credential appears in no result and no log line", () => {
    const logs = readFileSync(stack.runnerLog, "utf8");
    const leaks = [...seen, logs].filter((text) => text.includes(SECRET));
    assert.deepEqual(leaks, []);
  });
});
