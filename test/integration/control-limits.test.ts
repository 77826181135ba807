// The HTTP control plane's limits on real sockets (a TCP port 0 and a unix socket): failed-auth
// throttling per peer, the Host/Origin check on every route, the connection cap, the unix socket's
// rule for mutating routes, and one error mapping (no paths, no tmux stderr, a tmux fault is 5xx).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HttpServer, type HttpOptions, type Routes } from "../../src/control/http-server.js";
import { CfError } from "../../src/util/errors.js";
import { Writable } from "node:stream";
import { createLogger, silentLogger, type Logger } from "../../src/util/log.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "t0ken-0123456789abcdef";
interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

function call(
  target: { port?: number; socketPath?: string },
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) {
      h["content-type"] = "application/json";
      h["content-length"] = String(Buffer.byteLength(body));
    }
    const req = request({ host: "127.0.0.1", ...target, method, path, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
const bearer = (t = TOKEN) => ({ authorization: `Bearer ${t}` });

// The message tmux really gives when its server is gone (socket path included), as tmux.ts wraps it.
const TMUX_STDERR = "no server running on /tmp/tmux-1000/cf-test-socket";
function routes(calls: string[]): Routes {
  return {
    get: {
      "/status": () => ({ ok: 1 }),
      "/enoent": () => {
        throw Object.assign(
          new Error("ENOENT: no such file or directory, open '/home/dev/.local/state/claude-failover/x.json'"),
          { code: "ENOENT" },
        );
      },
    },
    post: {},
    trigger: {
      "/trigger/restart": () => {
        throw new CfError("tmux_failed", `tmux respawn-pane failed: ${TMUX_STDERR}`);
      },
      "/trigger/send": () => {
        throw new CfError("invalid_input", "project /home/dev/secret-project is not an allowed project");
      },
      "/trigger/checkpoint": () => {
        calls.push("checkpoint");
        return { ok: true };
      },
    },
    raw: {},
  };
}

async function start(over: Partial<HttpOptions> = {}, socketPath?: string, log: Logger = silentLogger()) {
  const calls: string[] = [];
  const server = new HttpServer(
    { routes: routes(calls), log },
    {
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
      maxBody: 4096,
      ratePerMinute: 0,
      enableTrigger: true,
      ...over,
      socketPath,
    },
  );
  const addr = await server.listen();
  return { server, addr, calls };
}

describe("control plane limits", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-limits-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("50 bad tokens from one peer: 401 for the first 10, then 429 with Retry-After, the good token too", async () => {
    const { server, addr } = await start({ authFailures: 10, authFailureWindowMs: 60_000 });
    try {
      const codes: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 50; i++) {
        const r = await call({ port: addr.port }, "GET", "/status", bearer(`wrong-token-${i}-0123456789`));
        codes.push(r.status);
        if (r.status === 429) retryAfter = String(r.headers["retry-after"]);
        assert.ok(!r.text.includes(TOKEN));
      }
      assert.deepEqual(codes, [...Array(10).fill(401), ...Array(40).fill(429)]);
      assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `retry-after ${retryAfter}`);
      // While a peer is throttled nothing it sends is checked: guessing must not go on at full speed.
      assert.equal((await call({ port: addr.port }, "GET", "/status", bearer())).status, 429);
      // /health needs no token and is not throttled.
      assert.equal((await call({ port: addr.port }, "GET", "/health")).status, 200);
    } finally {
      await server.close();
    }
  });

  it("the throttle ends when the window passes; authFailures 0 turns it off", async () => {
    const { server, addr } = await start({ authFailures: 3, authFailureWindowMs: 300 });
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await call({ port: addr.port }, "GET", "/status", bearer("bad-0123456789abcdef"))).status, 401);
      assert.equal((await call({ port: addr.port }, "GET", "/status", bearer())).status, 429);
      await waitFor(
        async () => (await call({ port: addr.port }, "GET", "/status", bearer())).status === 200,
        5_000,
        "throttle over",
      );
      server.update({ authFailures: 0 });
      for (let i = 0; i < 20; i++)
        assert.equal((await call({ port: addr.port }, "GET", "/status", bearer("bad-0123456789abcdef"))).status, 401);
    } finally {
      await server.close();
    }
  });

  it("a wrong Host or Origin is refused on /status, /trigger/* and /health, before the token is looked at", async () => {
    const { server, addr, calls } = await start();
    try {
      const port = addr.port;
      for (const [path, method] of [
        ["/status", "GET"],
        ["/trigger/checkpoint", "POST"],
        ["/health", "GET"],
      ] as const) {
        for (const extra of [
          { host: `evil.example:${port}` },
          { host: "127.0.0.1:1" },
          { origin: "http://evil.example" },
        ] as Record<string, string>[]) {
          const r = await call({ port }, method, path, { ...bearer(), ...extra }, method === "POST" ? "{}" : undefined);
          assert.equal(r.status, 403, `${path} ${JSON.stringify(extra)}`);
          assert.equal(r.body.error.code, "forbidden");
        }
      }
      assert.deepEqual(calls, [], "no handler ran");
      assert.equal((await call({ port }, "GET", "/status", { ...bearer(), host: `localhost:${port}` })).status, 200);
    } finally {
      await server.close();
    }
  });

  it("errors: a tmux failure is 502 without its stderr; no absolute path in any error; the detail is logged", async () => {
    let logs = "";
    const log = createLogger("info", new Writable({ write: (c: Buffer, _e, cb) => ((logs += c.toString()), cb()) }));
    const { server, addr } = await start({}, undefined, log);
    try {
      const tmux = await call({ port: addr.port }, "POST", "/trigger/restart", bearer(), '{"session":"dev"}');
      assert.equal(tmux.status, 502);
      assert.equal(tmux.body.error.code, "tmux_failed");
      const input = await call({ port: addr.port }, "POST", "/trigger/send", bearer(), "{}");
      assert.equal(input.status, 400);
      assert.equal(input.body.error.message, "project [path] is not an allowed project");
      const fault = await call({ port: addr.port }, "GET", "/enoent", bearer());
      assert.equal(fault.status, 500);
      for (const r of [tmux, input, fault]) {
        assert.ok(!/\/(tmp|home)\//.test(r.text), r.text);
        assert.ok(!r.text.includes("no server running"), r.text);
      }
      assert.ok(logs.includes(TMUX_STDERR), "the tmux stderr is in the log");
      assert.ok(logs.includes("ENOENT: no such file"), "the fault is in the log");
    } finally {
      await server.close();
    }
  });

  it("the connection cap: past max_connections a new connection is closed at once", async () => {
    const { server, addr } = await start({ maxConnections: 3 });
    const socks: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect(addr.port, "127.0.0.1");
        await new Promise<void>((r) => s.once("connect", () => r()));
        socks.push(s);
      }
      // The server counts a connection once it has accepted it: wait until all three are counted.
      await waitFor(
        async () => {
          const n = await new Promise<number>((r) =>
            (
              server as unknown as { server: { getConnections(cb: (e: unknown, n: number) => void): void } }
            ).server.getConnections((_e, n) => r(n)),
          );
          return n === 3;
        },
        5_000,
        "three connections held",
      );
      const extra = connect(addr.port, "127.0.0.1");
      socks.push(extra);
      const closed = await new Promise<boolean>((r) => {
        extra.once("close", () => r(true));
        extra.once("error", () => r(true));
        extra.setTimeout(5_000, () => r(false));
      });
      assert.ok(closed, "the fourth connection was closed");
      socks[0]!.destroy();
      await waitFor(
        async () =>
          (await call({ port: addr.port }, "GET", "/status", bearer()).catch(() => ({ status: 0 }))).status === 200,
        5_000,
        "served again",
      );
    } finally {
      for (const s of socks) s.destroy();
      await server.close();
    }
  });

  it("unix socket: reads need no token; /trigger/* needs the token while enable_trigger is off", async () => {
    const sock = join(dir, "control.sock");
    const { server, calls } = await start({ enableTrigger: false, authFailures: 3 }, sock);
    try {
      assert.equal((await call({ socketPath: sock }, "GET", "/status")).status, 200);
      const none = await call({ socketPath: sock }, "POST", "/trigger/checkpoint", {}, '{"session":"dev"}');
      assert.equal(none.status, 403);
      assert.match(none.body.error.message, /bearer token/);
      assert.equal(
        (
          await call(
            { socketPath: sock },
            "POST",
            "/trigger/checkpoint",
            bearer("wrong-0123456789abcdef"),
            '{"session":"dev"}',
          )
        ).status,
        401,
      );
      assert.deepEqual(calls, []);
      assert.equal(
        (await call({ socketPath: sock }, "POST", "/trigger/checkpoint", bearer(), '{"session":"dev"}')).status,
        200,
      );
      assert.deepEqual(calls, ["checkpoint"]);
      server.update({ enableTrigger: true });
      assert.equal(
        (await call({ socketPath: sock }, "POST", "/trigger/checkpoint", {}, '{"session":"dev"}')).status,
        200,
      );
      server.update({ enableTrigger: false });
      // Guessing the token over the socket is throttled like over TCP.
      for (let i = 0; i < 2; i++)
        await call({ socketPath: sock }, "POST", "/trigger/checkpoint", bearer("wrong-0123456789abcdef"), "{}");
      assert.equal((await call({ socketPath: sock }, "POST", "/trigger/checkpoint", bearer(), "{}")).status, 429);
    } finally {
      await server.close();
    }
  });
});
