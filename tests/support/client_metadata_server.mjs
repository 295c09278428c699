// An HTTPS server publishing Client ID Metadata Documents, for the tests of CIMD clients: a
// self-signed certificate for 127.0.0.1 (made with openssl), which the runner is told to trust,
// and one document per behaviour: valid, too large, too slow, and not matching its URL.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { freePort } from "./stack.mjs";

/**
 * Starts the server; returns { certificate (the PEM file to trust), url(name), fetched(name),
 * stop }. Documents: `client.json` (valid, cacheable), `large.json` (past the 5 KB the runner
 * reads), `slow.json` (answers after 12 s, past the runner's 10 s), `mismatch.json` (its
 * client_id names another URL). Each redirects to `redirectUri`.
 */
export async function startClientMetadataServer(redirectUri) {
  const dir = mkdtempSync(join(tmpdir(), "mir-cimd-"));
  const key = join(dir, "key.pem");
  const certificate = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out", certificate,
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" });
  const port = await freePort();
  const url = (name) => `https://127.0.0.1:${port}/${name}`;
  const document = (clientId, extra = {}) => JSON.stringify({
    client_id: clientId,
    client_name: "CIMD Test App",
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...extra,
  });
  const fetched = new Map();
  const server = createServer({ key: readFileSync(key), cert: readFileSync(certificate) }, async (request, response) => {
    const name = request.url.slice(1);
    fetched.set(name, (fetched.get(name) ?? 0) + 1);
    const json = { "content-type": "application/json" };
    switch (name) {
      case "client.json":
        response.writeHead(200, { ...json, "cache-control": "public, max-age=300" });
        return response.end(document(url(name)));
      case "large.json":
        response.writeHead(200, json);
        return response.end(document(url(name), { client_uri: `https://example.com/${"x".repeat(6000)}` }));
      case "slow.json":
        await sleep(12_000);
        response.writeHead(200, json);
        return response.end(document(url(name)));
      case "mismatch.json":
        response.writeHead(200, json);
        return response.end(document(url("client.json")));
      default:
        response.writeHead(404);
        return response.end();
    }
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    certificate,
    url,
    fetched: (name) => fetched.get(name) ?? 0,
    stop: () => server.close(),
  };
}
