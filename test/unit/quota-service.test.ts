// The quota monitor acting (src/quota/quota-service.ts) on fakes, a manual clock and a real SQLite store
// (issue 15 point 6): a tick plans with the real policy, logs each session's decision once while it stays
// the same, and carries out a move through the swap service; just before acting it re-checks the source
// account (a move whose reason went away is cancelled), leaves a running turn alone on a hard move, and
// with other boxes reserves the move's load first (a full target cancels it; the reservation is kept when
// the session moved and released when it did not). No real sleep: the swap fakes answer at once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { QuotaService, type MoveReserver } from "../../src/quota/quota-service.js";
import type { PolicyAccount, PolicyParams } from "../../src/quota/policy-types.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import type { SessionRow } from "../../src/store/types.js";
import { ManualClock } from "../../src/util/clock.js";

const dir = mkdtempSync(join(tmpdir(), "cf-quotasvc-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 11, 1, 9);

const P: PolicyParams = {
  window5hThreshold: 0.8,
  windowWeekThreshold: 0.9,
  hysteresis: 0.05,
  minDwellMs: 15 * M,
  staleAfterMs: 10 * M,
  reactivateCooldownMs: 5 * M,
  loadPerSession: 0.05,
  minRunwayMs: 0,
};

function acct(name: string, u5: number, priority: number, now: number, state: PolicyAccount["state"] = "active") {
  return {
    name,
    priority,
    state,
    stateUntil: null,
    figures: {
      fiveHour: { utilization: u5, resetsAt: now + 2 * H },
      sevenDay: { utilization: 0.1, resetsAt: now + 72 * H },
      perModelWeekly: {},
      fetchedAt: now - 30_000,
      source: "usage_api" as const,
    },
    hourlyCount: 0,
    weeklyCount: 0,
    limits: { hourly_msgs: 0, weekly_msgs: 0 },
  } satisfies PolicyAccount;
}

interface Setup {
  /** a's 5-hour utilization as each call of policyAccounts sees it (the last repeats) */
  aSeen?: number[];
  state?: SessionRow["state"];
  aState?: PolicyAccount["state"];
  swapOk?: boolean;
  /** other boxes plan too: whether the store grants the reservation */
  reserveOk?: boolean;
}

function setup(o: Setup = {}) {
  const clock = new ManualClock(T0);
  const store = new Store(openDb(mkdtempSync(join(dir, "s-"))));
  store.insertSession(
    { name: "s1", kind: "dedicated", project: "/p", account: "a", claudeSessionId: "c1", state: o.state ?? "idle" },
    clock.now(),
  );
  const seen = o.aSeen ?? [0.85];
  let calls = 0;
  const chooser = {
    params: P,
    policyAccounts: (now: number) => {
      const u = seen[Math.min(calls++, seen.length - 1)]!;
      return [acct("a", u, 1, now, o.aState), acct("b", 0.3, 2, now)];
    },
  };
  const swaps: Array<{ session: string; to?: string; reason: string; hard: boolean; urgent: boolean }> = [];
  const swapService = {
    swap: async (req: { session: string; to?: string; reason: string; hard: boolean; urgent: boolean }) => {
      swaps.push(req);
      if (o.swapOk === false) return { ok: false, swapId: 1, outcome: "rolled_back", reason: "respawn failed" };
      store.updateSession(req.session, { account: req.to!, lastMoveAt: clock.now() }, clock.now());
      return { ok: true, swapId: 1, from: "a", to: req.to!, durationMs: 10, resent: false };
    },
  };
  const polled: string[] = [];
  const accounts = { row: (n: string) => ({ name: n, state: n === "a" ? (o.aState ?? "active") : "active" }) };
  const sessions = {
    list: () => store.listSessions(),
    get: (n: string) => store.getSession(n),
    lockedBy: () => undefined,
  };
  const reservations: Array<{ op: string; account?: string; capacity?: number | null; moved?: boolean }> = [];
  const reserver: MoveReserver | null =
    o.reserveOk === undefined
      ? null
      : {
          fromOtherBoxes: () => [],
          reserve: async (_s, account, capacity) => {
            reservations.push({ op: "reserve", account, capacity });
            return o.reserveOk ? { ok: true, id: "r1" } : { ok: false, held: 7 };
          },
          end: async (_id, moved) => {
            reservations.push({ op: "end", moved });
          },
        };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, child: () => log };
  const quota = new QuotaService({
    store,
    accounts: accounts as never,
    sessions: sessions as never,
    swaps: swapService as never,
    poller: { pollSoon: (n: string) => polled.push(n) } as never,
    chooser: chooser as never,
    clock,
    log: log as never,
    reservations: reserver,
  });
  const decisions = () =>
    store
      .tailEvents(100, { kindPrefix: "quota.decision." })
      .map((e) => e.kind)
      .reverse();
  // act() runs on after tick returns (the swap is not awaited by the tick): let its promise chain settle.
  const settle = () => new Promise((r) => setImmediate(r));
  return { clock, store, quota, swaps, polled, reservations, decisions, settle };
}

describe("QuotaService: a tick and its moves", () => {
  it("moves a session off an account over its threshold to the best target, polls the target soon", async () => {
    const t = setup();
    const d = await t.quota.tick();
    await t.settle();
    assert.deepEqual(
      d.map((x) => (x.kind === "move" ? `${x.session}: ${x.from}→${x.to}` : x.kind)),
      ["s1: a→b"],
    );
    assert.deepEqual(t.swaps, [{ session: "s1", to: "b", reason: "quota_threshold", urgent: false, hard: false }]);
    assert.deepEqual(t.polled, ["b"]);
    assert.equal(t.store.getSession("s1")!.account, "b");
  });

  it("logs a session's decision once while it stays the same, again when it changes", async () => {
    const t = setup({ aSeen: [0.5] });
    await t.quota.tick();
    t.clock.advance(1000);
    await t.quota.tick();
    assert.deepEqual(t.decisions(), ["quota.decision.stay"], "the same stay, logged once");
    assert.deepEqual(t.swaps, []);
  });

  it("re-checks the source account just before acting: a move whose reason went away is cancelled", async () => {
    // planned on a at 85 %, a at 50 % by the time it acts (a fresher reading)
    const t = setup({ aSeen: [0.85, 0.5] });
    await t.quota.tick();
    await t.settle();
    assert.deepEqual(t.swaps, []);
    assert.deepEqual(t.decisions().sort(), ["quota.decision.cancelled", "quota.decision.move"]);
    const e = t.store.tailEvents(1, { kindPrefix: "quota.decision.cancelled" })[0]!;
    assert.equal(e.data.reason, "a no longer over on re-check");
  });

  it("a hard move leaves a running turn alone (the limit reactor owns a refusal inside it)", async () => {
    const t = setup({ state: "busy", aState: "exhausted" });
    const d = await t.quota.tick();
    await t.settle();
    assert.equal(d[0]?.kind, "move");
    assert.equal(d[0]?.kind === "move" && d[0].hard, true);
    assert.deepEqual(t.swaps, [], "not cut: its turn got through");
  });

  it("a hard move of an idle session goes ahead without the re-check", async () => {
    const t = setup({ aState: "exhausted", aSeen: [0.85, 0.1] });
    await t.quota.tick();
    await t.settle();
    assert.deepEqual(
      t.swaps.map((s) => [s.to, s.reason, s.hard]),
      [["b", "quota_hard", true]],
    );
  });
});

describe("QuotaService: moves planned with other boxes", () => {
  it("reserves the move on its target (room counted less the hysteresis), keeps it once the session moved", async () => {
    const t = setup({ reserveOk: true });
    await t.quota.tick();
    await t.settle();
    // b at 30 %: 0.3 + n × 0.05 < 0.8 − 0.05 ⇒ 8 moves fit
    assert.deepEqual(t.reservations, [
      { op: "reserve", account: "b", capacity: 8 },
      { op: "end", moved: true },
    ]);
    assert.equal(t.swaps.length, 1);
  });

  it("a target every box's reservations filled cancels the move, saying so", async () => {
    const t = setup({ reserveOk: false });
    await t.quota.tick();
    await t.settle();
    assert.deepEqual(t.swaps, []);
    const e = t.store.tailEvents(1, { kindPrefix: "quota.decision.cancelled" })[0]!;
    assert.equal(e.data.reason, "b is full: 7 move(s) onto it reserved by every box, room for 8");
  });

  it("a move not made releases its reservation", async () => {
    const t = setup({ reserveOk: true, swapOk: false });
    await t.quota.tick();
    await t.settle();
    assert.deepEqual(t.reservations.at(-1), { op: "end", moved: false });
    assert.deepEqual(t.polled, []);
  });
});
