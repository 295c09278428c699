// Upstreams added at runtime, against a real `wrangler dev`: the operator PUTs an upstream
// through the operator endpoint and the next session can call it; changing it takes effect
// at the next request; removing it takes its namespace away; a deployed upstream cannot be
// changed or removed there.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { adminRequest, connectTypeScript, execute } from "../support/mcp.mjs";
import { startStack } from "../support/stack.mjs";

const ADMIN_TOKEN = "e2e-runtime-operator-4c2a";

describe("upstreams added at runtime", () => {
  let stack;
  before(async () => {
    stack = await startStack({ secrets: { ADMIN_TOKEN } });
  });
  after(() => stack?.stop());

  const admin = (path, method = "GET", body = undefined) =>
    adminRequest(stack.base, ADMIN_TOKEN, path, { method, body: body && JSON.stringify(body) });

  /** The namespaces the `execute` description lists, for a new session. */
  async function namespaces() {
    const client = await connectTypeScript(stack.url);
    try {
      return (await client.listTools()).tools.find((t) => t.name === "execute").description;
    } finally {
      await client.close();
    }
  }

  test("an added upstream is callable in the next session, and gone once removed", async () => {
    const inventory = stack.upstreams.find((u) => u.name === "inventory").url;
    const put = await admin("/admin/upstreams/stock", "PUT", { name: "stock", url: inventory });
    assert.equal(put.status, 200, put.text);
    assert.match(await namespaces(), /\bstock\b/);
    const client = await connectTypeScript(stack.url);
    try {
      const report = await execute(client, `return (await stock.get_stock({ sku: "TL-001" })).sku;`);
      assert.equal(report.result, "TL-001");
    } finally {
      await client.close();
    }
    const listed = JSON.parse((await admin("/admin/upstreams")).text).upstreams.map((u) => u.name);
    assert.ok(listed.includes("stock"), listed.join());

    const removed = await admin("/admin/upstreams/stock", "DELETE");
    assert.equal(removed.status, 200, removed.text);
    assert.doesNotMatch(await namespaces(), /\bstock\b/);
    assert.equal((await admin("/admin/upstreams/stock", "DELETE")).status, 404);
  });

  test("a deployed upstream is changed only by a deploy, and a bad one is refused by field", async () => {
    const deployed = await admin("/admin/upstreams/everything", "PUT", { name: "everything", url: "https://x/mcp" });
    assert.equal(deployed.status, 409);
    assert.match(deployed.text, /UPSTREAMS/);
    assert.equal((await admin("/admin/upstreams/everything", "DELETE")).status, 409);
    const bad = await admin("/admin/upstreams/broken", "PUT", { name: "broken", url: "ftp://x" });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /url/);
  });
});
