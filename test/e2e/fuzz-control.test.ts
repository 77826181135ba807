// Fuzz: a few thousand random and invalid requests at /mcp and /trigger/* over loopback (seeded,
// bounded in count and time). No 5xx, no crash, and nothing mutated: without the token even perfectly
// valid mutating requests are refused; with it, every request is invalid in some way.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { listenOf, rawRequest, splitListen } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const PER_PHASE = Number(process.env.FUZZ_N ?? 1500);
const TRIGGERS = ["swap", "checkpoint", "enqueue", "send", "restart", "scale", "account", "nope"].map(
  (t) => `/trigger/${t}`,
);
const TOOLS = [
  "sessions_list",
  "session_get",
  "accounts_list",
  "quota_status",
  "tasks_list",
  "task_get",
  "events_tail",
  "task_enqueue",
  "inbox_enqueue",
  "session_send",
  "session_swap",
  "session_checkpoint",
  "session_restart",
  "pool_scale",
  "account_set",
  "account_enable",
  "account_disable",
  "nope",
  "",
];

/** mulberry32: small, seeded, good enough to pick cases. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const str = (max = 12) =>
    Array.from({ length: int(max) }, () => String.fromCharCode(pick([32 + int(95), int(0x2fff)]))).join("");
  const value = (depth = 0): unknown => {
    switch (int(depth > 2 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return next() < 0.5;
      case 2:
        return pick([0, -1, 1e308, 2 ** 53, 0.5, -0]);
      case 3:
        return str();
      case 4:
        return `fz-${str(6)}`;
      case 5:
        return Array.from({ length: int(4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [
            pick(["session", "text", "to", "min", "max", "prompt", "account", "action", "lines", str(5)]),
            value(depth + 1),
          ]),
        );
    }
  };
  return { next, int, pick, str, value };
}
type R = ReturnType<typeof rng>;

/** Tool arguments that are always refused: a session/account that doesn't exist, or a wrong type. */
function invalidArgs(r: R, tool: string): unknown {
  const ghost = `fz-${r.str(8)}`;
  switch (tool) {
    case "task_enqueue":
    case "inbox_enqueue":
      return r.pick([{ prompt: r.int(100) }, { prompt: "x", [`x${r.str(4)}`]: 1 }, { prompt: "" }, { project: "x" }]);
    case "pool_scale":
      return r.pick([{ min: -1 - r.int(9) }, { max: r.str(3) }, { min: 1.5 }, { min: 1, junk: true }]);
    case "account_set":
      return { account: ghost, action: r.pick(["enable", "disable", r.str(4)]) };
    case "account_enable":
    case "account_disable":
      return r.pick([{ account: ghost }, { account: r.int(9) }, { account: "a", action: "enable" }]);
    case "session_send":
      return r.pick([
        { session: ghost, text: r.str(40) || "x" },
        { session: "dev", text: r.int(9) },
        { session: "dev", text: "" },
      ]);
    default:
      return r.pick([
        { session: ghost },
        { session: ghost, lines: r.int(600) },
        { id: ghost },
        { session: r.value() },
        r.value(),
      ]);
  }
}

/** Bodies no /trigger/* route accepts (each checked against every route's schema). */
function triggerBody(r: R): unknown {
  const ghost = `fz-${r.str(8)}`;
  return r.pick([
    { session: ghost },
    { session: ghost, to: "b", urgent: true },
    { session: "dev", junk: 1 },
    { session: r.int(9) },
    { prompt: r.int(9) },
    { min: -1 },
    { max: "2" },
    { account: ghost, action: "disable" },
    [1, 2],
    r.str(20),
    null,
    { session: "dev", text: "" },
  ]);
}

function mcpBody(r: R, validMutation: boolean): string | Buffer {
  const id = r.pick([1, "x", null, r.int(1e9), {}]);
  // Cases 0 and 1 are valid mutations of the live session: sent only without the token.
  switch (validMutation ? r.int(8) : 2 + r.int(6)) {
    case 0:
      return JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "session_send", arguments: { session: "dev", text: "FUZZ-MUTATION" } },
      });
    case 1:
      return JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "session_swap", arguments: { session: "dev", to: "b" } },
      });
    case 2: {
      const tool = r.pick(TOOLS);
      return JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: tool, arguments: invalidArgs(r, tool) },
      });
    }
    case 3:
      return JSON.stringify({
        jsonrpc: r.pick(["2.0", "2.0", "1.0", 2]),
        id,
        method: r.pick(["initialize", "tools/list", "ping", "resources/list", r.str(10)]),
        params: r.value(),
      });
    case 4:
      return JSON.stringify(r.value());
    case 5:
      return Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256)));
    case 6:
      return JSON.stringify(
        Array.from({ length: r.int(5) }, () => ({
          jsonrpc: "2.0",
          id: r.int(9),
          method: "tools/call",
          params: { name: r.pick(TOOLS), arguments: r.value() },
        })),
      );
    default:
      return r.str(60);
  }
}

interface Shot {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function shot(r: R, listen: string, token: string | null): Shot {
  const port = splitListen(listen)[1];
  const path =
    r.next() < 0.6
      ? "/mcp"
      : r.next() < 0.9
        ? r.pick(TRIGGERS)
        : r.pick(["/mcp?x=1", "/mcp/", "/MCP", "/trigger/", "//mcp", "/status", "/metrics"]);
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  else if (r.next() < 0.7)
    headers.authorization = r.pick([
      "Bearer wrong-token-0123456789abcd",
      "Basic Zm9vOmJhcg==",
      "Bearer",
      `Bearer ${r.str(30)}`.replace(/[^\x20-\x7e]/g, "x"),
      "",
    ]);
  // Mostly well-formed headers, so most requests get as far as the tools.
  if (r.next() < 0.95)
    headers["content-type"] =
      r.next() < 0.85
        ? "application/json"
        : r.pick(["application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded"]);
  if (r.next() < 0.95)
    headers.accept =
      r.next() < 0.85
        ? "application/json, text/event-stream"
        : r.pick(["application/json", "*/*", "text/event-stream"]);
  if (r.next() < 0.1)
    headers.host = r.pick([`evil.example:${port}`, `127.0.0.1:${port}`, "localhost", `[::1]:${port}`]);
  if (r.next() < 0.1) headers.origin = r.pick(["http://evil.example", "null", "http://localhost:3000"]);
  if (r.next() < 0.05) headers["mcp-session-id"] = r.str(20).replace(/[^\x21-\x7e]/g, "x");
  const isMcp = path.startsWith("/mcp");
  const body = isMcp
    ? mcpBody(r, !token)
    : JSON.stringify(
        token
          ? triggerBody(r)
          : r.pick([
              { session: "dev" },
              { session: "dev", to: "b" },
              { session: "dev", text: "FUZZ-MUTATION" },
              { prompt: "x" },
              { max: 2 },
            ]),
      );
  return {
    method: r.next() < 0.9 ? "POST" : r.pick(["GET", "DELETE", "PUT", "OPTIONS", "PATCH"]),
    path,
    headers,
    body,
  };
}

function send(agent: Agent, listen: string, s: Shot): Promise<number> {
  const [host, port] = splitListen(listen);
  const body = s.body !== undefined && s.method !== "GET" ? Buffer.from(s.body) : undefined;
  // Framed explicitly: node sends a DELETE/OPTIONS body unframed, which would garble the next request.
  const headers = body ? { ...s.headers, "content-length": String(body.length) } : s.headers;
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method: s.method, path: s.path, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${s.method} ${s.path}`)));
    if (body) req.write(body);
    req.end();
  });
}

async function fire(listen: string, shots: Shot[], deadline: number): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const counts = new Map<number, number>();
  let i = 0;
  const worker = async () => {
    while (i < shots.length && Date.now() < deadline) {
      const s = shots[i++]!;
      const status = await send(agent, listen, s).catch((e: Error) =>
        assert.fail(`${s.method} ${s.path} ${JSON.stringify(s.headers)} ${String(s.body).slice(0, 200)}: ${e.message}`),
      );
      counts.set(status, (counts.get(status) ?? 0) + 1);
      assert.ok(
        status < 500,
        `${status} for ${s.method} ${s.path} ${JSON.stringify(s.headers)} ${String(s.body).slice(0, 300)}`,
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return counts;
}

describe(`fuzz /mcp and /trigger/* (seed ${SEED})`, { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let listen: string;
  const snapshot = () => {
    const s = d.sessions.get("dev")!;
    return {
      swaps: d.store.listSwaps().length,
      account: s.account,
      lastPrompt: s.lastPrompt,
      restarts: s.restarts,
      state: s.state,
      accounts: d.store.listAccounts().map((a) => `${a.name}:${a.state}`),
      checkpoints: d.store
        .tailEvents(1000, { kindPrefix: "checkpoint.taken" })
        .filter((e) => e.data.reason === "on demand").length,
      tasks: d.api.tasksList().length,
      turns: h.api.turns().length,
    };
  };
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      config: { mcp_http: { enable_trigger: true, rate_limit_per_minute: 0, auth_failures_per_minute: 0 } },
    });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
    listen = listenOf(h);
  });
  after(async () => h?.cleanup());

  it("without the token: every request refused, nothing mutated", async (t) => {
    const before = snapshot();
    const r = rng(SEED);
    const counts = await fire(
      listen,
      Array.from({ length: PER_PHASE }, () => shot(r, listen, null)),
      Date.now() + 60_000,
    );
    // 403: a foreign Host/Origin is refused before the token is looked at
    assert.deepEqual(
      [...counts.keys()].filter((s) => s !== 401 && s !== 403 && s !== 404),
      [],
      JSON.stringify([...counts]),
    );
    t.diagnostic(`status counts: ${JSON.stringify(Object.fromEntries(counts))}`);
    assert.ok((counts.get(401) ?? 0) > PER_PHASE * 0.8, JSON.stringify([...counts]));
    assert.deepEqual(snapshot(), before);
  });

  it("with the token: invalid requests get 4xx or MCP errors, never 5xx, nothing mutated", async (t) => {
    const before = snapshot();
    const r = rng(SEED + 1);
    const counts = await fire(
      listen,
      Array.from({ length: PER_PHASE }, () => shot(r, listen, h.token)),
      Date.now() + 90_000,
    );
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`status counts: ${JSON.stringify(Object.fromEntries(counts))}`);
    assert.ok(total >= PER_PHASE * 0.9, `sent ${total}`);
    assert.deepEqual(snapshot(), before);
  });

  it("garbage at the socket level doesn't take the server down", async () => {
    const [host, port] = splitListen(listen);
    const r = rng(SEED + 2);
    for (let i = 0; i < 50; i++) {
      const junk = r.pick([
        `GET /mcp HTTP/1.1\r\nHost: ${"x".repeat(20_000)}\r\n\r\n`,
        `${r.str(200)}\r\n\r\n`,
        "POST /mcp HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "\u0000\u0001\u0002",
      ]);
      await new Promise<void>((resolve) => {
        const sock = connect(port, host, () => sock.end(junk));
        sock.on("error", () => resolve());
        sock.on("close", () => resolve());
        sock.resume();
        sock.setTimeout(5000, () => sock.destroy());
      });
    }
    assert.equal((await rawRequest(listen, "GET", "/health", {})).status, 200);
    const st = await rawRequest(listen, "GET", "/status", { authorization: `Bearer ${h.token}` });
    assert.equal(st.status, 200);
    assert.equal(st.json.sessions[0].name, "dev");
  });
});
