// Connecting an upstream account in a real browser (Debian's chromium, driven by playwright-core):
// a person's agent got a sign-in link for the OAuth-protected notes upstream; the person opens
// it, reads whose account it connects, continues to the upstream's own sign-in page, signs in
// there, and lands on the runner's page saying the upstream is connected. The same program then
// works. An expired or forged link shows an error page, not a redirect. Saves
// docs/images/connect.png.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { chromium } from "playwright-core";

import { connectTypeScript, execute } from "../support/mcp.mjs";
import { ROOT, startStack } from "../support/stack.mjs";

/** The browser: Debian's chromium, or CHROMIUM_PATH. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "browser-connect-alice-key-51d2";

describe("connecting an upstream account in a browser", () => {
  let stack;
  let browser;
  let client;

  before(async () => {
    stack = await startStack({
      publicUrl: true,
      oauthNotes: { ttlSeconds: 3600 },
      secrets: { RUNNER_TOKEN: `alice=${KEY}`, UPSTREAM_TOKEN_KEY: "browser-upstream-token-key-8a1c3e5f7b9d" },
    });
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ["--no-sandbox"] });
    client = await connectTypeScript(stack.url, { authorization: `Bearer ${KEY}` });
  });
  after(async () => {
    await client?.close();
    await browser?.close();
    stack?.stop();
  });

  test("a person follows the sign-in link to the upstream and back, and the program then works", async () => {
    const asked = await execute(client, "return await notes.whoami({});");
    assert.equal(asked.error?.name, "AuthorizationRequired", JSON.stringify(asked));
    const link = asked.error.message.match(/https?:\/\/\S+\/oauth\/connect\/[A-Za-z0-9_.-]+/)[0];

    const page = await browser.newPage();
    await page.goto(link);
    assert.equal(await page.title(), "Connect notes");
    assert.match(await page.textContent("main"), /your account as key:alice/);
    await page.screenshot({ path: join(ROOT, "docs/images/connect.png") });
    await Promise.all([page.waitForURL(/\/authorize\?/), page.click("button")]);
    await page.fill("input[name=user]", "alice");
    await Promise.all([page.waitForURL(/\/oauth\/callback\?/), page.click("button")]);
    assert.equal(await page.title(), "notes is connected");
    assert.match(await page.textContent("main"), /Return to your agent/);
    await page.close();

    assert.equal((await execute(client, "return await notes.whoami({});")).result, "alice");
  });

  test("a spent or forged link shows an error page", async () => {
    const page = await browser.newPage();
    const forged = await page.goto(`${stack.base}/oauth/callback?code=x&state=bm90ZXM.forged`);
    assert.equal(forged.status(), 400);
    assert.match(await page.textContent("main"), /unknown or has expired/);
    const bad = await page.goto(`${stack.base}/oauth/connect/not-a-link`);
    assert.equal(bad.status(), 404);
    assert.match(await page.textContent("main"), /not valid/);
    await page.close();
  });
});
