// `make capture`: re-captures the tool lists of this project's test upstreams from live servers
// (server-everything as a client without capabilities sees it, and the Python inventory server)
// into tests/fixtures/, so the golden declarations can be checked against what the servers
// serve today. Review the diff, then refresh the golden files (UPDATE_SNAPSHOTS=1 cargo test).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { connectTypeScript } from "../tests/support/mcp.mjs";
import { ROOT, startEverything, startInventory, stop } from "../tests/support/stack.mjs";

const logDir = mkdtempSync(join(tmpdir(), "mir-capture-"));
const processes = [];
try {
  const everything = await startEverything(logDir);
  processes.push(everything.process);
  const inventory = await startInventory("inventory", [], logDir, processes);
  for (const [file, url] of [["server-everything.tools.json", everything.url], ["inventory.tools.json", inventory]]) {
    const client = await connectTypeScript(url);
    const { tools } = await client.listTools();
    await client.close();
    writeFileSync(join(ROOT, "tests/fixtures", file), `${JSON.stringify({ tools }, null, 2)}\n`);
    console.log(`${file}: ${tools.length} tools`);
  }
} finally {
  processes.forEach(stop);
}
