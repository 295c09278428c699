// Runs the official MCP conformance suite in its three roles against a real `wrangler dev`: the
// server scenarios with real upstreams, the authorization-server scenarios against the runner's
// OAuth layer, and the client scenarios against the runner's upstream client (through
// tests/conformance/client_driver.mjs); writes docs/conformance.md.
//
//     node scripts/conformance.mjs          (make conformance)
//
// Runs: the latest stable suite (0.1.x) for spec 2025-11-25, and the 0.2.0 alpha for the
// scenarios 2025-11-25 and 2026-07-28 require and for the authorization server (a client
// registered by DCR; this script plays the browser, signing in with an access key), and the
// client scenarios each requirements file scores. A scenario passes when none of its checks
// fails.
// Every run must match tests/conformance/baseline.json exactly: any other failure, or a
// baseline entry that now passes, fails the run.

import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { parse as parseYaml } from "yaml";

import { signInWithKey } from "../tests/support/oauth.mjs";
import { ROOT, freePort, startStack } from "../tests/support/stack.mjs";

const BASELINE = JSON.parse(readFileSync(join(ROOT, "tests/conformance/baseline.json"), "utf8"));
const suiteVersion = (alias) => JSON.parse(readFileSync(join(ROOT, "node_modules", alias, "package.json"), "utf8")).version;

const RUNS = [
  { alias: "mcp-conformance-stable", revision: "2025-11-25", args: ["--spec-version", "2025-11-25"] },
  { alias: "mcp-conformance-next", revision: "2025-11-25", args: ["--requirements", "2025-11-25"] },
  { alias: "mcp-conformance-next", revision: "2026-07-28", args: ["--requirements", "2026-07-28"] },
];

/**
 * The client role: the alpha suite's scored client scenarios of each revision, each run on its
 * own (run together they all start at once and time out on two cores), against the runner's
 * upstream client through tests/conformance/client_driver.mjs.
 */
const CLIENT_RUNS = [
  { alias: "mcp-conformance-next", revision: "client 2025-11-25", spec: "2025-11-25" },
  { alias: "mcp-conformance-next", revision: "client 2026-07-28", spec: "2026-07-28" },
];
/** How long one client scenario may take, the suite's own 30 s for the client included. */
const SCENARIO_TIMEOUT_MS = 75_000;
/** The operator token and the sealing key of the runner the client role runs against. */
const CLIENT_ADMIN_TOKEN = "conformance-admin-token-51c0";
const CLIENT_TOKEN_KEY = "conformance-token-key-0f4e8a2b9c7d6e5f4a3b2c1d";
/** The suite's pre-registered client's secret (auth/pre-registration), set as a runner secret. */
const PRE_REGISTERED_SECRET = "pre-registered-secret";

/** The authorization-server role: the alpha suite, against a runner whose people sign in. */
const AUTHORIZATION_RUN = { alias: "mcp-conformance-next", revision: "authorization server" };
/** The access key the script signs in with in the authorization-server role. */
const CONFORMANCE_KEY = "conformance-sign-in-key-8e4b";

/** Runs one suite; returns [{ scenario, passed, failed, failures }] in the suite's order. */
async function runSuite(url, { alias, args }) {
  const out = mkdtempSync(join(tmpdir(), "mir-conformance-"));
  const cli = join(ROOT, "node_modules", alias, "dist/index.js");
  // The CLI exits non-zero when any scenario fails; the baseline decides what that means.
  await promisify(execFile)(process.execPath, [cli, "server", "--url", url, "-o", out, ...args], {
    maxBuffer: 64 << 20,
    timeout: 15 * 60_000,
  }).catch((error) => {
    if (error.code === undefined || error.killed) {
      throw error;
    }
  });
  return results(out);
}

/**
 * Runs the suite's authorization-server scenarios against the runner at `stack`: registers a
 * client whose redirect URI is the suite's callback server, and when the suite prints the
 * authorization URL for a person to open, signs in there and delivers the redirect to it.
 */
async function runAuthorization(stack, { alias }) {
  const out = mkdtempSync(join(tmpdir(), "mir-conformance-"));
  const cli = join(ROOT, "node_modules", alias, "dist/index.js");
  const port = await freePort();
  const registered = await fetch(`${stack.base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "MCP conformance suite",
      redirect_uris: [`http://127.0.0.1:${port}/callback`],
      token_endpoint_auth_method: "none",
    }),
  });
  const { client_id: clientId } = await registered.json();
  const args = ["authorization", "--url", stack.base, "--client-id", clientId, "--resource", stack.url, "--port", String(port), "-o", out];
  const suite = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => suite.on("exit", resolve));
  const timeout = setTimeout(() => suite.kill(), 5 * 60_000);
  for await (const line of createInterface({ input: suite.stdout })) {
    if (line.startsWith(`${stack.base}/authorize?`)) {
      const back = await signInWithKey(line, CONFORMANCE_KEY);
      await (await fetch(back)).text();
    }
  }
  await exited;
  clearTimeout(timeout);
  return results(out);
}

/** The client scenarios `alias`'s requirements for `spec` score. */
function clientScenarios(alias, spec) {
  const file = join(ROOT, "node_modules", alias, "requirements", `${spec}.yaml`);
  const { client } = parseYaml(readFileSync(file, "utf8"));
  return client;
}

/** Runs the client scenarios of `run` one by one against the runner at `stack`. */
async function runClient(stack, { alias, spec }) {
  const cli = join(ROOT, "node_modules", alias, "dist/index.js");
  const driver = join(ROOT, "tests/conformance/client_driver.mjs");
  const env = { ...process.env, MIR_RUNNER: stack.base, MIR_ADMIN_TOKEN: CLIENT_ADMIN_TOKEN, MIR_ACCESS_KEY: CONFORMANCE_KEY };
  const found = [];
  for (const scenario of clientScenarios(alias, spec)) {
    const out = mkdtempSync(join(tmpdir(), "mir-conformance-"));
    const args = [cli, "client", "--command", `${process.execPath} ${driver}`, "--scenario", scenario, "--spec-version", spec, "-o", out];
    // The CLI exits non-zero when the scenario fails; the baseline decides what that means.
    const ran = await promisify(execFile)(process.execPath, args, { env, maxBuffer: 64 << 20, timeout: SCENARIO_TIMEOUT_MS }).catch((error) => {
      if (error.killed) {
        return { hung: true };
      }
      if (error.code === undefined) {
        throw error;
      }
      return {};
    });
    if (ran.hung) {
      const failures = [`scenario: the suite did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s`];
      found.push({ scenario, passed: 0, failed: 1, failures });
    } else {
      found.push(...results(out, scenario));
    }
  }
  return found;
}

/** The scenarios a suite run left in `out`: [{ scenario, passed, failed, failures }]. */
function results(out, only) {
  // A client scenario's name may hold a folder (`auth/…`): then its results are one level down.
  const base = only?.includes("/") ? join(out, only.split("/")[0]) : out;
  return readdirSync(base)
    .sort()
    .map((dir) => {
      const file = join(base, dir, "checks.json");
      // A scenario that could not run (its first request failed) leaves no checks.
      const checks = existsSync(file)
        ? JSON.parse(readFileSync(file, "utf8"))
        : [{ id: "scenario", status: "FAILURE", errorMessage: "the scenario could not run" }];
      const failures = checks.filter((c) => c.status === "FAILURE" || (only && c.status === "WARNING"));
      return {
        scenario: only ?? dir.replace(/^(authorization-server|server)-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, ""),
        passed: checks.filter((c) => c.status === "SUCCESS").length,
        failed: failures.length,
        failures: failures.map((c) => `${c.id}: ${(c.errorMessage ?? "").split("\n")[0].slice(0, 160)}`),
      };
    });
}

/** What is wrong with `results` against the baseline for `revision`. */
function problems(results, revision) {
  const expected = BASELINE[revision] ?? {};
  const found = [];
  for (const { scenario, failed, failures } of results) {
    if (failed > 0 && !(scenario in expected)) {
      found.push(`${revision} ${scenario} fails and is not in the baseline: ${failures.join("; ")}`);
    }
    if (failed === 0 && scenario in expected) {
      found.push(`${revision} ${scenario} passes now: remove it from tests/conformance/baseline.json`);
    }
  }
  return found;
}

function markdown(reports) {
  const lines = [
    "# Conformance",
    "",
    "Generated by `make conformance` (`scripts/conformance.mjs`): the official",
    "[`@modelcontextprotocol/conformance`](https://www.npmjs.com/package/@modelcontextprotocol/conformance)",
    "server scenarios against `wrangler dev` with server-everything and the Python inventory server",
    "as upstreams; its authorization-server scenarios against the runner's OAuth layer (a client",
    "registered by DCR; the script plays the browser and signs in with an access key); and its",
    "client scenarios against the runner's upstream client: `tests/conformance/client_driver.mjs`",
    "adds each scenario's server as an upstream through the operator endpoint, calls it through",
    "`search` and `execute`, and plays the browser through the runner's sign-in links. A scenario",
    "passes when none of its checks fails (a client scenario, no warning either). Expected failures, each with",
    "its reason, are in `tests/conformance/baseline.json`; any other failure fails `make test`.",
    "",
    "| suite | requirements | scenarios passing | expected failures | other failures |",
    "|---|---|---|---|---|",
  ];
  for (const { run, version, results } of reports) {
    const expected = BASELINE[run.revision] ?? {};
    const passing = results.filter((r) => r.failed === 0).length;
    const baseline = results.filter((r) => r.failed > 0 && r.scenario in expected).length;
    const other = results.filter((r) => r.failed > 0 && !(r.scenario in expected)).length;
    lines.push(`| ${version} | ${run.revision} | ${passing} of ${results.length} | ${baseline} | ${other} |`);
  }
  for (const { run, version, results } of reports) {
    const expected = BASELINE[run.revision] ?? {};
    lines.push("", `## ${version}, ${run.revision}`, "", "| scenario | checks passed | checks failed | result |", "|---|---|---|---|");
    for (const { scenario, passed, failed } of results) {
      const result = failed === 0 ? "pass" : scenario in expected ? `expected: ${expected[scenario]}` : "**fail**";
      lines.push(`| ${scenario} | ${passed} | ${failed} | ${result} |`);
    }
  }
  lines.push("");
  return lines.join("\n");
}

/** Records `results` of `run` in `reports` and says how it went. */
function report(reports, run, results) {
  reports.push({ run, version: `${run.alias.replace("mcp-conformance-", "")} ${suiteVersion(run.alias)}`, results });
  const passing = results.filter((r) => r.failed === 0).length;
  console.log(`conformance ${suiteVersion(run.alias)} ${run.revision}: ${passing} of ${results.length} scenarios pass`);
}

const reports = [];
const signedIn = await startStack({
  publicUrl: true,
  secrets: {
    RUNNER_TOKEN: `conformance=${CONFORMANCE_KEY}`,
    ADMIN_TOKEN: CLIENT_ADMIN_TOKEN,
    UPSTREAM_TOKEN_KEY: CLIENT_TOKEN_KEY,
    CONFORMANCE_CLIENT_SECRET: PRE_REGISTERED_SECRET,
  },
});
try {
  report(reports, AUTHORIZATION_RUN, await runAuthorization(signedIn, AUTHORIZATION_RUN));
  for (const run of CLIENT_RUNS) {
    report(reports, run, await runClient(signedIn, run));
  }
} finally {
  signedIn.stop();
}
const stack = await startStack();
try {
  for (const run of RUNS) {
    report(reports, run, await runSuite(stack.url, run));
  }
  writeFileSync(join(ROOT, "docs/conformance.md"), markdown(reports));
  const found = reports.flatMap((r) => problems(r.results, r.run.revision));
  if (found.length > 0) {
    console.error(found.join("\n"));
    process.exitCode = 1;
  } else {
    console.log("conformance: every failure is in the baseline; docs/conformance.md written");
  }
} finally {
  stack.stop();
}
