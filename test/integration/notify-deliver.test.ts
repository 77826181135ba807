// The real deliverer (notify/deliver.ts): HTTP statuses and timeouts against a local server, programs
// run without a shell (stdin, exit status, stderr, a missing program).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { notifyChildEnv } from "../../src/notify/child-env.js";
import { realDeliver } from "../../src/notify/deliver.js";
import { freePort } from "../support/harness.js";

describe("realDeliver", () => {
  let server: Server;
  let base: string;
  let dir: string;
  const bodies: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cf-notify-"));
    server = createServer((req, res) => {
      let b = "";
      req.on("data", (c: Buffer) => (b += c.toString()));
      req.on("end", () => {
        bodies.push(b);
        if (req.url === "/slow") return; // never answers: the timeout ends it
        if (req.url === "/redirect") return res.writeHead(302, { location: "/ok" }).end();
        res.writeHead(Number(req.url?.slice(1)) || 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const deliver = realDeliver({ timeoutMs: 500, env: { PATH: process.env.PATH } });
  const post = (path: string) =>
    deliver(
      { via: "http", url: `${base}${path}`, headers: { "content-type": "text/plain" }, body: "hi" },
      new AbortController().signal,
    );

  it("2xx is delivered; 500 and 429 are retried; 404 is not; redirects are not followed", async () => {
    assert.deepEqual(await post("/204"), { ok: true });
    assert.deepEqual(await post("/500"), { ok: false, error: "HTTP 500", retry: true });
    assert.deepEqual(await post("/429"), { ok: false, error: "HTTP 429", retry: true });
    assert.deepEqual(await post("/404"), { ok: false, error: "HTTP 404", retry: false });
    const r = await post("/redirect");
    assert.equal(r.ok, false);
    assert.equal(bodies.at(-1), "hi");
  });
  it("the timeout still fires after garbage collections during the attempt (CI, Node 20: it once waited 300 s)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const t0 = Date.now();
    const pending = post("/slow");
    const collect = setInterval(gc, 20);
    try {
      const r = await Promise.race([
        pending,
        new Promise((res) => setTimeout(() => res("still waiting after 5 s"), 5000)),
      ]);
      assert.deepEqual(r, { ok: false, error: "request failed: timed out", retry: true });
    } finally {
      clearInterval(collect);
    }
    assert.ok(Date.now() - t0 < 3000);
  });
  it("a target that never answers times out (retried); a closed port is refused (retried)", async () => {
    const t0 = Date.now();
    assert.deepEqual(await post("/slow"), { ok: false, error: "request failed: timed out", retry: true });
    assert.ok(Date.now() - t0 < 3000);
    const closed = await deliver(
      { via: "http", url: `http://127.0.0.1:${await freePort()}/x`, headers: {}, body: "" },
      new AbortController().signal,
    );
    assert.deepEqual(closed, { ok: false, error: "request failed: ECONNREFUSED", retry: true });
  });
  it("a program gets stdin without a shell; its exit status and last stderr line say how it went", async () => {
    const out = join(dir, "out; touch pwned");
    const ok = await deliver(
      {
        via: "exec",
        argv: [
          process.execPath,
          "-e",
          "require('fs').writeFileSync(process.argv[1], require('fs').readFileSync(0))",
          out,
        ],
        stdin: '{"x":1}\n',
      },
      new AbortController().signal,
    );
    assert.deepEqual(ok, { ok: true });
    assert.equal(readFileSync(out, "utf8"), '{"x":1}\n');
    const bad = await deliver(
      {
        via: "exec",
        argv: [process.execPath, "-e", "console.error('first'); console.error('no route to pager'); process.exit(3)"],
        stdin: "",
      },
      new AbortController().signal,
    );
    assert.deepEqual(bad, { ok: false, error: `${process.execPath} exited 3: no route to pager`, retry: true });
    const missing = await deliver(
      { via: "exec", argv: ["notify-send-does-not-exist", "t"], stdin: "" },
      new AbortController().signal,
    );
    assert.deepEqual(missing, { ok: false, error: "notify-send-does-not-exist not found", retry: false });
  });

  it("a program runs with the environment the daemon gives per run: without its secrets and the notify config's ${VAR}s", async () => {
    const out = join(dir, "env.json");
    const daemonEnv = {
      PATH: process.env.PATH,
      ANTHROPIC_API_KEY: "sk-x",
      CLAUDE_FAILOVER_TOKEN: "bearer",
      SLACK_HOOK: "T/B/x",
      KEEP: "1",
    };
    let referenced = ["SLACK_HOOK"];
    const d = realDeliver({
      timeoutMs: 5_000,
      env: () =>
        notifyChildEnv(daemonEnv, { referenced_env: referenced }, ["ANTHROPIC_API_KEY", "CLAUDE_FAILOVER_TOKEN"]),
    });
    const dump = {
      via: "exec" as const,
      argv: [process.execPath, "-e", "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))", out],
      stdin: "",
    };
    assert.deepEqual(await d(dump, new AbortController().signal), { ok: true });
    const seen = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    assert.equal(seen.KEEP, "1");
    for (const k of ["ANTHROPIC_API_KEY", "CLAUDE_FAILOVER_TOKEN", "SLACK_HOOK"]) assert.equal(seen[k], undefined, k);
    referenced = []; // a reload that no longer refers to it
    assert.deepEqual(await d(dump, new AbortController().signal), { ok: true });
    assert.equal((JSON.parse(readFileSync(out, "utf8")) as Record<string, string>).SLACK_HOOK, "T/B/x");
  });
});
