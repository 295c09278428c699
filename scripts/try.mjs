// `make try`: connects to a running runner with the MCP TypeScript SDK, lists its tools and
// runs one `execute` against the demo upstream. Usage: node scripts/try.mjs [MCP URL]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.argv[2] ?? "http://127.0.0.1:8787/mcp");
const code = "return await everything.get_sum({ a: 2, b: 40 });";

// Nothing listening is the usual mistake: say what to do rather than print a fetch stack.
const listening = await fetch(url, { method: "GET" }).then(() => true, () => false);
if (!listening) {
  console.error(`make try: nothing answers at ${url}.\nStart the runner with \`make dev\` in another terminal, then run \`make try\` again.`);
  process.exit(1);
}

const client = new Client({ name: "mcp-isolate-runner-try", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(url));
const { tools } = await client.listTools();
console.log(`tools: ${tools.map((t) => t.name).join(", ")}`);
const result = await client.callTool({ name: "execute", arguments: { code } });
console.log(`execute: ${code}`);
console.log(JSON.stringify(result.structuredContent, null, 2));
await client.close();
process.exitCode = result.isError ? 1 : 0;
