// @ts-check
// The conformance suite's client role, played by the runner's upstream client: the suite starts
// a scenario server and runs `node client_driver.mjs <scenario URL>`. This driver adds that
// server to a running runner as an upstream (through the operator endpoint), connects to the
// runner as an MCP client, and makes the runner use the upstream: `search`, then an `execute`
// that calls its first tool (each tool, for scenarios that check several); it answers the
// questions the upstream asks its person through the runner. When the runner answers that the
// person must sign in, the driver plays the browser: it opens the runner's sign-in link, submits
// its form, follows the authorization server's redirect back to the runner's callback, and
// tries again.
//
// Environment (set by scripts/conformance.mjs): MIR_RUNNER (the runner's base URL),
// MIR_ADMIN_TOKEN, MIR_ACCESS_KEY (the person the driver signs in as); from the suite:
// MCP_CONFORMANCE_SCENARIO and, for some scenarios, MCP_CONFORMANCE_CONTEXT (JSON).

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const scenarioUrl = process.argv[process.argv.length - 1];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}");
const runner = required("MIR_RUNNER");
const adminToken = required("MIR_ADMIN_TOKEN");
const accessKey = required("MIR_ACCESS_KEY");

/** How many sign-ins the driver completes before it stops: the runner bounds step-ups itself. */
const MAX_SIGN_INS = 4;

/** @param {string} name */
function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** An upstream name for this run: the runner's names are a-z, 0-9 and _. */
const upstream = `c_${scenario.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${process.pid}`.slice(0, 32);

/**
 * The upstream's `auth` for the auth scenarios: the suite's pre-registered client (its secret is
 * the runner's secret CONFORMANCE_CLIENT_SECRET, which scripts/conformance.mjs sets to the
 * suite's value), or the Client ID Metadata Document URL the suite expects.
 */
function auth() {
  if (!scenario.startsWith("auth/")) {
    return undefined;
  }
  const oauth = { type: "oauth", per: "person" };
  if (context.client_id) {
    Object.assign(oauth, { clientId: context.client_id, clientSecret: "${CONFORMANCE_CLIENT_SECRET}" });
  }
  if (scenario === "auth/basic-cimd") {
    Object.assign(oauth, { clientMetadataUrl: "https://conformance-test.local/client-metadata.json" });
  }
  return oauth;
}

/** Scenarios whose checks need each of the server's tools called, one program each. */
const EVERY_TOOL = new Set(["sep-2322-client-request-state"]);

/** The arguments the scenarios' tools need, by tool. */
const ARGUMENTS = { add_numbers: { a: 2, b: 3 }, valid_tool: { region: "us-west1" } };

/** The arguments a scenario's tool wants. @param {string} tool */
function argumentsFor(tool) {
  return ARGUMENTS[/** @type {keyof typeof ARGUMENTS} */ (tool)] ?? {};
}

/**
 * `args` without its null values: the runner refuses arguments that do not fit the tool's
 * schema (a null where a boolean is declared), so a program leaves them out.
 * @param {Record<string, unknown>} args
 */
function withoutNulls(args) {
  return Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null));
}

/** @param {string} path @param {RequestInit} init */
async function admin(path, init = {}) {
  const response = await fetch(`${runner}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
  });
  if (!response.ok) {
    throw new Error(`${init.method ?? "GET"} /admin${path}: HTTP ${response.status} ${await response.text()}`);
  }
}

/** The runner's sign-in link in `text`, if it asks for one. */
function signInLink(text) {
  return text.match(/https?:\/\/[^\s"'`)]+\/oauth\/connect\/[A-Za-z0-9_.-]+/)?.[0];
}

/**
 * The programs the driver runs: the calls the scenario asks for (its context's `toolCalls`),
 * else a call of the first tool `search` found.
 * @param {string} found
 */
function programs(found) {
  /** @param {string} tool */
  const identifier = (tool) => tool.replace(/[^A-Za-z0-9_$]/g, "_");
  /** @param {string} tool @param {unknown} args */
  const program = (tool, args) => `return await ${upstream}.${identifier(tool)}(${JSON.stringify(args)});`;
  if (Array.isArray(context.toolCalls)) {
    return context.toolCalls.map((call) => program(call.name, withoutNulls(call.arguments ?? {})));
  }
  const tools = [...found.matchAll(/function ([A-Za-z_$][\w$]*)\(/g)].map((match) => match[1]);
  const called = EVERY_TOOL.has(scenario) ? tools : tools.slice(0, 1);
  return called.length > 0 ? called.map((tool) => program(tool, argumentsFor(tool))) : [`return "no tool listed";`];
}

/** Plays the browser through the sign-in `link` opens, to the runner's page at the end. */
async function signIn(link) {
  let response = await fetch(link, { method: "POST", redirect: "manual" });
  for (let hops = 0; hops < 5 && response.status >= 300 && response.status < 400; hops += 1) {
    const location = new URL(response.headers.get("location") ?? "", response.url || link);
    response = await fetch(location, { redirect: "manual" });
  }
  const page = await response.text();
  if (!response.ok) {
    console.error(`sign-in ended with HTTP ${response.status}: ${page.replace(/<[^>]+>/g, " ").slice(0, 300)}`);
  }
}

/** The text of a tool result. @param {any} result */
const text = (result) => (result.content ?? []).map((c) => c.text ?? "").join("\n");

await admin(`/upstreams/${upstream}`, {
  method: "PUT",
  // A short timeout: scenarios whose server never answers (it waits for a client feature the
  // runner lacks) end within the suite's 30 s.
  body: JSON.stringify({ name: upstream, url: scenarioUrl, timeoutMs: 8000, auth: auth() }),
});
// The driver's person answers what an upstream asks them (the runner passes it on) by accepting
// the form as it is offered: each field's default.
const client = new Client({ name: "conformance-driver", version: "1.0.0" }, { capabilities: { elicitation: {} } });
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  const schema = /** @type {{ properties?: Record<string, { default?: unknown }> }} */ (request.params.requestedSchema ?? {});
  const offered = Object.entries(schema.properties ?? {}).filter(([, field]) => field.default !== undefined);
  return { action: "accept", content: Object.fromEntries(offered.map(([name, field]) => [name, field.default])) };
});
await client.connect(
  new StreamableHTTPClientTransport(new URL(`${runner}/mcp?upstreams=${upstream}`), {
    requestInit: { headers: { authorization: `Bearer ${accessKey}` } },
  }),
);
try {
  for (let signIns = 0; ; signIns += 1) {
    const found = text(await client.callTool({ name: "search", arguments: { query: upstream } }));
    let link = signInLink(found);
    for (const code of programs(found)) {
      const executed = text(await client.callTool({ name: "execute", arguments: { code } }));
      console.log(executed.slice(0, 500));
      link ??= signInLink(executed);
    }
    if (!link || signIns >= MAX_SIGN_INS) {
      break;
    }
    await signIn(link);
  }
} finally {
  await client.close();
  await admin(`/upstreams/${upstream}`, { method: "DELETE" });
}
