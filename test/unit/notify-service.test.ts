// The notify service's queue, filter, retries and status with a fake deliverer and clock (the real HTTP
// path is test/integration/notify-delivery.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deliver } from "../../src/notify/deliver.js";
import { MAX_QUEUE, NotifyService } from "../../src/notify/notify-service.js";
import type { Delivery } from "../../src/notify/render.js";
import type { NotifyConfig } from "../../src/config/notify-config.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const cfg = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
  dialog_after: 60_000,
  dedup_window: 600_000,
  rate_per_minute: 0,
  targets: [{ name: "hook", kind: "webhook", url: "http://127.0.0.1:9/x/SECRET", format: "json", events: [] }],
  ...over,
});

function setup(deliver: Deliver, c = cfg()) {
  const clock = new ManualClock(1_000_000);
  const recorded: { kind: string; data: Record<string, unknown> }[] = [];
  const slept: number[] = [];
  const svc = new NotifyService(
    {
      clock,
      log: silentLogger(),
      deliver,
      record: (kind, _s, _a, data) => recorded.push({ kind, data }),
      sessions: () => [],
      forecasts: () => [],
      sleep: async (ms) => {
        slept.push(ms);
      },
    },
    c,
  );
  let id = 0;
  const emit = (kind: string, data: Record<string, unknown>, session = "dev") =>
    svc.onEvent({ id: ++id, ts: clock.now(), kind, session, account: "b", data });
  return { svc, clock, recorded, slept, emit };
}

describe("NotifyService", () => {
  it("enqueues without waiting for a slow target, then delivers in order", async () => {
    const seen: Delivery[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { svc, emit, clock } = setup(async (d) => {
      seen.push(d);
      await gate;
      return { ok: true };
    });
    const t0 = performance.now();
    emit("swap.done", { id: 1, from: "a", to: "b", ms: 5 });
    emit("swap.done", { id: 2, from: "b", to: "a", ms: 5 });
    emit("swap.started", { id: 3 }); // not a notification
    assert.ok(performance.now() - t0 < 50, "onEvent returned at once");
    assert.equal(svc.status().targets[0]!.queued, 2);
    release();
    await clock.advanceUntil(() => svc.status().targets[0]!.sent === 2, 2000, "both sent");
    assert.deepEqual(
      seen.map((d) => d.via === "http" && (JSON.parse(d.body) as { data: { id: number } }).data.id),
      [1, 2],
    );
    svc.stop();
  });

  it("retries a 500 with backoff and counts one delivery", async () => {
    let calls = 0;
    const { svc, emit, slept, clock } = setup(async () =>
      ++calls < 3 ? { ok: false, error: "HTTP 500", retry: true } : { ok: true },
    );
    emit("session.parked", { resumeAt: null, reason: "spent" });
    await clock.advanceUntil(() => svc.status().targets[0]!.sent === 1, 2000, "sent");
    assert.deepEqual(slept, [1_000, 5_000]);
    assert.equal(svc.status().targets[0]!.failed, 0);
    assert.equal(svc.status().targets[0]!.lastError, "HTTP 500");
    svc.stop();
  });

  it("gives up after the last retry: a notify.failed event, status counts it, the URL's secret redacted", async () => {
    const { svc, emit, recorded, slept, clock } = setup(async () => ({
      ok: false,
      error: "POST http://127.0.0.1:9/x/SECRET: ECONNREFUSED",
      retry: true,
    }));
    emit("task.failed", { id: "t1", reason: "x" });
    await clock.advanceUntil(() => svc.status().targets[0]!.failed === 1, 2000, "failed");
    assert.equal(slept.length, 4);
    const ev = recorded.find((r) => r.kind === "notify.failed")!;
    assert.equal(ev.data.target, "hook");
    assert.equal(ev.data.event, "task.failed");
    assert.equal(ev.data.attempts, 5);
    assert.doesNotMatch(JSON.stringify(ev.data) + JSON.stringify(svc.status()), /SECRET/);
    svc.stop();
  });

  it("a 4xx is not retried", async () => {
    const { svc, emit, slept, clock } = setup(async () => ({ ok: false, error: "HTTP 404", retry: false }));
    emit("task.done", { id: "t1", ms: 1 });
    await clock.advanceUntil(() => svc.status().targets[0]!.failed === 1, 2000, "failed");
    assert.deepEqual(slept, []);
    svc.stop();
  });

  it("filters by events, drops duplicates, and test() reaches each target once", async () => {
    const got: string[] = [];
    const c = cfg({
      targets: [
        {
          name: "only-parks",
          kind: "webhook",
          url: "http://127.0.0.1:9/p",
          format: "json",
          events: ["session.parked"],
        },
        { name: "all", kind: "command", argv: ["/bin/true"], format: "json", events: [] },
      ],
    });
    const { svc, emit, clock } = setup(async (d) => {
      got.push(
        d.via === "http"
          ? `http ${(JSON.parse(d.body) as { event: string }).event}`
          : `exec ${JSON.parse(d.stdin).event as string}`,
      );
      return { ok: true };
    }, c);
    emit("swap.done", { id: 1 });
    emit("session.parked", { resumeAt: 5, reason: "r" });
    emit("session.parked", { resumeAt: 5, reason: "r" });
    await clock.advanceUntil(() => got.length === 3, 2000, "three deliveries");
    assert.deepEqual(got.sort(), ["exec session.parked", "exec swap.done", "http session.parked"]);
    assert.equal(svc.status().targets[0]!.duplicates, 1);
    const r = await svc.test();
    assert.deepEqual(
      r.results.map((x) => [x.target, x.ok]),
      [
        ["only-parks", true],
        ["all", true],
      ],
    );
    await assert.rejects(svc.test("nope"), /no notify target named nope \(targets: only-parks, all\)/);
    svc.stop();
  });

  it("records session.dialog_overdue once dialog_after has passed", () => {
    const clock = new ManualClock(0);
    const recorded: string[] = [];
    let rows = [{ name: "auto-01", account: "a", stateReason: "waiting: permission dialog (answer it: …)" }];
    const svc = new NotifyService(
      {
        clock,
        log: silentLogger(),
        deliver: async () => ({ ok: true }),
        record: (kind, s) => recorded.push(`${kind} ${s}`),
        sessions: () => rows,
        forecasts: () => [],
      },
      cfg({ dialog_after: 2_000, targets: [] }),
    );
    svc.onEvent({
      id: 1,
      ts: 0,
      kind: "session.waiting",
      session: "auto-01",
      account: "a",
      data: { dialog: "permission" },
    });
    clock.set(1_999);
    svc.tick();
    assert.deepEqual(recorded, []);
    clock.set(2_000);
    svc.tick();
    svc.tick();
    assert.deepEqual(recorded, ["session.dialog_overdue auto-01"]);
    rows = [];
    svc.tick();
    svc.stop();
  });
});

describe("NotifyService watchers' timer", () => {
  it("ticks on the clock every quarter of dialog_after once started; stop cancels it", () => {
    const clock = new ManualClock(0);
    const recorded: string[] = [];
    const svc = new NotifyService(
      {
        clock,
        log: silentLogger(),
        deliver: async () => ({ ok: true }),
        record: (kind, s) => recorded.push(`${kind} ${s}`),
        sessions: () => [{ name: "auto-01", account: "a", stateReason: "waiting: permission dialog (answer it: …)" }],
        forecasts: () => [],
      },
      cfg({ dialog_after: 2_000, targets: [] }),
    );
    svc.onEvent({
      id: 1,
      ts: 0,
      kind: "session.waiting",
      session: "auto-01",
      account: "a",
      data: { dialog: "permission" },
    });
    svc.start();
    clock.advance(1_999);
    assert.deepEqual(recorded, []);
    clock.advance(1); // the tick at 2 000 ms
    assert.deepEqual(recorded, ["session.dialog_overdue auto-01"]);
    svc.stop();
    assert.equal(clock.pending(), 0);
  });
});

describe("NotifyService reload", () => {
  it("keeps a target's counters and queue across configure; a new target starts at zero; a removed one is gone", async () => {
    const { svc, emit, clock } = setup(async () => ({ ok: true }));
    emit("swap.done", { id: 1 });
    await clock.advanceUntil(() => svc.status().targets[0]!.sent === 1, 2000, "sent");
    svc.configure(
      cfg({
        rate_per_minute: 5,
        targets: [
          { name: "hook", kind: "webhook", url: "http://127.0.0.1:9/y", format: "slack", events: [] },
          { name: "new", kind: "desktop", format: "json", events: [] },
        ],
      }),
    );
    assert.deepEqual(
      svc.status().targets.map((t) => [t.name, t.sent]),
      [
        ["hook", 1],
        ["new", 0],
      ],
    );
    emit("swap.done", { id: 1 });
    assert.equal(svc.status().targets[0]!.duplicates, 1, "the dedup memory survives a reload");
    svc.configure(cfg({ targets: [] }));
    assert.deepEqual(svc.status().targets, []);
    svc.stop();
  });
});

describe("status text", () => {
  it("lists targets that failed or cannot be used, not the healthy ones", async () => {
    const { formatStatus } = await import("../../src/cli/format.js");
    const text = formatStatus({
      now: 61_000,
      sessions: [],
      accounts: [],
      tasks: [],
      notify: {
        targets: [
          { name: "team", kind: "webhook", problem: null, failed: 2, lastError: "HTTP 500", lastErrorAt: 1_000 },
          { name: "fine", kind: "ntfy", problem: null, failed: 0 },
        ],
      },
    });
    assert.match(text, /NOTIFY FAILURES\n {2}team \(webhook\): 2 not delivered, last 1 ?m(in)? ago: HTTP 500/);
    assert.doesNotMatch(text, /fine/);
    assert.doesNotMatch(
      formatStatus({ now: 0, sessions: [], accounts: [], tasks: [], notify: { targets: [] } }),
      /NOTIFY/,
    );
  });
});

describe("NotifyService queue bound", () => {
  it("past MAX_QUEUE drops the oldest waiting one (never the one in flight) and counts it", async () => {
    const sent: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { svc, emit, clock } = setup(async (d) => {
      if (d.via === "http") sent.push((JSON.parse(d.body) as { data: { id: number } }).data.id);
      await gate;
      return { ok: true };
    });
    for (let i = 1; i <= MAX_QUEUE + 2; i++) emit("swap.done", { id: i });
    assert.equal(svc.status().targets[0]!.dropped, 2);
    release();
    await clock.advanceUntil(() => svc.status().targets[0]!.queued === 0, 5000, "drained");
    assert.equal(sent.length, MAX_QUEUE);
    assert.deepEqual(sent.slice(0, 2), [1, 4], "1 was in flight; 2 and 3 were dropped");
    svc.stop();
  });
});

describe("NotifyService off the hot path", () => {
  it("onEvent never renders or delivers inside the caller: delivery starts on a later turn", async () => {
    let calls = 0;
    const { svc, emit, clock } = setup(async () => {
      calls++;
      return { ok: true };
    });
    emit("swap.done", { id: 1, from: "a", to: "b", ms: 5 });
    assert.equal(calls, 0, "deliver was not called inside onEvent");
    await clock.advanceUntil(() => calls === 1, 2000, "delivered later");
    svc.stop();
  });

  it("a store that refuses notify.failed (disk full, closed) is logged, not an unhandled rejection; the next one is still delivered", async () => {
    const clock = new ManualClock(0);
    const errors: string[] = [];
    const log = { ...silentLogger(), error: (_o: unknown, msg: string) => errors.push(msg) } as unknown as ReturnType<
      typeof silentLogger
    >;
    let n = 0;
    const svc = new NotifyService(
      {
        clock,
        log,
        deliver: async () => (++n === 1 ? { ok: false, error: "HTTP 404", retry: false } : { ok: true }),
        record: () => {
          throw new Error("SQLITE_FULL: database or disk is full");
        },
        sessions: () => [],
        forecasts: () => [],
        sleep: async () => {},
      },
      cfg(),
    );
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on("unhandledRejection", onRejection);
    try {
      svc.onEvent({ id: 1, ts: 0, kind: "task.failed", session: "dev", account: "a", data: { id: "t1", reason: "x" } });
      svc.onEvent({ id: 2, ts: 0, kind: "task.failed", session: "dev", account: "a", data: { id: "t2", reason: "y" } });
      await clock.advanceUntil(() => svc.status().targets[0]!.sent === 1, 2000, "the second delivered");
      assert.equal(svc.status().targets[0]!.failed, 1);
      assert.deepEqual(errors, ["notify: notify.failed not recorded"]);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections, []);
    } finally {
      process.off("unhandledRejection", onRejection);
      svc.stop();
    }
  });
});

describe("NotifyService floods", () => {
  it("a failed swap (session.parked then swap.parked) is one notification; parks and resumes repeated within the window are dropped", async () => {
    const got: string[] = [];
    const { svc, emit, clock } = setup(async (d) => {
      if (d.via === "http") got.push((JSON.parse(d.body) as { event: string }).event);
      return { ok: true };
    });
    emit("session.parked", { resumeAt: null, reason: "swap to c failed: boom" });
    emit("swap.parked", { id: 4, to: "c", reason: "boom" });
    clock.advance(60_000);
    emit("session.resume", { from: "b" });
    clock.advance(60_000);
    emit("session.parked", { resumeAt: clock.now() + 3_600_000, reason: "every account is spent" });
    clock.advance(60_000);
    emit("session.resume", { from: "b" });
    await clock.advanceUntil(() => got.length === 2 && svc.status().targets[0]!.queued === 0, 2000, "two deliveries");
    assert.deepEqual(got, ["session.parked", "session.resume"]);
    assert.equal(svc.status().targets[0]!.duplicates, 3);
    clock.advance(600_000); // past dedup_window
    emit("session.parked", { resumeAt: null, reason: "again" });
    await clock.advanceUntil(() => got.length === 3, 2000, "a park after the window is news");
    svc.stop();
  });
});
