// The sign-in pages in a real browser (Debian's chromium, driven by playwright-core): a person
// opens the authorize URL an MCP client made, sees who is asking and where the access goes,
// mistypes the key, signs in, reads the upstreams on the consent page and allows; the browser
// lands on the client's redirect URI with a code. Saves docs/images/sign-in.png and
// docs/images/consent.png, which README shows.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { chromium } from "playwright-core";

import { ROOT, freePort, startStack } from "../support/stack.mjs";

/** The browser: Debian's chromium, or CHROMIUM_PATH. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "browser-alice-key-0f6a";
const ACCESS = { people: { "key:alice": { everything: {}, inventory: {} } } };

describe("sign-in pages in a browser", () => {
  let stack;
  let browser;
  let callback;
  let callbackUrl;
  const arrived = [];

  before(async () => {
    const port = await freePort();
    callbackUrl = `http://127.0.0.1:${port}/callback`;
    callback = createServer((request, response) => {
      arrived.push(new URL(request.url, callbackUrl));
      response.end("back in the app");
    });
    await new Promise((ok) => callback.listen(port, "127.0.0.1", ok));
    stack = await startStack({ secrets: { RUNNER_TOKEN: `alice=${KEY}` }, vars: { ACCESS: JSON.stringify(ACCESS) } });
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    stack?.stop();
    callback?.close();
  });

  /** A client registered by DCR, as claude.ai would: its authorization URL. */
  async function authorizationUrl(name) {
    const registered = await fetch(`${stack.base}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: name, redirect_uris: [callbackUrl], token_endpoint_auth_method: "none" }),
    });
    const { client_id: clientId } = await registered.json();
    const verifier = randomBytes(32).toString("base64url");
    const params = new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: callbackUrl, state: "browser-state",
      code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
      resource: stack.url,
    });
    return `${stack.base}/authorize?${params}`;
  }

  test("a self-registered name can neither push where access goes out of sight nor disguise itself", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      // A name reversed from its second word on by a bidirectional override, then 5,000 more
      // characters to fill the screen above "Access will be sent to".
      await page.goto(await authorizationUrl(`Claude \u202eyrtsigeR ${"padding ".repeat(625)}`));
      const heading = await page.locator("h1").textContent();
      assert.ok(heading.length < 120, heading);
      assert.match(heading, /^Sign in to connect Claude \\u202eyrtsigeR padding/);
      const text = await page.locator("main").textContent();
      assert.ok(!text.includes("\u202e"), "no character reorders the page");
      assert.match(text, /its name is not verified/);
      await page.getByText("Access will be sent to 127.0.0.1").waitFor();
      assert.ok(await page.getByText("Access will be sent to 127.0.0.1").isVisible());
      const box = await page.getByText("Access will be sent to 127.0.0.1").boundingBox();
      assert.ok(box && box.y + box.height <= 800, `where access goes is on the first screen: ${JSON.stringify(box)}`);
    } finally {
      await page.close();
    }
  });

  test("a person signs in with an access key, reads the consent page and allows", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(await authorizationUrl("Claude"));
      assert.equal(await page.locator("h1").textContent(), "Sign in to connect Claude");
      const text = await page.locator("main").textContent();
      assert.match(text, /Claude wants to use this MCP Isolate Runner as you/);
      assert.match(text, /Access will be sent to 127\.0\.0\.1/);
      assert.match(text, /app on your computer/);
      await page.screenshot({ path: join(ROOT, "docs/images/sign-in.png") });

      await page.fill("#key", "not-the-key");
      await page.click("button[value=key]");
      assert.match(await page.locator("[role=alert]").textContent(), /not one this runner knows/);

      await page.fill("#key", KEY);
      await page.click("button[value=key]");
      assert.equal(await page.locator("h1").textContent(), "Allow Claude?");
      assert.deepEqual(await page.locator("li code").allTextContents(), ["everything", "inventory"]);
      assert.match(await page.locator("main").textContent(), /Signed in as alice/);
      await page.screenshot({ path: join(ROOT, "docs/images/consent.png") });

      await page.click("button[value=approve]");
      await page.waitForURL((url) => url.href.startsWith(callbackUrl));
      const back = new URL(page.url());
      assert.ok(arrived.some((url) => url.href === back.href), "the app's server received the redirect");
      assert.ok(back.searchParams.get("code"));
      assert.equal(back.searchParams.get("state"), "browser-state");
      assert.equal(back.searchParams.get("iss"), stack.base);
    } finally {
      await page.close();
    }
  });

  test("denying sends the browser back to the app with access_denied", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(await authorizationUrl("Some App"));
      await page.fill("#key", KEY);
      await page.click("button[value=key]");
      await page.click("button[value=deny]");
      await page.waitForURL((url) => url.href.startsWith(callbackUrl));
      assert.equal(new URL(page.url()).searchParams.get("error"), "access_denied");
    } finally {
      await page.close();
    }
  });

  test("the pages cannot be framed and load nothing but themselves", async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(await authorizationUrl("Framer"));
      const headers = response.headers();
      assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
      assert.match(headers["content-security-policy"], /default-src 'none'/);
      assert.equal(headers["x-frame-options"], "DENY");
      assert.equal(await page.evaluate(() => document.scripts.length), 0);
    } finally {
      await page.close();
    }
  });

  test("a broken authorization request shows an error page, not a redirect", async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`${stack.base}/authorize?response_type=code&client_id=nobody`);
      assert.equal(response.status(), 400);
      assert.equal(await page.locator("h1").textContent(), "Sign-in failed");
      assert.match(await page.locator("[role=alert]").textContent(), /Invalid client_id/);
    } finally {
      await page.close();
    }
  });
});
