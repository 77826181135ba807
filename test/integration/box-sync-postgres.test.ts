// Two boxes (two real state.db files, two AccountServices) sharing account exhaustions through a real
// PostgreSQL with BoxSync (boxes/box-sync.ts), rounds driven by hand and a manual clock; the database
// stopped and started again in the middle. Skipped when PostgreSQL is missing, failed under CI.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AccountService } from "../../src/accounts/account-service.js";
import { BoxSync } from "../../src/boxes/box-sync.js";
import { formatBoxes } from "../../src/cli/format.js";
import { openDb } from "../../src/store/db.js";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import { postgresGate, startPostgres, type TestPostgres } from "../support/postgres.js";
import { capturingLogger } from "../support/log-lines.js";

const MISSING = postgresGate("box sync");

const T0 = Date.UTC(2026, 10, 30, 12);
const H = 3_600_000;
const ACCOUNTS = ["acc1", "acc2", "acc3"].map((name) => ({
  name,
  home: `/nonexistent/${name}`,
  priority: 100,
  managed: true,
  disabled: false,
  limits: { hourly_msgs: 0, weekly_msgs: 0 },
  link_files: [],
}));

const NONE: UsageFigures = { fiveHour: null, sevenDay: null, perModelWeekly: {}, fetchedAt: null, source: "none" };
const reading = (u5: number, at: number): UsageFigures => ({
  fiveHour: { utilization: u5, resetsAt: at + H },
  sevenDay: null,
  perModelWeekly: {},
  fetchedAt: at,
  source: "statusline",
});

describe(
  "box sync: account exhaustions shared through PostgreSQL",
  { timeout: 120_000, skip: MISSING ?? false },
  () => {
    let server: TestPostgres;
    let root: string;
    before(async () => {
      server = await startPostgres();
      root = mkdtempSync(join(tmpdir(), "cf-boxsync-"));
    });
    after(async () => {
      await server?.destroy();
      rmSync(root, { recursive: true, force: true });
    });

    function box(
      name: string,
      url: string,
      clock: ManualClock,
      usage?: Map<string, UsageFigures>,
      onTasksChanged?: () => void,
    ) {
      const store = new Store(openDb(join(root, name)));
      const { log, lines } = capturingLogger();
      const accounts = new AccountService({ store, clock, log });
      accounts.configure(ACCOUNTS); // no credentials at these homes: revoked ("needs login"), set active below
      for (const a of ACCOUNTS) accounts.setState(a.name, "active", null, "test");
      const sync = new BoxSync({
        box: name,
        store,
        accounts,
        clock,
        log,
        open: () => PostgresSharedStore.open({ url, box: name, connectTimeoutMs: 1500 }),
        ...(usage ? { localUsage: (a: string) => usage.get(a) ?? NONE } : {}),
        ...(onTasksChanged ? { onTasksChanged } : {}),
      });
      return { store, accounts, sync, lines };
    }

    it("status shows every box: lease alive or lapsed, heartbeat age, running tasks (issue 19 point 5)", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      const b1 = box("box-1", url, clock);
      const b2 = box("box-2", url, clock);
      assert.deepEqual(b1.sync.boxesStatus(T0), { asOf: null, reachable: false, boxes: [] }, "before any round");
      await b1.sync.connect();
      await b2.sync.connect();
      try {
        await b2.sync.syncOnce();
        const draft = { project: "/p", prompt: "x", priority: 0, pinBox: null, payload: {} };
        await b1.sync.store!.enqueueTask({ ...draft, id: "t1" }, T0);
        await b1.sync.store!.enqueueTask({ ...draft, id: "t2" }, T0);
        assert.equal((await b2.sync.store!.claimTask(T0))?.task.id, "t1");
        clock.advance(2_000);
        await b1.sync.syncOnce();
        const st = b1.sync.boxesStatus(clock.now());
        assert.deepEqual(st, {
          asOf: T0 + 2_000,
          reachable: true,
          boxes: [
            {
              box: "box-1",
              self: true,
              lease: "alive",
              heartbeatAgeMs: 0,
              since: T0 + 2_000,
              expiresAt: T0 + 32_000,
              runningTasks: 0,
            },
            {
              box: "box-2",
              self: false,
              lease: "alive",
              heartbeatAgeMs: 2_000,
              since: T0,
              expiresAt: T0 + 30_000,
              runningTasks: 1,
            },
          ],
        });
        // box 2 goes silent: past its TTL box 1's next round shows it lapsed, still holding its task
        clock.advance(29_000);
        await b1.sync.syncOnce();
        const later = b1.sync.boxesStatus(clock.now());
        assert.deepEqual(
          later.boxes.map((b) => [b.box, b.lease, b.heartbeatAgeMs, b.runningTasks]),
          [
            ["box-1", "alive", 0, 0],
            ["box-2", "lapsed", 31_000, 1],
          ],
        );
        assert.match(
          formatBoxes(later, clock.now()),
          /^BOXES \(shared store; as of 0s ago\)\nBOX +LEASE +LAST HEARTBEAT +RUNNING TASKS\nbox-1 \(this box\) +alive +0s ago +0\nbox-2 +lapsed +31s ago +1$/,
        );
      } finally {
        await b1.sync.stop();
        await b2.sync.stop();
      }
      b1.store.close();
      b2.store.close();
    });

    it("an exhaustion on box 1 is taken by box 2, never echoed back; revocations stay local; leases are held", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      const b1 = box("box-1", url, clock);
      const b2 = box("box-2", url, clock);
      await b1.sync.connect();
      await b2.sync.connect();
      try {
        b1.accounts.setState("acc1", "exhausted", T0 + H, "5-hour limit reached (resets 13:00)");
        b1.accounts.setState("acc2", "revoked", null, "needs login: token rejected");
        await b1.sync.syncOnce();
        await b2.sync.syncOnce();
        const r = b2.store.getAccount("acc1")!;
        assert.deepEqual(
          [r.state, r.stateUntil, r.stateReason],
          ["exhausted", T0 + H, "exhausted on box box-1: 5-hour limit reached (resets 13:00)"],
        );
        assert.equal(b2.store.getAccount("acc2")!.state, "active", "a revocation is this box's own");
        assert.ok(
          b2.store.tailEvents(5).some((e) => e.kind === "account.state" && e.account === "acc1"),
          "box 2 recorded the change as an event",
        );

        await b2.sync.syncOnce();
        await b1.sync.syncOnce();
        const marks = await b1.sync.store!.listAccountStates(clock.now());
        assert.deepEqual(
          marks.map((m) => [m.account, m.box]),
          [["acc1", "box-1"]],
          "box 2 did not publish the mark it took",
        );
        assert.deepEqual(
          (await b1.sync.store!.leases()).map((l) => [l.box, l.expiresAt]),
          [
            ["box-1", T0 + 30_000],
            ["box-2", T0 + 30_000],
          ],
        );

        // past the reset nothing is taken any more; box 2's own state machine ends its copy
        clock.advance(H);
        b2.accounts.expireStates(0);
        await b2.sync.syncOnce();
        assert.equal(b2.store.getAccount("acc1")!.state, "active");
      } finally {
        await b1.sync.stop();
        await b2.sync.stop();
      }
      const check = await PostgresSharedStore.open({ url, box: "check" });
      assert.deepEqual(await check.leases(), [], "a clean stop drops the leases");
      await check.close();
      b1.store.close();
      b2.store.close();
    });

    it("usage readings of any box count for all; other boxes' move reservations are read each round, a stopped box's dropped", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      const u1 = new Map([["acc1", reading(0.7, T0 - 5000)]]);
      const u2 = new Map([["acc1", reading(0.4, T0 - 60_000)]]);
      const b1 = box("box-1", url, clock, u1);
      const b2 = box("box-2", url, clock, u2);
      await b1.sync.connect();
      await b2.sync.connect();
      try {
        await b1.sync.syncOnce();
        await b2.sync.syncOnce();
        const local2 = { snapshot: (a: string) => ({ status: "ok", figures: u2.get(a) ?? NONE }) };
        const view2 = b2.sync.withSharedUsage(local2);
        assert.equal(view2.snapshot("acc1").figures.fiveHour?.utilization, 0.7, "box 1's newer reading");
        assert.equal(view2.snapshot("acc1").status, "ok", "the rest is box 2's");
        assert.equal(view2.snapshot("acc2").figures, NONE, "no reading anywhere");
        // box 2 reads acc1 later: its own reading wins again, on both boxes
        clock.advance(1000);
        u2.set("acc1", reading(0.75, T0 + 500));
        await b2.sync.syncOnce();
        await b1.sync.syncOnce();
        assert.equal(view2.snapshot("acc1").figures.fiveHour?.utilization, 0.75);
        const view1 = b1.sync.withSharedUsage({ snapshot: (a: string) => ({ figures: u1.get(a) ?? NONE }) });
        assert.deepEqual(view1.snapshot("acc1").figures, reading(0.75, T0 + 500));
        assert.deepEqual(
          (await b1.sync.store!.usageByBox("acc1")).map((u) => [u.box, u.at]),
          [
            ["box-2", T0 + 500],
            ["box-1", T0 - 5000],
          ],
        );

        // box 1 reserves a move onto acc3: box 2 sees it at its next round, box 1 does not count its own
        const r = await b1.sync.reservations.reserve("dev", "acc3", 2, clock.now());
        assert.equal(r.ok, true);
        await b2.sync.syncOnce();
        await b1.sync.syncOnce();
        assert.deepEqual(
          b2.sync.reservations.fromOtherBoxes().map((x) => [x.box, x.session, x.account, x.sessions]),
          [["box-1", "dev", "acc3", 1]],
        );
        assert.deepEqual(b1.sync.reservations.fromOtherBoxes(), []);
        // box 1 stops (its lease is dropped, as when it lapses): its reservation no longer counts for box 2
        await b1.sync.stop();
        clock.advance(31_000);
        await b2.sync.syncOnce();
        assert.deepEqual(b2.sync.reservations.fromOtherBoxes(), []);
      } finally {
        await b1.sync.stop();
        await b2.sync.stop();
      }
      b1.store.close();
      b2.store.close();
    });

    it("notices (LISTEN/NOTIFY): another box's mark, reservation and queue change arrive with no round run by hand; listening again after an outage", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      let tasksChanged = 0;
      const b1 = box("box-1", url, clock);
      const b2 = box("box-2", url, clock, undefined, () => tasksChanged++);
      await b1.sync.connect();
      await b2.sync.connect();
      // Real time for the notices to travel; the clock stays put (rounds are not due by time: no timer runs).
      const until = async (what: string, cond: () => boolean, ms = 5_000) => {
        const end = Date.now() + ms;
        while (!cond()) {
          if (Date.now() > end) assert.fail(`no notice within ${ms} ms: ${what}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      try {
        await b1.sync.syncOnce();
        await b2.sync.syncOnce(); // the first rounds open the LISTEN connections
        assert.equal(b2.sync.listening, true);
        // box 1 writes a mark (its round publishes it): box 2 takes it by the notice alone
        const t0 = Date.now();
        b1.accounts.setState("acc1", "exhausted", T0 + H, "5-hour limit reached");
        await b1.sync.syncOnce();
        await until("box 1's mark on box 2", () => b2.store.getAccount("acc1")!.state === "exhausted");
        const markMs = Date.now() - t0;
        // a reservation
        assert.equal((await b1.sync.reservations.reserve("dev", "acc3", 2, clock.now())).ok, true);
        await until("box 1's reservation on box 2", () => b2.sync.reservations.fromOtherBoxes().length === 1);
        // the queue: enqueued on box 1, box 2 is told (its claims are kicked)
        const draft = { project: "/p", prompt: "x", priority: 0, pinBox: null, payload: {} };
        await b1.sync.store!.enqueueTask({ ...draft, id: "t1" }, clock.now());
        await until("box 1's task on box 2", () => tasksChanged === 1);
        // its own writes tell box 2 nothing new
        await b2.sync.store!.enqueueTask({ ...draft, id: "t2" }, clock.now());
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(tasksChanged, 1, "box 2's own notice is ignored");

        // an outage: the LISTEN connection is lost; the next round that reaches the database listens again
        await server.stop();
        await until("the lost connection noticed", () => !b2.sync.listening);
        await server.start();
        // the next round that reaches the database listens again (a first one may still meet a dead pooled
        // connection and fail like any round in an outage)
        for (let i = 0; i < 20 && !b2.sync.listening; i++) {
          await b2.sync.syncOnce();
          if (!b2.sync.listening) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(b2.sync.listening, true, "listening again");
        b1.accounts.setState("acc2", "exhausted", T0 + H, "weekly limit reached");
        await b1.sync.syncOnce(); // may meet a dead pooled connection too: the mark stays pending, written next
        await b1.sync.syncOnce();
        await until("a mark after the outage", () => b2.store.getAccount("acc2")!.state === "exhausted");
        assert.ok(
          b2.lines.some((l) => l.includes("shared store notices lost")),
          "the loss is logged",
        );
        console.log(`# a mark reached the other box in ${markMs} ms (notice, no polled round)`);
      } finally {
        await b1.sync.stop();
        await b2.sync.stop();
        b1.store.close();
        b2.store.close();
      }
    });

    it("while the database is down an exhaustion is kept and written when it returns; the daemon side never throws", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      const b1 = box("box-3", url, clock);
      const b2 = box("box-4", url, clock);
      await b1.sync.connect();
      await b2.sync.connect();
      try {
        await server.stop();
        b1.accounts.setState("acc3", "exhausted", T0 + 2 * H, "weekly limit reached");
        await b1.sync.syncOnce();
        await b1.sync.syncOnce();
        assert.equal(
          b1.lines.filter((l) => l.includes("shared store unreachable")).length,
          1,
          "logged once per outage",
        );
        assert.ok(
          !b1.lines.join("").includes(url.split("@")[0]!.split("//")[1]!.split(":")[1]!),
          "the password is in no log line",
        );
        await server.start();
        clock.advance(1000);
        await b1.sync.syncOnce();
        assert.ok(b1.lines.some((l) => l.includes("shared store reachable again")));
        await b2.sync.syncOnce();
        assert.deepEqual(
          [b2.store.getAccount("acc3")!.state, b2.store.getAccount("acc3")!.stateUntil],
          ["exhausted", T0 + 2 * H],
        );
      } finally {
        await b1.sync.stop();
        await b2.sync.stop();
        b1.store.close();
        b2.store.close();
      }
    });

    it("a box that cannot reach the database at start opens it later by itself", async () => {
      const url = await server.createDatabase();
      const clock = new ManualClock(T0);
      await server.stop();
      const b = box("box-5", url, clock);
      try {
        await b.sync.connect(); // does not throw
        assert.equal(b.sync.store, null);
        await server.start();
        await b.sync.syncOnce();
        assert.notEqual(b.sync.store, null);
        assert.deepEqual(
          (await b.sync.store!.leases()).map((l) => l.box),
          ["box-5"],
        );
      } finally {
        await b.sync.stop();
        b.store.close();
      }
    });
  },
);
