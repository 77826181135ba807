// The dashboard's HTTP handler on a real listener (port 0) with a stand-in control facade: the event
// stream's limits (a client that does not read is dropped, at most MAX_STREAMS at once) and the login's
// throttle and same-origin checks, and a change of the boxes sharing the store pushed at once. The whole
// dashboard in a browser is test/e2e/dashboard.test.ts (dashboard-boxes.test.ts with PostgreSQL).
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { ControlApi } from "../../src/control/control-api.js";
import { Dashboard, MAX_STREAMS } from "../../src/ui/ui-server.js";
import type { BoxesSection, BoxesStatusIn } from "../../src/ui/ui-view.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "t0ken-for-the-dashboard-test";

describe("dashboard HTTP", { timeout: 60_000 }, () => {
  let server: Server;
  let dash: Dashboard;
  let port: number;
  /** a big snapshot: a client that does not read falls behind fast */
  let bigPrompt = "";
  let snapshotThrows = false;
  let triggersOn = false;
  /** what the facade's boxesStatus answers (null: sqlite) */
  let boxesNow: BoxesStatusIn | null = null;
  const answered: unknown[] = [];
  const cancelled: unknown[] = [];
  const sockets = new Set<Socket>();

  before(async () => {
    const api = {
      accountsList: () => [],
      sessionsList: () => {
        if (snapshotThrows) throw new Error("store closed");
        return [{ name: "dev", kind: "dedicated", state: "idle", stateReason: null, lastPrompt: bigPrompt }];
      },
      tasksList: () => [],
      boxesStatus: () => boxesNow,
      taskAnswer: async (b: unknown) => {
        answered.push(b);
        return { ok: true };
      },
      taskCancel: async (b: unknown) => {
        cancelled.push(b);
        return { ok: true };
      },
    } as unknown as ControlApi;
    dash = new Dashboard({
      api,
      store: { usageSamples: () => [], getSwap: () => null, tailEvents: () => [] } as never,
      thresholds: () => ({ fiveHour: 0.85, week: 0.85 }),
      triggers: () => triggersOn,
      clock: systemClock,
      log: silentLogger(),
      token: () => TOKEN,
    });
    server = createServer((req, res) => void dash.handle(req, res, new URL(req.url ?? "/", "http://localhost")));
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    dash.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function login(): Promise<string> {
    const post = () =>
      fetch(`http://127.0.0.1:${port}/ui/login`, {
        method: "POST",
        body: `token=${TOKEN}`,
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: `http://127.0.0.1:${port}` },
      });
    // A test that destroyed the server's sockets leaves fetch's keep-alive pool a connection the server has
    // closed; the first request on it fails with "other side closed" (undici's UND_ERR_SOCKET). Once more,
    // on a new connection.
    const r = await post().catch((e: unknown) => {
      if ((e as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw e;
      return post();
    });
    assert.equal(r.status, 303);
    return r.headers.get("set-cookie")!.split(";")[0]!;
  }

  /** Opens /ui/stream and reads nothing after the headers; resolves with the status and the socket. */
  function openStream(cookie: string): Promise<{ status: number; socket: Socket }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/ui/stream", headers: { cookie } }, (res) => {
        res.pause();
        resolve({ status: res.statusCode ?? 0, socket: res.socket });
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("drops a stream whose client does not read once over 1 MiB waits for it", async () => {
    const cookie = await login();
    bigPrompt = "x".repeat(2 * 1024 * 1024);
    const s = await openStream(cookie);
    assert.equal(s.status, 200);
    s.socket.pause();
    assert.equal(dash.streamCount(), 1);
    // Each event schedules a push (at most one per 500 ms); every push writes a 2 MiB frame.
    const feed = setInterval(
      () => dash.onEvent({ id: 1, ts: Date.now(), kind: "swap.done", session: "dev", account: "a", data: {} }),
      100,
    );
    try {
      await waitFor(
        () => dash.streamCount() === 0,
        30_000,
        "the daemon closed the stream of a client that does not read",
      );
    } finally {
      clearInterval(feed);
      bigPrompt = "";
      s.socket.destroy();
    }
  });

  it(`serves at most ${MAX_STREAMS} streams at once (503 past that); a closed one frees its place`, async () => {
    const cookie = await login();
    const open: Socket[] = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      const s = await openStream(cookie);
      assert.equal(s.status, 200, `stream ${i + 1}`);
      open.push(s.socket);
    }
    assert.equal((await openStream(cookie)).status, 503);
    open.pop()!.destroy();
    await waitFor(
      async () =>
        (await openStream(cookie).then((s) => {
          if (s.status === 200) s.socket.destroy();
          return s.status;
        })) === 200,
      5_000,
      "a place freed",
    );
    for (const s of open) s.destroy();
  });

  it("a first snapshot that throws still leaves the refresh timer (the stream is ended later, not leaked)", async () => {
    for (const s of sockets) s.destroy();
    await waitFor(() => sockets.size === 0, 5_000, "earlier connections gone");
    const cookie = await login();
    snapshotThrows = true;
    try {
      const s = await openStream(cookie);
      assert.equal(s.status, 200);
      assert.ok((dash as unknown as { refreshTimer: unknown }).refreshTimer, "the refresh timer runs");
      s.socket.destroy();
    } finally {
      snapshotThrows = false;
    }
  });

  it("a change of the boxes sharing the store (a lease, the store's reachability) is pushed within 2.5 s, not at the 5 s refresh", async () => {
    const cookie = await login();
    const box = (lease: "alive" | "lapsed") => ({
      box: "box-2",
      self: false,
      lease,
      heartbeatAgeMs: 1_000,
      since: 0,
      expiresAt: 0,
      runningTasks: 1,
    });
    boxesNow = { asOf: Date.now(), reachable: true, boxes: [box("alive")] };
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/ui/stream`, { headers: { cookie }, signal: ac.signal });
    assert.equal(res.status, 200);
    const snapshots: { boxes: BoxesSection | null }[] = [];
    const pump = (async () => {
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let buf = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buf += dec.decode(value, { stream: true });
          for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
            const m = /^event: snapshot\ndata: (.*)$/s.exec(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (m) snapshots.push(JSON.parse(m[1]!) as { boxes: BoxesSection | null });
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    const shown = async (what: string, ok: (b: BoxesSection | null) => boolean) => {
      const t0 = Date.now();
      await waitFor(() => ok(snapshots.at(-1)?.boxes ?? null), 6_000, what, 20);
      return Date.now() - t0;
    };
    try {
      await shown("the first snapshot with box-2 alive", (b) => b?.boxes[0]?.lease === "alive");
      boxesNow = { ...boxesNow, boxes: [box("lapsed")] };
      const lapsed = await shown("box-2 lapsed", (b) => b?.boxes[0]?.lease === "lapsed");
      boxesNow = { ...boxesNow, reachable: false };
      const down = await shown("the store unreachable", (b) => b?.reachable === false);
      assert.ok(lapsed <= 2_500 && down <= 2_500, `lapse shown after ${lapsed} ms, unreachable after ${down} ms`);
    } finally {
      boxesNow = null;
      ac.abort();
      await pump;
    }
  });

  it("a POST under /ui with another origin's Origin is refused (another local app's port too); the own origin passes", async () => {
    const post = (path: string, origin: string, body = `token=${TOKEN}`) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: "POST",
        body,
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin },
      });
    for (const origin of [`http://127.0.0.1:${port + 1}`, "http://localhost:3000", "https://evil.example", "null"]) {
      assert.equal((await post("/ui/login", origin)).status, 403, origin);
      assert.equal((await post("/ui/logout", origin, "")).status, 403, origin);
      assert.equal((await post("/ui/action", origin, "{}")).status, 403, origin);
    }
    assert.equal((await post("/ui/login", `http://127.0.0.1:${port}`)).status, 303);
  });

  // Each task action goes through its ControlApi method, with what the page sent, only with triggers on.
  const taskActions = [
    { action: "task-answer", method: "taskAnswer", args: { id: "w-1", answer: "no" }, calls: answered },
    { action: "task-cancel", method: "taskCancel", args: { id: "q-1" }, calls: cancelled },
  ];
  for (const a of taskActions) {
    it(`the ${a.action} action reaches ControlApi.${a.method} with ${Object.keys(a.args).join(" and ")}, only with triggers on`, async () => {
      const cookie = await login();
      const act = () =>
        fetch(`http://127.0.0.1:${port}/ui/action`, {
          method: "POST",
          body: JSON.stringify({ action: a.action, ...a.args }),
          headers: { "content-type": "application/json", "x-cf-ui": "1", cookie, origin: `http://127.0.0.1:${port}` },
        });
      assert.equal((await act()).status, 403);
      assert.deepEqual(a.calls, []);
      triggersOn = true;
      try {
        assert.equal((await act()).status, 200);
        assert.deepEqual(a.calls, [a.args]);
      } finally {
        triggersOn = false;
      }
    });
  }

  // Last: it leaves this peer throttled.
  it("logins in flight at once count against the throttle before their bodies arrive (10 at most, the rest 429)", async () => {
    const results: number[] = [];
    const reqs = Array.from({ length: 30 }, () => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/ui/login",
          method: "POST",
          agent: false,
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": "11",
            origin: `http://127.0.0.1:${port}`,
          },
        },
        (res) => {
          results.push(res.statusCode ?? 0);
          res.resume();
        },
      );
      req.on("error", () => {});
      req.flushHeaders();
      return req;
    });
    // The headers alone: 20 are refused at once, before any body was read.
    await waitFor(() => results.length === 20, 10_000, "20 answered before any body");
    assert.deepEqual([...new Set(results)], [429]);
    for (const r of reqs) r.end("token=wrong");
    await waitFor(() => results.length === 30, 10_000, "all answered");
    assert.equal(results.filter((s) => s === 401).length, 10);
    assert.equal(results.filter((s) => s === 429).length, 20);
  });
});
