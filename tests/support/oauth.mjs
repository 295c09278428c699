// Signing in through the runner's OAuth layer in tests, the test playing the browser: it opens
// the authorize URL, submits the sign-in and consent forms with the cookies the pages set, and
// follows the redirect back to the client, as a person in a browser would.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

import { ROOT } from "./stack.mjs";

/** Where the test clients say their authorization responses go (nothing listens there). */
export const REDIRECT_URL = "http://127.0.0.1:33418/callback";

/** A browser's cookies for one site: what `Set-Cookie` set, sent back as `Cookie`. */
export class CookieJar {
  #cookies = new Map();

  /** Keeps the cookies `response` sets (and drops those it expires). */
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) {
        this.#cookies.delete(name);
      } else {
        this.#cookies.set(name, pair.slice(at + 1).trim());
      }
    }
  }

  /** The `Cookie` header, or nothing. */
  header() {
    return this.#cookies.size ? { cookie: [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
  }
}

/** The value of `<input name="name" value="…">` in `html`. */
export function inputValue(html, name) {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`)) ?? html.match(new RegExp(`name="${name}"[^>]*value="([^"]*)"`));
  if (!match) {
    throw new Error(`the page has no ${name}: ${html.slice(0, 500)}`);
  }
  return decodeEntities(match[1]);
}

/** The consent form's action (`/authorize/confirm?state=…`) in `html`. */
export function confirmAction(html) {
  const match = html.match(/action="(\/authorize\/confirm\?state=[^"]*)"/);
  if (!match) {
    throw new Error(`the page is not the consent page: ${html.slice(0, 500)}`);
  }
  return decodeEntities(match[1]);
}

const decodeEntities = (text) => text.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");

/** POSTs `fields` as a form to `url` with the jar's cookies; keeps what the answer sets. */
export async function submit(url, fields, jar) {
  const response = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin, ...jar.header() },
    body: new URLSearchParams(fields),
  });
  jar.take(response);
  return response;
}

/** Follows redirects from `response` (keeping cookies) to a page; returns { url, status, html }. */
async function follow(response, url, jar) {
  while (response.status >= 300 && response.status < 400) {
    url = new URL(response.headers.get("location"), url).href;
    if (url.startsWith(REDIRECT_URL) || !url.startsWith("http://127.0.0.1")) {
      return { url, status: response.status, html: "" };
    }
    response = await fetch(url, { redirect: "manual", headers: jar.header() });
    jar.take(response);
  }
  return { url, status: response.status, html: await response.text() };
}

/** The action of the page's first form whose action matches `pattern`. */
function formAction(html, pattern) {
  const action = [...html.matchAll(/<form[^>]*action="([^"]*)"/g)].map((m) => decodeEntities(m[1])).find((a) => pattern.test(a));
  if (!action) {
    throw new Error(`no form matching ${pattern}: ${html.slice(0, 500)}`);
  }
  return action;
}

/**
 * Signs in at `authorizationUrl` one of two ways, `{ key }` (an access key) or `{ login }`
 * (at the identity provider, whose development pages take any login name), and allows (or,
 * with `approve: false`, denies) the client. Returns the URL the runner redirected the browser
 * to: the client's redirect URI with `code` (or `error`), `state` and `iss`.
 */
export async function signIn(authorizationUrl, { key, login, approve = true }) {
  const jar = new CookieJar();
  const signInPage = await fetch(authorizationUrl, { redirect: "manual" });
  jar.take(signInPage);
  const html = await signInPage.text();
  if (signInPage.status !== 200) {
    throw new Error(`the sign-in page answered ${signInPage.status}: ${html.slice(0, 500)}`);
  }
  const handle = inputValue(html, "handle");
  let consent;
  if (key !== undefined) {
    const answer = await submit(authorizationUrl, { handle, action: "key", key }, jar);
    consent = { url: authorizationUrl, status: answer.status, html: await answer.text() };
  } else {
    const toProvider = await submit(authorizationUrl, { handle, action: "provider" }, jar);
    let page = await follow(toProvider, authorizationUrl, jar);
    // The provider's development pages: sign in with any login name, then consent.
    while (/\/interaction\//.test(page.url)) {
      const action = new URL(formAction(page.html, /\/interaction\//), page.url).href;
      const prompt = inputValue(page.html, "prompt");
      const fields = prompt === "login" ? { prompt, login, password: "any" } : { prompt };
      page = await follow(await submit(action, fields, jar), action, jar);
    }
    consent = page;
  }
  if (consent.status !== 200) {
    throw new Error(`signing in answered ${consent.status}: ${consent.html.slice(0, 500)}`);
  }
  const confirmUrl = new URL(confirmAction(consent.html), authorizationUrl).href;
  const answer = await submit(confirmUrl, { decision: approve ? "approve" : "deny" }, jar);
  if (answer.status !== 302) {
    throw new Error(`the consent answer was ${answer.status}: ${(await answer.text()).slice(0, 500)}`);
  }
  return new URL(answer.headers.get("location"));
}

/** Signs in with the access key `key`; see {@link signIn}. */
export const signInWithKey = (authorizationUrl, key, options = {}) => signIn(authorizationUrl, { key, ...options });

/** An OAuth client's state for the TypeScript SDK, in memory. */
export class MemoryOAuthClient {
  constructor({ name = "e2e-oauth-client", clientMetadataUrl } = {}) {
    this.name = name;
    this.clientMetadataUrl = clientMetadataUrl;
    this.authorizationUrl = undefined;
    this.client = undefined;
    this.saved = undefined;
    this.verifier = undefined;
  }
  get redirectUrl() {
    return REDIRECT_URL;
  }
  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [REDIRECT_URL],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(information) {
    this.client = information;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/**
 * Connects the TypeScript SDK to `url`, signing in as `person` ({ key } or { login }, see
 * {@link signIn}), through the whole OAuth flow: discovery, registration (or `oauth`'s CIMD
 * URL), sign-in, consent, token. Returns the connected client and the OAuth client state.
 */
export async function connectWithOAuth(url, person, oauth = new MemoryOAuthClient()) {
  const first = new StreamableHTTPClientTransport(new URL(url), { authProvider: oauth });
  try {
    await new Client({ name: oauth.name, version: "1.0.0" }).connect(first);
    throw new Error("connected without signing in");
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) {
      throw error;
    }
  }
  const back = await signIn(oauth.authorizationUrl.href, person);
  await first.finishAuth(back.searchParams.get("code"));
  const client = new Client({ name: oauth.name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: oauth }));
  return { client, oauth };
}

/**
 * The Python SDK in `venv` (mcp 1.x or 2.x) connects to `url` through its OAuth client and runs
 * `code`, the test signing in as `person` ({ key } or { login }, see {@link signIn}) when it
 * prints the authorization URL. Returns its report: { tools, result }.
 */
export async function runPythonOAuth(venv, url, code, person) {
  const script = join(ROOT, "tests/support/py_oauth_client.py");
  const child = spawn(join(venv, "bin/python"), [script, "--url", url, "--code", code], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let report;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith("AUTHORIZE ")) {
      child.stdin.write(`${(await signIn(line.slice("AUTHORIZE ".length), person)).href}\n`);
    } else if (line.startsWith("{")) {
      report = JSON.parse(line);
    }
  }
  const status = await exited;
  if (status !== 0) {
    throw new Error(`py_oauth_client exited ${status}: ${stderr}`);
  }
  return report;
}
