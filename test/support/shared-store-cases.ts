// The shared store's behaviour, written once and run against both backends (test/integration/
// shared-store-sqlite.test.ts and shared-store-postgres.test.ts): whatever box count and backend, these
// must hold. Each case takes a fresh, empty database from the backend and opens one store per box on it
// (separate connections: separate pg Pools, or separate SQLite connections to one file). Times are a
// manual clock (T0 + offsets): the store never reads one.

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { isCfError } from "../../src/util/errors.js";
import type { SharedEventDraft, SharedStore, SharedTaskDraft, TaskClaim } from "../../src/store/shared/shared-types.js";

export interface SharedStoreBackend {
  name: "sqlite" | "postgres";
  /** A fresh empty database; `open(box)` opens a store for a box on it (each call a new connection/pool). */
  fresh(): Promise<{ open(box: string): Promise<SharedStore>; exec(sql: string): Promise<void> }>;
}

const T0 = Date.UTC(2026, 10, 30, 12, 0);
const S = 1000;
const H = 3_600_000;

function draft(id: string, extra: Partial<SharedTaskDraft> = {}): SharedTaskDraft {
  return { id, project: "/src/p", prompt: `do ${id}`, priority: 0, pinBox: null, payload: { model: null }, ...extra };
}

export function sharedStoreCases(getBackend: () => SharedStoreBackend): void {
  const opened: SharedStore[] = [];
  async function boxes(...names: string[]): Promise<SharedStore[]> {
    const db = await getBackend().fresh();
    const out: SharedStore[] = [];
    for (const n of names) out.push(await db.open(n));
    opened.push(...out);
    return out;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  describe("account states", () => {
    it("a mark set on one box is seen by another until its time, then it is gone", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      assert.equal(await a!.setAccountState("acc1", "exhausted", T0 + H, "5-hour limit reached", T0), true);
      assert.deepEqual(await b!.getAccountState("acc1", T0 + 1), {
        account: "acc1",
        state: "exhausted",
        until: T0 + H,
        reason: "5-hour limit reached",
        box: "box-a",
        at: T0,
      });
      assert.equal((await b!.getAccountState("acc1", T0 + H - 1))?.state, "exhausted");
      assert.equal(await b!.getAccountState("acc1", T0 + H), undefined, "expired at its until");
      assert.deepEqual(await b!.listAccountStates(T0 + H), []);
      assert.equal(await b!.getAccountState("acc2", T0), undefined);
    });

    it("a mark without an end holds until cleared; an older write never replaces a newer one", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.setAccountState("acc1", "revoked", null, "token rejected", T0 + 10 * S);
      // box b reconciles an older observation late: ignored
      assert.equal(await b!.setAccountState("acc1", "exhausted", T0 + H, "old", T0 + 5 * S), false);
      assert.equal(
        await b!.clearAccountState("acc1", T0 + 5 * S),
        false,
        "an older clear does not remove a newer mark",
      );
      const st = await b!.getAccountState("acc1", T0 + 100 * H);
      assert.equal(st?.state, "revoked");
      assert.equal(st?.box, "box-a");
      await b!.setAccountState("acc2", "disabled", null, null, T0);
      assert.deepEqual(
        (await a!.listAccountStates(T0 + 100 * H)).map((s) => `${s.account}:${s.state}`),
        ["acc1:revoked", "acc2:disabled"],
      );
      assert.equal(await b!.clearAccountState("acc1", T0 + 20 * S), true);
      assert.equal(await a!.getAccountState("acc1", T0 + 20 * S), undefined);
      await assert.rejects(
        a!.setAccountState("acc1", "sleepy" as never, null, null, T0),
        /unknown shared account state/,
      );
    });
  });

  describe("usage figures", () => {
    it("each box keeps its newest reading; the newest across boxes is read per account", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      const figs = (u: number) => ({
        fiveHour: { utilization: u, resetsAt: T0 + 5 * H },
        sevenDay: { utilization: u / 2, resetsAt: null },
        perModelWeekly: { opus: { utilization: 0.1, resetsAt: null } },
      });
      assert.equal(await a!.putUsage("acc1", figs(0.2), T0, "statusline"), true);
      assert.equal(await b!.putUsage("acc1", figs(0.3), T0 + 10 * S, "usage_api"), true);
      assert.equal(await a!.putUsage("acc2", figs(0.9), T0, "statusline"), true);
      let latest = await a!.latestUsage();
      assert.deepEqual(
        latest.map((u) => [u.account, u.box, u.at, u.source]),
        [
          ["acc1", "box-b", T0 + 10 * S, "usage_api"],
          ["acc2", "box-a", T0, "statusline"],
        ],
      );
      assert.deepEqual(latest[0]!.figures, figs(0.3), "figures round-trip as JSON");
      // an older reading from box a (a late status-line file) does not replace a's newer one
      assert.equal(await a!.putUsage("acc1", figs(0.1), T0 - S, "statusline"), false);
      assert.equal(await a!.putUsage("acc1", figs(0.4), T0 + 20 * S, "statusline"), true);
      latest = await b!.latestUsage();
      assert.deepEqual(
        latest.map((u) => [
          u.account,
          u.box,
          (u.figures as { fiveHour: { utilization: number } }).fiveHour.utilization,
        ]),
        [
          ["acc1", "box-a", 0.4],
          ["acc2", "box-a", 0.9],
        ],
      );
      assert.deepEqual(
        (await b!.usageByBox("acc1")).map((u) => [u.box, u.at]),
        [
          ["box-a", T0 + 20 * S],
          ["box-b", T0 + 10 * S],
        ],
      );
      // a tie in time goes to the first box name, on every backend
      await b!.putUsage("acc2", figs(0.5), T0, "statusline");
      assert.equal((await a!.latestUsage()).find((u) => u.account === "acc2")?.box, "box-a");
    });
  });

  describe("box leases", () => {
    it("a heartbeat keeps the lease; a lapsed lease is reported at the next heartbeat and starts afresh", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      const first = await a!.heartbeat(T0, 30 * S, { version: "0.1.0", pid: 42 });
      assert.equal(first.lapsed, false);
      assert.deepEqual(first.lease, {
        box: "box-a",
        since: T0,
        heartbeatAt: T0,
        expiresAt: T0 + 30 * S,
        info: { version: "0.1.0", pid: 42 },
      });
      const renewed = await a!.heartbeat(T0 + 10 * S, 30 * S);
      assert.deepEqual([renewed.lapsed, renewed.lease.since, renewed.lease.expiresAt], [false, T0, T0 + 40 * S]);
      await b!.heartbeat(T0 + 10 * S, 30 * S);
      assert.deepEqual(
        (await b!.leases()).map((l) => [l.box, l.expiresAt]),
        [
          ["box-a", T0 + 40 * S],
          ["box-b", T0 + 40 * S],
        ],
      );
      // a misses its heartbeats past its TTL
      const back = await a!.heartbeat(T0 + 40 * S, 30 * S);
      assert.deepEqual(
        [back.lapsed, back.lease.since],
        [true, T0 + 40 * S],
        "lapsed exactly at expiresAt; since restarts",
      );
      await a!.releaseLease();
      assert.deepEqual(
        (await b!.leases()).map((l) => l.box),
        ["box-b"],
      );
      await assert.rejects(a!.heartbeat(T0, 0), /TTL must be a positive/);
    });
  });

  describe("task queue", () => {
    it("enqueue is idempotent on the id; claims go by priority then age, honour pins, projects and not_before", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.heartbeat(T0, H);
      await b!.heartbeat(T0, H);
      const t1 = await a!.enqueueTask(draft("t1"), T0);
      assert.deepEqual(
        [t1.state, t1.originBox, t1.attempts, t1.box, t1.payload],
        ["queued", "box-a", 0, null, { model: null }],
      );
      const again = await b!.enqueueTask(draft("t1", { prompt: "changed" }), T0 + S);
      assert.deepEqual(
        [again.prompt, again.originBox, again.createdAt],
        ["do t1", "box-a", T0],
        "existing task returned unchanged",
      );
      await a!.enqueueTask(draft("t2", { priority: 5 }), T0 + 2 * S);
      await a!.enqueueTask(draft("t3", { pinBox: "box-b", priority: 9 }), T0 + 3 * S);
      await a!.enqueueTask(draft("t4", { project: "/src/other", priority: 9 }), T0 + 4 * S);
      await a!.enqueueTask(draft("t5"), T0 + 5 * S);

      // box a: t3 is pinned to b, t4's project is not on a → t2 (priority 5), then t1, t5 (oldest first)
      const order: string[] = [];
      for (;;) {
        const c = await a!.claimTask(T0 + 10 * S, { projects: ["/src/p"] });
        if (!c) break;
        assert.equal(c.claim, 1);
        assert.deepEqual([c.task.state, c.task.box, c.task.claimedAt], ["running", "box-a", T0 + 10 * S]);
        order.push(c.task.id);
      }
      assert.deepEqual(order, ["t2", "t1", "t5"]);
      assert.equal(await b!.claimTask(T0 + 10 * S, { projects: [] }), null, "no project on the box: nothing");
      const pinned = await b!.claimTask(T0 + 10 * S);
      assert.equal(pinned?.task.id, "t3", "no project filter: pinned and priority first");
      assert.equal((await b!.claimTask(T0 + 10 * S))?.task.id, "t4");
      assert.equal(await b!.claimTask(T0 + 10 * S), null);

      // a retry waits for its not_before, then is claimed again with the next claim token
      assert.equal(await b!.releaseTask("t4", 1, T0 + 60 * S, "throttled", T0 + 11 * S), true);
      assert.equal(await b!.claimTask(T0 + 59 * S), null);
      const retry = await b!.claimTask(T0 + 60 * S);
      assert.deepEqual([retry?.task.id, retry?.claim, retry?.task.error], ["t4", 2, "throttled"]);
      assert.deepEqual(
        (await a!.listTasks(["queued"])).map((t) => t.id),
        [],
      );
      assert.deepEqual(
        (await a!.listTasks()).map((t) => t.id),
        ["t3", "t4", "t2", "t1", "t5"],
      );
    });

    it("completion needs the current claim by its holder; a task ends once; cancel and lease checks", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.enqueueTask(draft("t1"), T0);
      await a!.enqueueTask(draft("t2"), T0);
      await assert.rejects(a!.claimTask(T0), (e) => isCfError(e, "lease_lapsed"), "no lease: no claim");
      await a!.heartbeat(T0, 30 * S);
      await assert.rejects(a!.claimTask(T0 + 30 * S), (e) => isCfError(e, "lease_lapsed"), "a lapsed lease: no claim");
      const c = (await a!.claimTask(T0 + S))!;
      assert.equal(c.task.id, "t1");
      assert.equal(
        await b!.completeTask("t1", c.claim, { state: "done", result: "x" }, T0 + 2 * S),
        false,
        "not b's claim",
      );
      assert.equal(
        await a!.completeTask("t1", c.claim + 1, { state: "done", result: "x" }, T0 + 2 * S),
        false,
        "not the current claim",
      );
      assert.equal(await a!.completeTask("t1", c.claim, { state: "done", result: "the answer" }, T0 + 2 * S), true);
      assert.equal(
        await a!.completeTask("t1", c.claim, { state: "failed", error: "late" }, T0 + 3 * S),
        false,
        "ends once",
      );
      const done = (await b!.getTask("t1"))!;
      assert.deepEqual([done.state, done.result, done.error, done.endedAt], ["done", "the answer", null, T0 + 2 * S]);
      assert.equal(await b!.getTask("nope"), undefined);
      assert.deepEqual((await b!.getTasks(["nope", "t1", "t2"])).map((t) => [t.id, t.state]).sort(), [
        ["t1", "done"],
        ["t2", "queued"],
      ]);
      assert.deepEqual(await b!.getTasks([]), []);

      const c2 = (await a!.claimTask(T0 + 3 * S))!;
      assert.equal(await b!.cancelTask("t2", "cancelled by the operator", T0 + 4 * S), true);
      assert.equal(
        await a!.completeTask("t2", c2.claim, { state: "done", result: "x" }, T0 + 5 * S),
        false,
        "a cancelled task's claim is void",
      );
      assert.equal((await a!.getTask("t2"))?.state, "cancelled");
      assert.equal(await b!.cancelTask("t2", "again", T0 + 6 * S), false);
      await a!.enqueueTask(draft("t3"), T0);
      const c3 = (await a!.claimTask(T0 + 7 * S))!;
      assert.equal(
        await a!.completeTask("t3", c3.claim, { state: "failed", error: "no project here" }, T0 + 8 * S),
        true,
      );
      assert.deepEqual(
        [(await a!.getTask("t3"))?.state, (await a!.getTask("t3"))?.error],
        ["failed", "no project here"],
      );
    });

    it("two boxes claiming in parallel (4 claimers each): every task is claimed exactly once", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.heartbeat(T0, H);
      await b!.heartbeat(T0, H);
      const N = 60;
      for (let i = 0; i < N; i++)
        await (i % 2 ? a! : b!).enqueueTask(draft(`t${String(i).padStart(3, "0")}`, { priority: i % 3 }), T0 + i);
      const got: { box: string; id: string }[] = [];
      const claimer = async (s: SharedStore): Promise<void> => {
        for (;;) {
          const c = await s.claimTask(T0 + S);
          if (!c) return;
          got.push({ box: s.box, id: c.task.id });
          assert.equal(await s.completeTask(c.task.id, c.claim, { state: "done", result: s.box }, T0 + 2 * S), true);
        }
      };
      await Promise.all([a!, b!, a!, b!, a!, b!, a!, b!].map(claimer));
      const ids = got.map((g) => g.id);
      assert.equal(ids.length, N, "as many claims as tasks");
      assert.equal(new Set(ids).size, N, "no task claimed twice");
      assert.ok(got.some((g) => g.box === "box-a") && got.some((g) => g.box === "box-b"), "both boxes took tasks");
      const tasks = await a!.listTasks();
      assert.ok(
        tasks.every((t) => t.state === "done" && t.attempts === 1 && t.result === got.find((g) => g.id === t.id)!.box),
      );
    });

    it("a lapsed box's running tasks are requeued exactly once, however many boxes requeue at once", async () => {
      const [a, b, c] = await boxes("box-a", "box-b", "box-c");
      await a!.heartbeat(T0, 30 * S);
      await b!.heartbeat(T0, H);
      await c!.heartbeat(T0, H);
      for (const id of ["t1", "t2", "t3", "t4"]) await b!.enqueueTask(draft(id), T0);
      const claims = [(await a!.claimTask(T0 + S))!, (await a!.claimTask(T0 + S))!, (await a!.claimTask(T0 + S))!];
      assert.equal(
        await a!.completeTask(claims[2]!.task.id, claims[2]!.claim, { state: "done", result: "ok" }, T0 + 2 * S),
        true,
      );
      const bRuns = (await b!.claimTask(T0 + S))!;

      assert.deepEqual(await c!.requeueLapsed(T0 + 29 * S), [], "a's lease is still live");
      // box a stops heartbeating; after its TTL two boxes notice at once
      const [r1, r2] = await Promise.all([b!.requeueLapsed(T0 + 31 * S), c!.requeueLapsed(T0 + 31 * S)]);
      const requeued = [...r1, ...r2];
      assert.deepEqual(
        requeued.map((r) => r.id).sort(),
        ["t1", "t2"],
        "a's two running tasks, each once (t3 was done, t4 runs on live b)",
      );
      assert.ok(requeued.every((r) => r.box === "box-a"));
      assert.deepEqual(await b!.requeueLapsed(T0 + 32 * S), [], "nothing twice");
      const t1 = (await c!.getTask("t1"))!;
      assert.equal(t1.state, "queued");
      assert.match(t1.error ?? "", /lease of box box-a lapsed/);
      assert.equal((await c!.getTask("t3"))?.state, "done");
      assert.equal((await c!.getTask("t4"))?.state, "running");

      // a comes back: its old claims are void, its heartbeat says it had lapsed
      assert.equal(
        await a!.completeTask("t1", claims[0]!.claim, { state: "done", result: "late" }, T0 + 40 * S),
        false,
      );
      assert.equal((await a!.heartbeat(T0 + 40 * S, 30 * S)).lapsed, true);
      const again = (await c!.claimTask(T0 + 41 * S))!;
      assert.deepEqual([again.task.id, again.claim], ["t1", 2]);
      assert.equal(await c!.completeTask("t1", again.claim, { state: "done", result: "c did it" }, T0 + 42 * S), true);
      assert.equal(
        await a!.completeTask("t1", claims[0]!.claim, { state: "done", result: "late" }, T0 + 43 * S),
        false,
      );
      assert.equal((await a!.getTask("t1"))?.result, "c did it");

      // a clean stop drops the lease: its running task is requeued at once
      const d = (await a!.claimTask(T0 + 44 * S))!;
      await a!.releaseLease();
      assert.deepEqual(await b!.requeueLapsed(T0 + 45 * S), [{ id: d.task.id, box: "box-a" }]);
      assert.equal(bRuns.task.id, "t4");
    });

    it("a task pinned to a box is claimed by that box only: never by another, not after a requeue, not one not seen yet", async () => {
      // box-c is opened here but takes no lease (runs no round) until later
      const [a, b, c] = await boxes("box-a", "box-b", "box-c");
      await a!.heartbeat(T0, H);
      await b!.heartbeat(T0, H);
      // pinned to box-c, which has no lease yet (boxes come and go): it waits, at the top of the queue
      await a!.enqueueTask(draft("p1", { pinBox: "box-c", priority: 9 }), T0);
      await a!.enqueueTask(draft("free"), T0 + S);
      // four claimers on each of a and b at once: only the unpinned task is taken, once
      const got = (
        await Promise.all([...Array(4)].flatMap(() => [a!.claimTask(T0 + 2 * S), b!.claimTask(T0 + 2 * S)]))
      ).filter((c): c is TaskClaim => c !== null);
      assert.deepEqual(
        got.map((c) => c.task.id),
        ["free"],
      );
      assert.equal((await a!.getTask("p1"))?.state, "queued");

      // box-c comes up and takes it; it lapses while running; a requeue keeps the pin
      await c!.heartbeat(T0 + 3 * S, 30 * S);
      const mine = (await c!.claimTask(T0 + 3 * S))!;
      assert.deepEqual([mine.task.id, mine.task.box, mine.task.pinBox], ["p1", "box-c", "box-c"]);
      assert.deepEqual(await a!.requeueLapsed(T0 + 40 * S), [{ id: "p1", box: "box-c" }]);
      assert.equal(await a!.claimTask(T0 + 41 * S), null, "a never claims it");
      assert.equal(await b!.claimTask(T0 + 41 * S), null, "b never claims it");
      const p1 = (await b!.getTask("p1"))!;
      assert.deepEqual([p1.state, p1.pinBox], ["queued", "box-c"]);
      assert.equal((await c!.heartbeat(T0 + 42 * S, 30 * S)).lapsed, true);
      const again = (await c!.claimTask(T0 + 42 * S))!;
      assert.deepEqual([again.task.id, again.claim], ["p1", 2]);
    });
  });

  describe("planned-move reservations", () => {
    const res = (id: string, account: string, capacity: number | null, ttlMs = 5 * 60 * S) => ({
      id,
      account,
      session: `s-${id}`,
      capacity,
      ttlMs,
    });

    it("reservations of every box count against one capacity; ended, expired and lapsed boxes' ones stop counting", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.heartbeat(T0, 30 * S);
      await b!.heartbeat(T0, 30 * S);
      const r1 = await a!.reserveMove(res("a1", "acc-c", 2), T0);
      assert.equal(r1.ok, true);
      assert.equal(r1.held, 0);
      assert.deepEqual(r1.ok && r1.reservation, {
        id: "a1",
        account: "acc-c",
        box: "box-a",
        session: "s-a1",
        sessions: 1,
        createdAt: T0,
        expiresAt: T0 + 5 * 60 * S,
      });
      assert.deepEqual(await b!.reserveMove(res("b1", "acc-c", 2), T0 + S), {
        ok: true,
        held: 1,
        reservation: (await b!.listReservations(T0 + S)).find((r) => r.id === "b1"),
      });
      // full at 2: a third move onto acc-c is refused on either box, another account is not affected
      assert.deepEqual(await b!.reserveMove(res("b2", "acc-c", 2), T0 + 2 * S), { ok: false, held: 2 });
      assert.deepEqual(await a!.reserveMove(res("a2", "acc-c", 2), T0 + 2 * S), { ok: false, held: 2 });
      assert.equal((await a!.reserveMove(res("a3", "acc-d", 1), T0 + 2 * S)).ok, true);
      assert.equal((await a!.reserveMove(res("a4", "acc-e", null), T0 + 2 * S)).ok, true, "no limit known");
      assert.deepEqual(
        (await a!.listReservations(T0 + 3 * S)).map((r) => [r.account, r.box, r.id]),
        [
          ["acc-c", "box-a", "a1"],
          ["acc-c", "box-b", "b1"],
          ["acc-d", "box-a", "a3"],
          ["acc-e", "box-a", "a4"],
        ],
      );
      // a move that did not happen releases its reservation; only its own box can end it
      assert.equal(await a!.endReservation("b1", null, T0 + 3 * S), false, "not box-a's");
      assert.equal(await b!.endReservation("b1", null, T0 + 3 * S), true);
      assert.equal((await a!.reserveMove(res("a2", "acc-c", 2), T0 + 4 * S)).ok, true, "room again");
      // a move that happened keeps counting until the given time, then expires
      assert.equal(await a!.endReservation("a1", T0 + 10 * S, T0 + 5 * S), true);
      assert.deepEqual(await b!.reserveMove(res("b3", "acc-c", 2), T0 + 9 * S), { ok: false, held: 2 });
      assert.equal((await b!.reserveMove(res("b3", "acc-c", 2), T0 + 10 * S)).ok, true, "a1 expired at its time");
      // box-a's lease lapses: its reservations stop counting for box-b (and are deleted), box-a still sees its own
      await b!.heartbeat(T0 + 40 * S, 30 * S);
      assert.deepEqual(
        (await b!.listReservations(T0 + 41 * S)).map((r) => r.id),
        ["b3"],
      );
      assert.deepEqual(
        (await a!.listReservations(T0 + 41 * S)).map((r) => r.id).sort(),
        ["a2", "a3", "a4", "b3"],
        "box-b's lease is live; box-a's own count for box-a",
      );
      assert.equal(
        (await b!.reserveMove(res("b4", "acc-c", 2), T0 + 41 * S)).ok,
        true,
        "a2 released with box-a's lease",
      );
      assert.equal(await a!.endReservation("a2", null, T0 + 42 * S), false, "deleted by box-b's reservation");
    });

    it("reservers on two boxes in parallel never pass the capacity together", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.heartbeat(T0, 30 * S);
      await b!.heartbeat(T0, 30 * S);
      const tries = Array.from({ length: 8 }, (_, i) => [
        a!.reserveMove(res(`a${i}`, "acc-c", 5), T0 + i),
        b!.reserveMove(res(`b${i}`, "acc-c", 5), T0 + i),
      ]).flat();
      const out = await Promise.all(tries);
      assert.equal(out.filter((r) => r.ok).length, 5);
      assert.equal((await a!.listReservations(T0 + 10)).length, 5);
    });
  });

  describe("events", () => {
    const ev = (localId: number | null, ts: number, kind: string, extra: Partial<SharedEventDraft> = {}) => ({
      localId,
      ts,
      kind,
      session: null,
      account: null,
      data: {},
      ...extra,
    });

    it("each box's events carry its name; read after an id, by time, box, session and kind prefix, the newest N; a batch sent again is not doubled", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      const first = ev(1, T0, "swap.started", {
        session: "dev",
        account: "acc1",
        data: { to: "acc2", n: [1, { k: true }] },
      });
      assert.equal(
        await a!.appendEvents([
          first,
          ev(2, T0 + 1 * S, "swap.done", { session: "dev" }),
          ev(3, T0 + 2 * S, "hook.Stop"),
        ]),
        3,
      );
      assert.equal(await b!.appendEvents([ev(1, T0 + 500, "swap.started", { session: "dev" })]), 1);
      assert.equal(await b!.appendEvents([]), 0);
      // a batch whose answer was lost is sent again (with one new event): only the new one is added
      assert.equal(
        await a!.appendEvents([
          ev(2, T0 + 1 * S, "swap.done"),
          ev(3, T0 + 2 * S, "hook.Stop"),
          ev(4, T0 + 3 * S, "sw%p"),
        ]),
        1,
      );
      // the same local id at another time (the box's state.db was started afresh) is another event
      assert.equal(await a!.appendEvents([ev(1, T0 + 9 * S, "daemon.started")]), 1);

      const all = await b!.readEvents({ limit: 100 });
      assert.deepEqual(
        all.map((e) => `${e.box}:${e.localId}:${e.kind}`),
        [
          "box-a:1:swap.started",
          "box-a:2:swap.done",
          "box-a:3:hook.Stop",
          "box-b:1:swap.started",
          "box-a:4:sw%p",
          "box-a:1:daemon.started",
        ],
        "in arrival order",
      );
      assert.ok(
        all.every((e, i) => i === 0 || e.id > all[i - 1]!.id),
        "ids grow",
      );
      assert.deepEqual(all[0], { id: all[0]!.id, box: "box-a", ...first });
      assert.deepEqual(all[4]!.data, {});

      const kinds = (rows: { kind: string }[]) => rows.map((e) => e.kind);
      assert.deepEqual(kinds(await a!.readEvents({ afterId: all[3]!.id, limit: 100 })), ["sw%p", "daemon.started"]);
      assert.deepEqual(kinds(await a!.readEvents({ afterId: all[0].id, limit: 2 })), ["swap.done", "hook.Stop"]);
      assert.deepEqual(
        (await a!.readEvents({ box: "box-b", limit: 100 })).map((e) => e.box),
        ["box-b"],
      );
      assert.deepEqual(kinds(await a!.readEvents({ kindPrefix: "swap.", limit: 100 })), [
        "swap.started",
        "swap.done",
        "swap.started",
      ]);
      assert.deepEqual(kinds(await a!.readEvents({ kindPrefix: "sw%", limit: 100 })), ["sw%p"], "% is no wildcard");
      assert.deepEqual(kinds(await a!.readEvents({ kindPrefix: "swap_", limit: 100 })), [], "_ is no wildcard");
      assert.deepEqual(kinds(await a!.readEvents({ kindPrefix: "Swap.", limit: 100 })), [], "case counts");
      assert.deepEqual(
        (await a!.readEvents({ session: "dev", kindPrefix: "swap.", box: "box-a", limit: 100 })).map((e) => e.localId),
        [1, 2],
      );
      assert.deepEqual(
        (await a!.readEvents({ since: T0 + 1 * S, until: T0 + 3 * S, limit: 100 })).map((e) => e.ts),
        [T0 + 1 * S, T0 + 2 * S],
        "since is inclusive, until exclusive",
      );
      assert.deepEqual(
        (await a!.readEvents({ newest: true, limit: 2 })).map((e) => e.kind),
        ["sw%p", "daemon.started"],
        "the newest two, oldest first",
      );
      assert.deepEqual(
        (await a!.readEvents({ newest: true, limit: 2, box: "box-a", kindPrefix: "swap" })).map((e) => e.kind),
        ["swap.started", "swap.done"],
      );
      await assert.rejects(a!.readEvents({ limit: 0 }), RangeError);
    });

    it("text PostgreSQL refuses (NUL, a lone surrogate) is stored as U+FFFD on both backends", async () => {
      const [a] = await boxes("box-a");
      await a!.appendEvents([
        ev(1, T0, "hook.\0Stop", {
          session: "s\0",
          account: null,
          data: { text: "a\0b", odd: "x\uD800y", pair: "\uD83D\uDE00" },
        }),
      ]);
      const [e] = await a!.readEvents({ limit: 1 });
      assert.deepEqual(
        [e!.kind, e!.session, e!.data],
        ["hook.\uFFFDStop", "s\uFFFD", { text: "a\uFFFDb", odd: "x\uFFFDy", pair: "\uD83D\uDE00" }],
      );
    });

    it("prune: every box's events older than the cutoff, then each box to its newest N; ids keep growing", async () => {
      const [a, b] = await boxes("box-a", "box-b");
      await a!.appendEvents([1, 2, 3, 4, 5].map((i) => ev(i, T0 + i * S, `a.${i}`)));
      await b!.appendEvents([1, 2, 3].map((i) => ev(i, T0 + i * S, `b.${i}`)));
      const maxId = Math.max(...(await a!.readEvents({ limit: 100 })).map((e) => e.id));
      // older than T0+2s: a.1 and b.1 (any box's); then a keeps its newest 2 (a.4, a.5), b has 2 left
      assert.equal(await a!.pruneEvents(T0 + 2 * S, 2), 4);
      assert.deepEqual(
        (await b!.readEvents({ limit: 100 })).map((e) => e.kind),
        ["a.4", "a.5", "b.2", "b.3"],
      );
      assert.equal(await b!.pruneEvents(T0, 2), 0, "nothing more to prune");
      await b!.appendEvents([ev(9, T0 + 9 * S, "b.9")]);
      const [last] = await a!.readEvents({ newest: true, limit: 1 });
      assert.ok(last!.kind === "b.9" && last!.id > maxId, "a pruned id is never given again");
      assert.equal(await a!.pruneEvents(T0 + 100 * S, 10), 5, "all older than the cutoff");
      assert.deepEqual(await a!.readEvents({ limit: 100 }), []);
      await assert.rejects(a!.pruneEvents(T0, -1), RangeError);
    });
  });

  describe("schema", () => {
    it("reopening keeps the data; a newer schema is refused", async () => {
      const backend = getBackend();
      const db = await backend.fresh();
      const a = await db.open("box-a");
      opened.push(a);
      await a.enqueueTask(draft("t1"), T0);
      const a2 = await db.open("box-a");
      opened.push(a2);
      assert.equal((await a2.getTask("t1"))?.prompt, "do t1");
      await db.exec("UPDATE shared_schema SET version = 99");
      await assert.rejects(
        db.open("box-b"),
        (e) => isCfError(e, "db_too_new") && /version 99/.test((e as Error).message),
      );
    });
  });
}
