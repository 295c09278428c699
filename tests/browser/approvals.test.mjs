// The approval page in a real browser (Debian's chromium, driven by playwright-core), for a
// client without elicitation (the MCP TypeScript SDK 1.x declaring none): the operator's policy
// makes destructive tools wait for approval; the program's call is refused with a link; the
// person opens it, signs in (another person's key is refused), reads the call and approves once,
// for the session, or declines; the agent runs the program again. The inventory upstream
// numbers its orders, so the calls it received are counted there. Saves
// docs/images/approval.png.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { chromium } from "playwright-core";

import { startIdentityProvider } from "../support/identity_provider.mjs";
import { auditEntry, connectTypeScript, execute } from "../support/mcp.mjs";
import { connectWithOAuth } from "../support/oauth.mjs";
import { ROOT, freePort, startStack } from "../support/stack.mjs";

/** The browser: Debian's chromium, or CHROMIUM_PATH. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ALICE = "browser-approvals-alice-key-7c2e";
const BOB = "browser-approvals-bob-key-19fa";
const ADMIN_TOKEN = "browser-approvals-operator-4d0b";

/** A program that orders `quantity` of TL-001 `times` times; the last order's id, or the error. */
const ordering = (times, quantity) => `
let last = "";
try {
  for (let i = 0; i < ${times}; i++) {
    last = (await inventory.create_order({
      order: { customer: { name: "Ada", email: "ada@example.com" }, lines: [{ sku: "TL-001", quantity: ${quantity} }] },
    })).order_id;
  }
} catch (e) {
  return { error: (e as Error).name, message: (e as Error).message };
}
return last;`;

/** The approval link in a refusal's message. */
const linkIn = (message) => message.match(/https?:\/\/\S+\/approvals\/[0-9a-f]{64}/)?.[0];

describe("approving a call on the approval page in a browser", () => {
  let stack;
  let browser;
  let client;
  /** The number of the order the first test's approved call made. */
  let approvedOrder;

  before(async () => {
    stack = await startStack({
      secrets: { RUNNER_TOKEN: `alice=${ALICE},bob=${BOB}`, ADMIN_TOKEN },
      vars: { ACCESS: JSON.stringify({ approve: ["@destructive"] }) },
    });
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ["--no-sandbox"] });
    client = await connectTypeScript(stack.url, { authorization: `Bearer ${ALICE}` });
  });
  after(async () => {
    await client?.close();
    await browser?.close();
    stack?.stop();
  });

  /** Runs `code`, expecting its first call to be refused with a link: the link. */
  async function refusedWithLink(code) {
    const report = await execute(client, code);
    assert.equal(report.result?.error, "ApprovalRequired", JSON.stringify(report));
    assert.match(report.result.message, /this client did not say it takes elicitation\/create/);
    const link = linkIn(report.result.message);
    assert.ok(link, report.result.message);
    return link;
  }

  /** Opens `link`, signs in with `key`: the page. */
  async function signIn(link, key) {
    const page = await browser.newPage();
    await page.goto(link);
    await page.fill("#key", key);
    await page.click("button[value=key]");
    return page;
  }

  /** The number of the order `result` names. */
  const orderNumber = (result) => Number(String(result).replace("ord-", ""));

  test("signed in, the person reads the call and approves it once; the rerun makes it, once", async () => {
    const code = ordering(1, 3);
    const link = await refusedWithLink(code);

    const page = await browser.newPage();
    try {
      await page.goto(link);
      assert.equal(await page.locator("h1").textContent(), "Approve a call");
      assert.doesNotMatch(await page.locator("main").textContent(), /create_order|quantity/, "nothing of the call before sign-in");

      await page.fill("#key", BOB);
      await page.click("button[value=key]");
      assert.match(await page.locator("[role=alert]").textContent(), /someone else's/);

      await page.goto(link);
      await page.fill("#key", ALICE);
      await page.click("button[value=key]");
      const text = await page.locator("main").textContent();
      assert.match(text, /Signed in as alice/);
      assert.match(text, /inventory\.create_order/);
      assert.match(text, /"quantity":3/);
      // Every argument is read whole, inside the card: a long one wraps, nothing runs off it.
      const overflow = await page.locator("pre").evaluate((pre) => {
        const main = document.querySelector("main").getBoundingClientRect();
        const box = pre.getBoundingClientRect();
        return { scroll: pre.scrollWidth - pre.clientWidth, right: box.right - main.right };
      });
      assert.ok(overflow.scroll <= 0 && overflow.right <= 0, `the arguments overflow: ${JSON.stringify(overflow)}`);
      assert.ok(await page.getByText(/"quantity":3/).isVisible());
      await page.screenshot({ path: join(ROOT, "docs/images/approval.png") });
      await page.click("button[value=once]");
      assert.equal(await page.locator("h1").textContent(), "Call approved");
      assert.equal((await page.goto(link)).status(), 404, "a decided link leads nowhere");
    } finally {
      await page.close();
    }

    const made = await execute(client, code);
    assert.match(String(made.result), /^ord-\d+$/, JSON.stringify(made));
    const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
    assert.equal(entry.calls.length, 1);
    assert.equal(entry.calls[0].approval.way, "page");
    assert.equal(entry.calls[0].approval.by, "key:alice");

    approvedOrder = orderNumber(made.result);

    const again = await execute(client, code);
    assert.equal(again.result?.error, "ApprovalRequired", "an approval is used once");
  });

  test("approved for the session, the rerun's five calls go through and the next execute asks no one", async () => {
    const code = ordering(5, 2);
    const link = await refusedWithLink(code);
    const page = await signIn(link, ALICE);
    try {
      await page.click("button[value=session]");
      assert.equal(await page.locator("h1").textContent(), "Calls approved");
    } finally {
      await page.close();
    }
    const five = await execute(client, code);
    const first = orderNumber(five.result) - 4;
    assert.equal(first, approvedOrder + 1, `no refused call reached the upstream: ${JSON.stringify(five)}`);
    const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
    assert.equal(entry.calls.length, 5, "five calls, each made once");
    assert.ok(entry.calls.every((call) => call.approval?.way === "session"));
    const sixth = await execute(client, ordering(1, 4));
    assert.equal(orderNumber(sixth.result), first + 5, JSON.stringify(sixth));
  });

  test("declined on the page, the rerun's call throws ApprovalDeclined and is never made", async () => {
    const declining = await connectTypeScript(stack.url, { authorization: `Bearer ${BOB}` });
    try {
      const code = ordering(1, 9);
      const report = await execute(declining, code);
      const link = linkIn(report.result.message);
      const page = await signIn(link, BOB);
      try {
        await page.click("button[value=decline]");
        assert.equal(await page.locator("h1").textContent(), "Call declined");
      } finally {
        await page.close();
      }
      const rerun = await execute(declining, code);
      assert.equal(rerun.result?.error, "ApprovalDeclined", JSON.stringify(rerun));
      const entry = await auditEntry(stack.base, ADMIN_TOKEN, code);
      assert.equal(entry.calls[0].error, "ApprovalDeclined");
    } finally {
      await declining.close();
    }
  });

  test("a made-up link and a form from another site are refused with a page", async () => {
    const page = await browser.newPage();
    try {
      const madeUp = await page.goto(`${stack.base}/approvals/${"0".repeat(64)}`);
      assert.equal(madeUp.status(), 404);
      assert.match(await page.locator("[role=alert]").textContent(), /not valid any more/);
      assert.equal(await page.evaluate(() => document.scripts.length), 0);
      assert.match(madeUp.headers()["content-security-policy"], /frame-ancestors 'none'/);
    } finally {
      await page.close();
    }
    const bob = await connectTypeScript(stack.url, { authorization: `Bearer ${BOB}` });
    try {
      const link = linkIn((await execute(bob, ordering(1, 11))).result.message);
      const forged = await fetch(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example", "sec-fetch-site": "cross-site" },
        body: `action=key&key=${BOB}`,
      });
      assert.equal(forged.status, 403);
      assert.doesNotMatch(await forged.text(), /create_order/);
    } finally {
      await bob.close();
    }
  });
});

describe("approving a call after signing in at the identity provider, in a browser", () => {
  let stack;
  let provider;
  let browser;

  before(async () => {
    const port = await freePort();
    const clientSecret = "browser-approvals-oidc-secret-5e1f";
    stack = await startStack({
      vars: {
        OIDC_ISSUER: `http://127.0.0.1:${port}`,
        OIDC_CLIENT_ID: "mcp-isolate-runner",
        OIDC_NAME: "Example SSO",
        ACCESS: JSON.stringify({ approve: ["@destructive"] }),
      },
      secrets: { OIDC_CLIENT_SECRET: clientSecret },
    });
    provider = await startIdentityProvider({
      port,
      clientId: "mcp-isolate-runner",
      clientSecret,
      redirectUri: `${stack.base}/callback`,
      accounts: { carol: { email: "carol@example.com", email_verified: true } },
    });
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    stack?.stop();
    provider?.stop();
  });

  test("the person signs in with the provider on the page, approves, and the rerun makes the call", async () => {
    const { client } = await connectWithOAuth(stack.url, { login: "carol" });
    try {
      const code = ordering(1, 5);
      const link = linkIn((await execute(client, code)).result.message);
      assert.ok(link);
      const page = await browser.newPage();
      try {
        await page.goto(link);
        await Promise.all([page.waitForURL((url) => url.origin !== stack.base), page.click("button[value=provider]")]);
        await page.fill("input[name=login]", "carol");
        await page.fill("input[name=password]", "any");
        await page.click("button[type=submit]");
        await page.click("button[type=submit]");
        await page.waitForURL((url) => url.href.startsWith(`${stack.base}/callback`));
        assert.match(await page.locator("main").textContent(), /Signed in as carol@example\.com[^]*inventory\.create_order/);
        await page.click("button[value=once]");
        assert.equal(await page.locator("h1").textContent(), "Call approved");
      } finally {
        await page.close();
      }
      const made = await execute(client, code);
      assert.match(String(made.result), /^ord-\d+$/, JSON.stringify(made));
    } finally {
      await client.close();
    }
  });
});
