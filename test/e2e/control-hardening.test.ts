// Bad requests at /mcp, /trigger/* and /metrics: each gets the right 4xx or MCP error, nothing is
// mutated, the token never shows up in an answer or a log line, and the daemon keeps serving.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Daemon } from "../../src/daemon.js";
import { createLogger } from "../../src/util/log.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callOk, callTool, connectMcp, listenOf, mcpHeaders, rawRequest, rpc } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

const INIT = rpc("initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "t", version: "1" },
});
const TEN_MB = Buffer.alloc(10 * 1024 * 1024, 0x61);

describe("control plane hardening", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let c: Client;
  let listen: string;
  let logs = "";
  const mcp = (headers: Record<string, string>, body?: string | Buffer, method = "POST") =>
    rawRequest(listen, method, "/mcp", headers, body);

  before(async () => {
    h = await makeHarness({ accounts: 2, config: { mcp_http: { enable_trigger: true, rate_limit_per_minute: 0 } } });
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => ((logs += chunk.toString()), cb()) });
    d = await Daemon.start({
      config: h.loadConfig(),
      env: h.env,
      log: createLogger("trace", sink),
      realHome: h.root,
      sweepMs: 300,
    });
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
    listen = listenOf(h);
    c = await connectMcp(listen, { authorization: `Bearer ${h.token}` });
  });
  after(async () => {
    await c?.close();
    await d?.stop();
    await h?.cleanup();
  });

  it("401 without a token, with a wrong token, and in the wrong scheme", async () => {
    for (const auth of [
      null,
      "Bearer wrong-token-0123456789abcdef",
      `bearer ${h.token}`,
      `Basic ${Buffer.from(`x:${h.token}`).toString("base64")}`,
      `Token ${h.token}`,
      `Bearer ${h.token}x`,
      "Bearer",
    ]) {
      const r = await mcp(mcpHeaders(null, auth ? { authorization: auth } : {}), INIT);
      assert.equal(r.status, 401, String(auth));
      assert.match(String(r.headers["www-authenticate"]), /^Bearer/);
      assert.ok(!r.text.includes(h.token));
    }
  });

  it("empty body, invalid JSON, non-JSON-RPC: 400 with a JSON-RPC error", async () => {
    for (const body of [undefined, "", "{not json", "[1,2", "\u0000\u0001", JSON.stringify({ hello: "world" }), "42"]) {
      const r = await mcp(mcpHeaders(h.token), body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.jsonrpc, "2.0");
      assert.ok(r.json.error.code < 0);
    }
  });

  it("a 10 MB body: 413, declared or chunked, on /mcp and /trigger/*", async () => {
    const declared = await mcp(mcpHeaders(h.token, { "content-length": String(TEN_MB.length) }), TEN_MB);
    assert.equal(declared.status, 413);
    const chunked = await mcp(mcpHeaders(h.token, { "transfer-encoding": "chunked" }), TEN_MB);
    assert.equal(chunked.status, 413);
    const trig = await rawRequest(
      listen,
      "POST",
      "/trigger/send",
      { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      TEN_MB,
    );
    assert.equal(trig.status, 413);
  });

  it("wrong method, Accept or Content-Type: 405 / 406 / 415", async () => {
    assert.equal((await mcp(mcpHeaders(h.token), undefined, "GET")).status, 405);
    assert.equal((await mcp(mcpHeaders(h.token), undefined, "DELETE")).status, 405);
    assert.equal((await mcp(mcpHeaders(h.token, { accept: "text/html" }), INIT)).status, 406);
    assert.equal((await mcp(mcpHeaders(h.token, { "content-type": "text/plain" }), INIT)).status, 415);
  });

  it("DNS rebinding: a foreign Host or Origin is refused with 403", async () => {
    const port = listen.split(":").pop()!;
    const cases: Record<string, string>[] = [
      { host: `evil.example:${port}` },
      { host: "127.0.0.1:1" },
      { origin: "http://evil.example" },
      { origin: "null" },
    ];
    for (const extra of cases) {
      const r = await mcp(mcpHeaders(h.token, extra), INIT);
      assert.equal(r.status, 403, JSON.stringify(extra));
    }
    assert.equal(
      (await mcp(mcpHeaders(h.token, { host: `localhost:${port}`, origin: "http://localhost:5173" }), INIT)).status,
      200,
    );
  });

  it("wrong types, unknown tool, unknown session: MCP errors, safe text", async () => {
    const bad = await callTool(c, "session_send", { session: ["dev"], text: { a: 1 } });
    assert.equal(bad.isError, true);
    const unknown = await callTool(c, "rm_rf", {});
    assert.equal(unknown.isError, true);
    assert.match(unknown.text, /not found/);
    const ghost = await callTool(c, "session_get", { session: "ghost" });
    assert.equal(ghost.text, "no_such_session: no session named ghost");
    const echoed = await callTool(c, "session_swap", { session: h.token });
    assert.equal(echoed.isError, true);
    assert.ok(!echoed.text.includes(h.token), "the token is scrubbed even when the caller sent it");
    const raw = await mcp(mcpHeaders(h.token), rpc("tools/call", { name: "session_get", arguments: "dev" }));
    assert.ok(raw.status < 500 && raw.json.error, raw.text);
  });

  it("/trigger/*: 400 for bad JSON or types, 404 for an unknown session; /metrics needs the token", async () => {
    const post = (path: string, body: string) =>
      rawRequest(
        listen,
        "POST",
        path,
        { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
        body,
      );
    assert.equal((await post("/trigger/swap", "{")).status, 400);
    assert.equal((await post("/trigger/swap", "")).status, 400);
    assert.equal((await post("/trigger/swap", JSON.stringify({ session: 5 }))).status, 400);
    assert.equal((await post("/trigger/send", JSON.stringify({ session: "dev", text: "x", more: 1 }))).status, 400);
    assert.equal((await post("/trigger/restart", JSON.stringify({ session: "ghost" }))).status, 404);
    assert.equal((await rawRequest(listen, "GET", "/metrics", {})).status, 401);
    const m = await rawRequest(listen, "GET", "/metrics", { authorization: `Bearer ${h.token}` });
    assert.equal(m.status, 200);
    assert.match(String(m.headers["content-type"]), /^text\/plain/);
  });

  it("the rate limit applies to /mcp", async () => {
    d.http.update({ ratePerMinute: 3 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await mcp(mcpHeaders(h.token), INIT)).status);
      assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    } finally {
      d.http.update({ ratePerMinute: 0 });
    }
  });

  it("afterwards: nothing mutated, daemon serving, token in no log line", async () => {
    assert.equal(d.store.listSwaps().length, 0);
    assert.equal(d.sessions.get("dev")!.account, "a");
    assert.equal(d.sessions.get("dev")!.lastPrompt, null);
    assert.equal((await rawRequest(listen, "GET", "/health", {})).status, 200);
    const { sessions } = await callOk<{ sessions: unknown[] }>(c, "sessions_list");
    assert.equal(sessions.length, 1);
    assert.ok(logs.length > 0, "the daemon did log");
    assert.ok(!logs.includes(h.token), "the token is never logged");
  });
});
