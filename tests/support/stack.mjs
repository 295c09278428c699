// Starts the real parts the tests, benchmarks and scripts run against, on free loopback ports:
// server-everything (streamable HTTP, SSE answers), the Python inventory server twice (stateful
// with SSE answers, and stateless with plain JSON answers), and `wrangler dev` with all three
// configured as upstreams; on request also the inventory server on the 2024-11-05 HTTP+SSE
// transport, the fault-injecting server, the hostile server and the credential-echoing server.
// Every process is started in its own process group and stopped with it; logs go to a
// temporary directory and are printed when a start fails.

import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = resolve(import.meta.dirname, "../..");
const START_TIMEOUT_MS = 60_000;

/** Where `freePort` looks: below Linux's ephemeral range (32768 and up, where `listen(0)` takes). */
const PORTS = { from: 20_000, to: 32_000 };

/** The ports `freePort` has handed out in this process: none is handed out twice. */
const handedOut = new Set();

/**
 * A free TCP port on 127.0.0.1, taken from below the ephemeral range. A port the system hands
 * out for `listen(0)` can be handed out again, before our process binds it, to one of the
 * ephemeral listeners wrangler and workerd open while they start (seen as "Address already in
 * use" for the port just chosen); a port outside that range is never handed out that way. Nor
 * is one this process was already given, though it may be free again before its first user
 * binds it (the runner's and its inspector's are chosen one after the other).
 */
export async function freePort() {
  for (;;) {
    const port = PORTS.from + Math.floor(Math.random() * (PORTS.to - PORTS.from));
    if (handedOut.has(port)) {
      continue;
    }
    const server = createServer();
    const bound = await new Promise((ok) => {
      server.once("error", () => ok(false));
      server.listen(port, "127.0.0.1", () => ok(true));
    });
    if (bound) {
      await new Promise((ok) => server.close(ok));
      handedOut.add(port);
      return port;
    }
  }
}

/** Starts `command` in its own process group, its output in `logDir`/`name`.log. */
export function start(name, command, args, { env = {}, logDir }) {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, "a");
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  child.on("error", () => {});
  return { name, child, log };
}

/** Stops a started process and its children (its process group). */
export function stop({ child }) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** Waits until `ready()` holds; fails with the logs when a process exits or time runs out. */
export async function waitFor(name, ready, processes) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) {
      return;
    }
    const dead = processes.find((p) => p.child.exitCode !== null);
    if (dead) {
      throw new Error(`${dead.name} exited while waiting for ${name}:\n${readFileSync(dead.log, "utf8")}`);
    }
    await sleep(200);
  }
  const logs = processes.map((p) => `--- ${p.name}\n${readFileSync(p.log, "utf8")}`).join("\n");
  throw new Error(`${name} was not ready within ${START_TIMEOUT_MS} ms\n${logs}`);
}

function portOpen(port) {
  return new Promise((ok) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => ok(socket.end() && true));
    socket.once("error", () => ok(false));
  });
}

/** Starts server-everything only, on `port` or a free one; returns { url, port, process, stop }. */
export async function startEverything(logDir = mkdtempSync(join(tmpdir(), "mir-")), port = undefined) {
  port ??= await freePort();
  const everything = start(
    "everything",
    process.execPath,
    ["--require", join(ROOT, "tests/support/bind-loopback.cjs"),
      join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "streamableHttp"],
    { env: { PORT: String(port) }, logDir },
  );
  await waitFor("server-everything", () => portOpen(port), [everything]);
  return { url: `http://127.0.0.1:${port}/mcp`, port, process: everything, stop: () => stop(everything) };
}

/**
 * Starts a Python MCP server, `script` (relative to the repository) with `args` and `--port`,
 * streamable HTTP at /mcp unless `path` says otherwise; returns its URL.
 */
export async function startPythonServer(name, script, args, logDir, processes, path = "mcp") {
  const port = await freePort();
  const server = start(name, join(process.env.MIR_VENV, "bin/python"), [join(ROOT, script), "--port", String(port), ...args], { logDir });
  processes.push(server);
  await waitFor(name, () => portOpen(port), processes);
  return `http://127.0.0.1:${port}/${path}`;
}

/** Starts the Python inventory server with `flags`; returns its URL. */
export function startInventory(name, flags, logDir, processes) {
  const path = flags.includes("--sse") ? "sse" : "mcp";
  return startPythonServer(name, "tests/upstreams/inventory_server.py", flags, logDir, processes, path);
}

/** Starts the Node server tests/upstreams/`script` on a free port; returns its base URL. */
async function startNodeServer(name, script, logDir, processes, args = []) {
  const port = await freePort();
  const server = start(name, process.execPath, [join(ROOT, "tests/upstreams", script), "--port", String(port), ...args], { logDir });
  processes.push(server);
  await waitFor(`${name} server`, () => portOpen(port), processes);
  return `http://127.0.0.1:${port}`;
}

/**
 * Starts tests/upstreams/faulty_server.mjs; returns { url, control } where `control(fault)`
 * sets its fault and `log()` returns the requests it received.
 */
export async function startFaulty(logDir, processes) {
  const base = await startNodeServer("faulty", "faulty_server.mjs", logDir, processes);
  return {
    url: `${base}/mcp`,
    async control(fault) {
      const response = await fetch(`${base}/control`, { method: "POST", body: JSON.stringify(fault) });
      if (!response.ok) {
        throw new Error(`faulty /control ${response.status}: ${await response.text()}`);
      }
    },
    async log() {
      return (await fetch(`${base}/control/log`)).json();
    },
  };
}

/**
 * Starts tests/upstreams/oauth_notes_server.mjs (its access tokens living `ttlSeconds`); returns
 * { url, revoke(user), issued() }.
 */
export async function startOAuthNotes(logDir, processes, ttlSeconds = 3600) {
  const base = await startNodeServer("oauth-notes", "oauth_notes_server.mjs", logDir, processes, ["--ttl", String(ttlSeconds)]);
  return {
    url: `${base}/mcp`,
    async revoke(user) {
      await fetch(`${base}/control/revoke`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user }) });
    },
    async issued() {
      return (await fetch(`${base}/control/issued`)).json();
    },
  };
}

/**
 * Starts tests/upstreams/hostile_server.mjs; returns { url, peaks } where `peaks()` returns the
 * most calls it saw in flight at once, by concurrency key.
 */
export async function startHostile(logDir, processes) {
  const base = await startNodeServer("hostile", "hostile_server.mjs", logDir, processes);
  return {
    url: `${base}/mcp`,
    async peaks() {
      return (await fetch(`${base}/control/peaks`)).json();
    },
  };
}

/**
 * Starts tests/upstreams/echo_secret_server.mjs, which says back the credential it receives;
 * returns { url, downUrl, log } where `downUrl` always answers 503 and `log()` returns the
 * Authorization header of every request it received.
 */
export async function startEchoSecret(logDir, processes) {
  const base = await startNodeServer("echo-secret", "echo_secret_server.mjs", logDir, processes);
  return {
    url: `${base}/mcp`,
    downUrl: `${base}/down`,
    async log() {
      return (await fetch(`${base}/control/log`)).json();
    },
  };
}

/**
 * Starts the three upstreams and the runner. `pythonUpstreams` ([{ name, script, args }]) are
 * more Python servers to start and configure; `extraUpstreams` are appended to the configuration;
 * `vars` are passed to wrangler as `--var NAME:VALUE`, `secrets` through an env file, as
 * `wrangler secret put` would set them. `legacySse` adds the inventory server on the 2024-11-05
 * transport as `inventory_sse`; `faulty` (an object of extra configuration fields) adds the
 * fault-injecting server as `faulty`; `echoSecret` (extra configuration fields too, such as a
 * secret `headers` entry) adds the credential-echoing server twice, as `echoer` and as
 * `echoer_down` (its endpoint that always answers 503); `overrides` maps an upstream's name to
 * configuration fields merged into its entry; `hostile` (upstream name → extra configuration
 * fields) adds the hostile server once, configured under each name; `trustedCertificate` (a PEM
 * file) is a certificate the runner trusts, for a test's own HTTPS server; `publicUrl` sets the
 * runner's PUBLIC_URL to its own address (OAuth upstreams' sign-in links); `oauthNotes` ({
 * ttlSeconds }) adds the OAuth-protected notes server twice: as `notes`, connected per person,
 * and as `team_notes`, one account the operator connects. Returns { url, base, logDir,
 * upstreams, faulty, hostile, echoSecret, oauthNotes, stop, ... }.
 */
export async function startStack({ extraUpstreams = [], pythonUpstreams = [], vars = {}, secrets = {}, legacySse = false, faulty, hostile, echoSecret, overrides = {}, trustedCertificate, publicUrl = false, oauthNotes } = {}) {
  const logDir = mkdtempSync(join(tmpdir(), "mir-stack-"));
  const processes = [];
  try {
    let everything = await startEverything(logDir);
    processes.push(everything.process);
    const inventory = await startInventory("inventory", [], logDir, processes);
    const inventoryJson = await startInventory("inventory_json", ["--json-response", "--stateless"], logDir, processes);

    const upstreams = [
      { name: "everything", url: everything.url },
      { name: "inventory", url: inventory },
      { name: "inventory_json", url: inventoryJson },
    ];
    if (legacySse) {
      upstreams.push({ name: "inventory_sse", url: await startInventory("inventory_sse", ["--sse"], logDir, processes), transport: "sse" });
    }
    const faultyServer = faulty && (await startFaulty(logDir, processes));
    if (faultyServer) {
      upstreams.push({ name: "faulty", url: faultyServer.url, ...faulty });
    }
    const hostileServer = hostile && (await startHostile(logDir, processes));
    for (const [name, fields] of Object.entries(hostile ?? {})) {
      upstreams.push({ name, url: hostileServer.url, ...fields });
    }
    const echoSecretServer = echoSecret && (await startEchoSecret(logDir, processes));
    if (echoSecretServer) {
      upstreams.push(
        { name: "echoer", url: echoSecretServer.url, ...echoSecret },
        { name: "echoer_down", url: echoSecretServer.downUrl, ...echoSecret },
      );
    }
    const oauthNotesServer = oauthNotes && (await startOAuthNotes(logDir, processes, oauthNotes.ttlSeconds));
    if (oauthNotesServer) {
      upstreams.push(
        { name: "notes", url: oauthNotesServer.url, auth: { type: "oauth" } },
        { name: "team_notes", url: oauthNotesServer.url, auth: { type: "oauth", per: "shared" } },
      );
    }
    for (const { name, script, args = [] } of pythonUpstreams) {
      upstreams.push({ name, url: await startPythonServer(name, script, args, logDir, processes) });
    }
    upstreams.push(...extraUpstreams);
    for (const upstream of upstreams) {
      Object.assign(upstream, overrides[upstream.name]);
    }
    const envFile = join(logDir, "secrets.env");
    writeFileSync(envFile, Object.entries(secrets).map(([name, value]) => `${name}=${value}\n`).join(""));
    let port;
    let wranglerArgs;
    let base;
    const startRunner = async () => {
      // Miniflare adds NODE_EXTRA_CA_CERTS to what workerd trusts: a test's own HTTPS server.
      const env = trustedCertificate ? { NODE_EXTRA_CA_CERTS: trustedCertificate } : {};
      const runner = start("wrangler", join(ROOT, "node_modules/.bin/wrangler"), wranglerArgs, { env, logDir });
      processes.push(runner);
      await waitFor("wrangler dev", async () => (await fetch(`${base}/`)).ok, processes);
      return runner;
    };
    let runner;
    for (let attempt = 1; !runner; attempt += 1) {
      port = await freePort();
      wranglerArgs = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
        "--persist-to", join(logDir, "state"), "--show-interactive-dev-session=false", "--env-file", envFile,
        "--var", `UPSTREAMS:${JSON.stringify(upstreams)}`,
        ...(publicUrl ? ["--var", `PUBLIC_URL:http://127.0.0.1:${port}`] : []),
        ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`])];
      base = `http://127.0.0.1:${port}`;
      try {
        runner = await startRunner();
      } catch (error) {
        // A port found free can be taken before workerd binds it (a CI run saw it happen to
        // the inspector's): start again on other ports, twice at most.
        const taken = /Address already in use/.test(String(error));
        if (!taken || attempt === 3) {
          throw error;
        }
        processes.splice(processes.findIndex((p) => p.name === "wrangler"), 1).forEach(stop);
      }
    }
    /** Stops a process on purpose, and waits until its port is free. */
    const retire = async (process, processPort) => {
      processes.splice(processes.indexOf(process), 1);
      stop(process);
      await waitFor(`${process.name} to stop`, async () => !(await portOpen(processPort)), []);
    };
    return {
      url: `${base}/mcp`,
      base,
      logDir,
      upstreams,
      faulty: faultyServer,
      hostile: hostileServer,
      echoSecret: echoSecretServer,
      oauthNotes: oauthNotesServer,
      get runnerLog() {
        return runner.log;
      },
      /** The process group of `wrangler dev` and its workerd. */
      get runnerProcessGroup() {
        return runner.child.pid;
      },
      /** Restarts server-everything on its port: it comes back knowing no sessions. */
      async restartEverything() {
        await retire(everything.process, everything.port);
        everything = await startEverything(logDir, everything.port);
        processes.push(everything.process);
      },
      /** Stops server-everything for good. */
      stopEverything: () => retire(everything.process, everything.port),
      /** Restarts `wrangler dev` on the same port with the same persisted state. */
      async restartRunner() {
        await retire(runner, port);
        runner = await startRunner();
      },
      stop: () => processes.reverse().forEach(stop),
    };
  } catch (error) {
    processes.forEach(stop);
    throw error;
  }
}
