// The control plane of a real daemon (real tmux, the stub CLI): a tmux failure reaches /trigger/* and
// MCP as a 5xx / tool error with a stable code and no tmux stderr or absolute path; a JSON-RPC batch
// is charged per call against the rate limit; a wrong Host on /status is refused; the operator's CLI
// works over the unix socket with the token from the environment or from token.env, and nothing
// mutates over the socket without it while enable_trigger is off.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { run } from "../../src/cli/main.js";
import { Daemon } from "../../src/daemon.js";
import { silentLogger } from "../../src/util/log.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callTool, connectMcp, listenOf, mcpHeaders, rawRequest } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

const batch = (n: number) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      jsonrpc: "2.0",
      id: i + 1,
      method: "tools/call",
      params: { name: "accounts_list", arguments: {} },
    })),
  );
const ABS_PATH = /(^|[\s"'=:(])\/(tmp|home|root|run|var|usr|proc)\//;

describe("control plane errors and limits on a real daemon", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let listen: string;
  let c: Client;
  let blocked: string | null = null;
  const post = (path: string, body: unknown) =>
    rawRequest(
      listen,
      "POST",
      path,
      { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      JSON.stringify(body),
    );

  before(async () => {
    h = await makeHarness({
      accounts: 2,
      binary: STUB_CLAUDE,
      config: { mcp_http: { enable_trigger: false, rate_limit_per_minute: 0 } },
    });
    // A long sweep: the test kills the tmux server and the daemon must not recreate it under the test.
    d = await Daemon.start({
      config: h.loadConfig(),
      env: h.env,
      log: silentLogger(),
      realHome: h.root,
      sweepMs: 600_000,
    });
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
    listen = listenOf(h);
    c = await connectMcp(listen, { authorization: `Bearer ${h.token}` });
  });
  after(async () => {
    await c?.close();
    await d?.stop();
    if (blocked) rmSync(blocked, { recursive: true, force: true });
    await h?.cleanup();
  });

  it("the CLI mutates over the socket with the token from the env or token.env; without it, 403 and nothing happens", async () => {
    const withEnv = await h.cli("checkpoint", "dev");
    assert.equal(withEnv.code, 0, withEnv.err);
    const taken = () =>
      d.store.tailEvents(100, { kindPrefix: "checkpoint.taken" }).filter((e) => e.data.reason === "on demand").length;
    const n = taken();
    const env = { ...h.env, CLAUDE_FAILOVER_TOKEN: "" };
    const io = () => {
      const o = { out: "", err: "" };
      return { o, io: { out: (s: string) => (o.out += s), err: (s: string) => (o.err += s), env } };
    };
    const refused = io();
    assert.equal(await run(["--config", h.configPath, "checkpoint", "dev"], refused.io), 1);
    assert.match(refused.o.err, /403: trigger routes need the bearer token/);
    assert.equal(taken(), n, "nothing was checkpointed");
    writeFileSync(join(h.root, "token.env"), `CLAUDE_FAILOVER_TOKEN=${h.token}\n`, { mode: 0o600 });
    const fromFile = io();
    assert.equal(await run(["--config", h.configPath, "checkpoint", "dev"], fromFile.io), 0, fromFile.o.err);
    assert.equal(taken(), n + 1);
  });

  it("a wrong Host on /status is refused; the right one is served", async () => {
    const port = listen.split(":").pop()!;
    const bad = await rawRequest(listen, "GET", "/status", {
      authorization: `Bearer ${h.token}`,
      host: `attacker.example:${port}`,
    });
    assert.equal(bad.status, 403);
    assert.equal((await rawRequest(listen, "GET", "/status", { authorization: `Bearer ${h.token}` })).status, 200);
  });

  it("a JSON-RPC batch of 100 calls is charged as 100 against the rate limit", async () => {
    d.http.update({ ratePerMinute: 150 });
    try {
      const first = await rawRequest(listen, "POST", "/mcp", mcpHeaders(h.token), batch(100));
      assert.equal(first.status, 200, first.text);
      assert.equal((first.json as unknown[]).length, 100, "100 answers");
      // 150 per minute, 100 spent: another batch of 100 does not fit, though it is one request.
      const second = await rawRequest(listen, "POST", "/mcp", mcpHeaders(h.token), batch(100));
      assert.equal(second.status, 429, second.text);
      assert.ok(second.headers["retry-after"]);
    } finally {
      d.http.update({ ratePerMinute: 0 });
    }
  });

  it("a tmux failure: /trigger/restart is a 5xx and the MCP tool an error, neither with tmux stderr or a path", async () => {
    d.http.update({ enableTrigger: true });
    // tmux fails for real: its socket path becomes a directory, so every command reports
    // "error connecting to /tmp/tmux-UID/<socket> (Is a directory)" or "no server running on ...".
    const socketPath = h.tmux("display-message", "-p", "#{socket_path}").out.trim();
    assert.ok(socketPath.startsWith("/"), socketPath);
    h.tmux("kill-server");
    await waitFor(() => h.tmux("list-sessions").code !== 0, 10_000, "tmux server gone");
    rmSync(socketPath, { force: true }); // tmux 3.3a leaves its socket file behind
    mkdirSync(socketPath);
    blocked = socketPath;
    assert.notEqual(h.tmux("list-sessions").code, 0, "tmux really fails");
    const r = await post("/trigger/restart", { session: "dev" });
    assert.ok(r.status >= 500 && r.status < 600, `${r.status} ${r.text}`);
    assert.equal(r.json.error.code, "tmux_failed", r.text);
    const tool = await callTool(c, "session_restart", { session: "dev" });
    assert.equal(tool.isError, true);
    assert.match(tool.text, /^tmux_failed: /);
    const swap = await post("/trigger/swap", { session: "dev", to: "b", urgent: true });
    for (const text of [r.text, tool.text, swap.text]) {
      assert.ok(!ABS_PATH.test(text), text);
      assert.ok(!/no server running|can't find|error connecting/i.test(text), text);
    }
  });
});
