// The runner's metrics against a real `wrangler dev`: after a listing and a few executions,
// the `runner://metrics` resource counts them (success rate, errors by class, latencies,
// tokens saved) showing per-upstream figures only for the caller's upstreams, and GET /metrics
// serves the same counts to the operator in the Prometheus text format, as Prometheus's own
// Python parser reads it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const ADMIN_TOKEN = "e2e-metrics-operator-token";

/** Parses Prometheus text with prometheus_client; returns [{ name, labels, value }]. */
async function parsePrometheus(text) {
  const script = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = [{"name": s.name, "labels": s.labels, "value": s.value}
           for family in text_string_to_metric_families(sys.stdin.read()) for s in family.samples]
print(json.dumps(samples))`;
  const child = promisify(execFile)(`${process.env.MIR_VENV}/bin/python`, ["-c", script]);
  child.child.stdin.end(text);
  return JSON.parse((await child).stdout);
}

describe("metrics", () => {
  let stack;
  let client;
  before(async () => {
    stack = await startStack({ secrets: { ADMIN_TOKEN } });
    client = await connectTypeScript(stack.url);
  });
  after(async () => {
    await client?.close();
    stack?.stop();
  });

  /** The metrics resource as `reader` reads it. */
  async function readMetrics(reader) {
    const { contents } = await reader.readResource({ uri: "runner://metrics" });
    assert.equal(contents[0].mimeType, "application/json");
    return JSON.parse(contents[0].text);
  }

  /** The metrics once they count `executions` (the ledger is told after each answer), or after 10 s. */
  async function metricsCounting(executions) {
    let metrics;
    const deadline = Date.now() + 10_000;
    do {
      await sleep(100);
      metrics = await readMetrics(client);
    } while (metrics.executions < executions && Date.now() < deadline);
    return metrics;
  }

  test("the metrics resource is listed", async () => {
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ["runner://metrics"]);
  });

  test("executions are counted with their errors, latencies and the tokens they saved", async () => {
    await client.listTools();
    const fanOut = `const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => everything.get_sum({ a: i, b: 1 })));
return sums.length;`;
    assert.equal((await execute(client, fanOut)).result, 20);
    assert.equal((await execute(client, "return await everything.get_sum({ a: 2, b: 40 });")).isError, false);
    assert.equal((await execute(client, "const o: any = null;\nreturn o.field;")).error.name, "TypeError");

    const metrics = await metricsCounting(3);
    assert.equal(metrics.executions, 3);
    assert.equal(metrics.endings.returned, 2);
    assert.equal(metrics.endings.threw, 1);
    assert.ok(Math.abs(metrics.successRate - 2 / 3) < 1e-9);
    assert.equal(metrics.errors.TypeError, 1);
    assert.equal(metrics.toolCalls, 21);
    assert.ok(metrics.toolListings >= 1);
    assert.equal(metrics.latencyMs.execution.count, 3);
    assert.equal(metrics.latencyMs.isolateSpawn.count, 3);
    assert.equal(metrics.latencyMs.upstreamCalls.everything.count, 21);
    assert.ok(metrics.latencyMs.upstreamCalls.everything.p95 >= metrics.latencyMs.upstreamCalls.everything.p50);
    assert.equal(metrics.callsPerExecution.max, 20);
    assert.ok(metrics.tokensSavedEstimate.definitions > 1000, JSON.stringify(metrics.tokensSavedEstimate));
    assert.ok(metrics.tokensSavedEstimate.intermediateResults > 100, JSON.stringify(metrics.tokensSavedEstimate));

    const scoped = await connectTypeScript(`${stack.url}?upstreams=inventory`);
    try {
      const theirs = await readMetrics(scoped);
      assert.equal(theirs.executions, 3, "the counts are the runner's");
      assert.deepEqual(Object.keys(theirs.latencyMs.upstreamCalls), [], "but no other upstream's figures");
    } finally {
      await scoped.close();
    }
  });

  test("GET /metrics gives the operator the same counts in Prometheus text", async () => {
    assert.equal((await fetch(`${stack.base}/metrics`)).status, 401);
    const response = await fetch(`${stack.base}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    const samples = await parsePrometheus(await response.text());
    const value = (name, labels = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value("mir_executions_total", { ending: "returned" }), 2);
    assert.equal(value("mir_execution_errors_total", { class: "TypeError" }), 1);
    assert.equal(value("mir_tool_calls_total"), 21);
    assert.equal(value("mir_upstream_call_duration_seconds_count", { upstream: "everything" }), 21);
    assert.equal(value("mir_upstream_call_duration_seconds_bucket", { upstream: "everything", le: "+Inf" }), 21);
    assert.equal(value("mir_isolate_spawn_seconds_count"), 3);
    assert.ok(value("mir_tokens_saved_estimate_total", { source: "definitions" }) > 1000);
  });

  // A program names its own errors: counted by name, each execution could add a label to the
  // metrics every execution rewrites and the operator's scraper stores.
  test("an error the program named itself is counted as other, and its name stays in the audit only", async () => {
    const named = 'const e = new Error("mine"); e.name = "Label_" + "x".repeat(5000); throw e;';
    assert.match((await execute(client, named)).error.name, /^Label_x+$/);
    assert.match((await auditEntry(stack.base, ADMIN_TOKEN, named)).error, /^Label_x+$/);
    const metrics = await metricsCounting(4);
    assert.equal(metrics.executions, 4);
    assert.deepEqual(Object.keys(metrics.errors).sort(), ["TypeError", "other"]);
    assert.equal(metrics.errors.other, 1);
    const response = await fetch(`${stack.base}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await response.text();
    assert.doesNotMatch(text, /Label_/);
    assert.match(text, /mir_execution_errors_total\{class="other"\} 1/);
  });
});
