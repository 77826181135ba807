// The shared task queue as the daemon uses it (inbox/shared-queue.ts): two boxes, each with its own real
// state.db (TaskStore) and its own SharedQueue, on one real PostgreSQL; a manual clock; rounds driven by
// hand. The runner below does to the local rows what the dispatcher does (start a claimed, ready task;
// end it), so what is tested is the bridge: who claims, exactly once, where the result goes, lapsed
// leases, cancel across boxes, an outage. Skipped when PostgreSQL is missing, failed under CI.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SharedQueue } from "../../src/inbox/shared-queue.js";
import { writeResult } from "../../src/inbox/outbox.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { openDb } from "../../src/store/db.js";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { postgresGate, startPostgres, type TestPostgres } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";
import { capturingLogger } from "../support/log-lines.js";

const MISSING = postgresGate("shared queue");

const T0 = Date.UTC(2026, 10, 30, 12);
const TTL = 2000;

describe("shared task queue: two boxes through PostgreSQL", { timeout: 120_000, skip: MISSING ?? false }, () => {
  let server: TestPostgres;
  let root: string;
  let project: string;
  before(async () => {
    server = await startPostgres();
    root = mkdtempSync(join(tmpdir(), "cf-sharedq-"));
    project = join(root, "project");
    mkdirSync(project);
  });
  after(async () => {
    await server?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  let dirs = 0;
  async function box(name: string, url: string, clock: ManualClock, max: number) {
    const dir = join(root, `${name}-${++dirs}`);
    const store = new Store(openDb(dir));
    const tasks = new TaskStore(store.db);
    const { log, lines } = capturingLogger();
    const shared = await PostgresSharedStore.open({ url, box: name, connectTimeoutMs: 1500 });
    const outboxDir = join(dir, "outbox");
    const interrupted: string[] = [];
    const limits = { max };
    const q = new SharedQueue({
      box: name,
      shared: () => shared,
      tasks,
      outboxDir,
      refused: () => null,
      clock,
      log,
      event: (kind, data) => store.appendEvent(clock.now(), kind, null, null, data),
      dispatcher: {
        kick: () => {},
        limits: () => limits,
        interrupt: async (id, state, reason) => {
          interrupted.push(id);
          return tasks.interrupted(id, state, null, reason, clock.now());
        },
      },
    });
    const beat = () => shared.heartbeat(clock.now(), TTL);
    /** What the dispatcher does: start the claimed ready tasks (up to max running), end the running ones. */
    const run = (finish: boolean) => {
      if (finish) {
        for (const t of tasks.inState("running")) {
          const result = `result of ${t.prompt} on ${name}`;
          tasks.done(t.id, result, q.writesOutbox(t) ? writeResult(outboxDir, t.id, result) : null, clock.now());
        }
      }
      for (const t of tasks.ready(clock.now()).filter((r) => q.runnable(r))) {
        if (tasks.inState("running").length >= limits.max) break;
        tasks.start(t.id, `auto-${name}`, "acc1", clock.now());
      }
    };
    const enqueue = (prompt: string) =>
      tasks.insert(
        { id: null, prompt, project, priority: 0, account: null, model: null },
        { source: "api", contentHash: prompt, intakeFile: null },
        clock.now(),
      );
    const close = async () => {
      await q.stop();
      await shared.close().catch(() => {});
      store.close();
    };
    return { name, store, tasks, shared, q, lines, outboxDir, interrupted, beat, run, enqueue, close, limits };
  }

  it("ten tasks enqueued on box A (max 1) with box B idle (max 3): each done exactly once, some by B, every result in A's outbox", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 1);
    const b = await box("box-b", url, clock, 3);
    try {
      await a.beat();
      await b.beat();
      const ids = Array.from({ length: 10 }, (_, i) => a.enqueue(`task ${i}`).id);
      for (let i = 0; i < 40 && a.tasks.inState("done").length < 10; i++) {
        clock.advance(100);
        await a.q.syncOnce();
        await b.q.syncOnce();
        a.run(true);
        b.run(true);
      }
      assert.equal(a.tasks.inState("done").length, 10, "every task done on box A's record");
      const all = await a.shared.listTasks();
      assert.deepEqual(
        all
          .map((t) => [t.state, t.attempts, t.originBox])
          .filter(([s, n, o]) => s !== "done" || n !== 1 || o !== "box-a"),
        [],
        "done once each, enqueued on box A",
      );
      const byB = all.filter((t) => t.box === "box-b").map((t) => t.id);
      const byA = all.filter((t) => t.box === "box-a").map((t) => t.id);
      assert.ok(byB.length >= 5, `box B (max 3) took most: ${byB.length}`);
      assert.ok(byA.length >= 1, `box A took some too: ${byA.length}`);
      assert.deepEqual(
        readdirSync(a.outboxDir).sort(),
        ids.map((id) => `${id}.md`).sort(),
        "every result in box A's outbox",
      );
      for (const id of byB) {
        assert.equal(
          readFileSync(join(a.outboxDir, `${id}.md`), "utf8").trim(),
          `result of ${a.tasks.get(id)!.prompt} on box-b`,
        );
        const local = a.tasks.get(id)!;
        assert.equal(local.resultPath, join(a.outboxDir, `${id}.md`));
        assert.equal(b.tasks.get(id)!.source, "box:box-a:api", "box B's record says where the task came from");
        assert.equal(b.tasks.get(id)!.state, "done");
      }
      assert.throws(() => readdirSync(b.outboxDir), /ENOENT/, "box B writes no result file for box A's tasks");
      // every task ran once over both boxes' records
      for (const id of ids)
        assert.equal([a, b].filter((x) => x.tasks.get(id)?.attempts === 1).length, 1, `${id} started once`);
      const claimed = b.store.tailEvents(100, { kindPrefix: "task.claimed" }).filter((e) => e.kind === "task.claimed");
      assert.deepEqual(
        claimed.map((e) => [e.data.origin, e.data.box]).filter(([o, bx]) => o !== "box-a" || bx !== "box-b"),
        [],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("what a box remembers per task goes once the task ends: 30 tasks done over two boxes, nothing left tracked (issue 16, memory)", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 1);
    const b = await box("box-b", url, clock, 3);
    try {
      await a.beat();
      await b.beat();
      for (let i = 0; i < 30; i++) a.enqueue(`tracked ${i}`);
      for (let i = 0; i < 120 && a.tasks.inState("done").length < 30; i++) {
        clock.advance(100);
        await a.q.syncOnce();
        await b.q.syncOnce();
        a.run(true);
        b.run(true);
      }
      assert.equal(a.tasks.inState("done").length, 30, "every task done on box A's record");
      assert.ok(b.tasks.inState("done").length >= 10, `box B ran some: ${b.tasks.inState("done").length}`);
      // one more round each sees every end
      await a.q.syncOnce();
      await b.q.syncOnce();
      const none = { claims: 0, pushed: 0, announced: 0, elsewhere: 0, toCancel: 0 };
      assert.deepEqual(a.q.tracked(), none, "box A (origin of all 30)");
      assert.deepEqual(b.q.tracked(), none, "box B");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a box whose lease lapses while it runs a task: another box requeues it once, runs it; the lapsed box's late end is refused and its run stopped", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 0);
    const b = await box("box-b", url, clock, 1);
    try {
      await a.beat();
      await b.beat();
      const id = a.enqueue("long task").id;
      await a.q.syncOnce(); // put in the shared queue; A (max 0) claims nothing
      await b.q.syncOnce(); // B claims
      b.run(false); // B starts it and keeps running
      assert.equal(b.tasks.get(id)!.state, "running");
      a.limits.max = 1;
      clock.advance(TTL - 1);
      await a.beat();
      await a.q.syncOnce();
      assert.equal((await a.shared.getTask(id))!.box, "box-b", "not requeued while B's lease holds");
      clock.advance(2); // B's lease lapsed: B stopped heartbeating
      await a.beat();
      await Promise.all([a.q.syncOnce(), a.q.syncOnce()]);
      const requeued = a.store.tailEvents(100, { kindPrefix: "task.requeued" });
      assert.deepEqual(
        requeued.map((e) => [e.data.id, e.data.lapsedBox]),
        [[id, "box-b"]],
        "requeued exactly once",
      );
      assert.equal((await a.shared.getTask(id))!.box, "box-a", "claimed again by box A");
      a.run(false);
      a.run(true);
      await a.q.syncOnce();
      const s = (await a.shared.getTask(id))!;
      assert.deepEqual([s.state, s.box, s.attempts, s.result], ["done", "box-a", 2, "result of long task on box-a"]);
      assert.equal(readFileSync(join(a.outboxDir, `${id}.md`), "utf8").trim(), "result of long task on box-a");

      // B comes back: its run ends, and its end is refused (its claim is void); the task stays done by A.
      b.run(true);
      await b.beat();
      await b.q.syncOnce();
      assert.equal(b.lines.filter((l) => l.includes("did not take this box's end")).length, 1);
      assert.deepEqual((await b.shared.getTask(id))!.result, "result of long task on box-a");
      assert.equal(a.tasks.get(id)!.attempts, 1, "A's local record: one run here");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a lapsed box still running when it comes back stops its run (its claim was voided)", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 0);
    const b = await box("box-b", url, clock, 1);
    try {
      await a.beat();
      await b.beat();
      const id = a.enqueue("stalled").id;
      await a.q.syncOnce();
      await b.q.syncOnce();
      b.run(false);
      clock.advance(TTL + 1);
      await a.beat();
      await a.q.syncOnce(); // requeued; A (max 0) does not claim it
      assert.equal((await a.shared.getTask(id))!.state, "queued");
      await b.beat();
      await b.q.syncOnce();
      assert.deepEqual(b.interrupted, [id], "box B stopped its run");
      assert.deepEqual(
        b.store.tailEvents(100, { kindPrefix: "task.claim_lost" }).map((e) => e.data.id),
        [id],
      );
      // The same round claims it afresh (a new claim): box B's record is queued again and runs it once more.
      const s = (await b.shared.getTask(id))!;
      assert.deepEqual([s.state, s.box, s.attempts], ["running", "box-b", 2]);
      assert.equal(b.tasks.get(id)!.state, "queued");
      b.run(false);
      b.run(true);
      await b.q.syncOnce();
      assert.deepEqual([(await b.shared.getTask(id))!.state, b.tasks.get(id)!.attempts], ["done", 2]);
      await a.q.syncOnce();
      assert.equal(a.tasks.get(id)!.state, "done");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("cancel across boxes: a queued task cancelled on its origin is never claimed; a task running on B cancelled from A is stopped by B; A records both", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 0);
    const b = await box("box-b", url, clock, 1);
    try {
      await a.beat();
      await b.beat();
      const first = a.enqueue("to run").id;
      const second = a.enqueue("to drop").id;
      await a.q.syncOnce();
      await b.q.syncOnce(); // B (max 1) claims the first
      b.run(false);
      assert.equal(b.tasks.get(first)?.state, "running");
      const r1 = await a.q.cancelShared(second, "by the operator on box-a");
      assert.equal(r1.cancelled, true);
      b.limits.max = 3;
      await b.q.syncOnce();
      assert.equal(b.tasks.get(second), undefined, "box B never claimed the cancelled task");
      const r2 = await a.q.cancelShared(first, "by the operator on box-a");
      assert.equal(r2.cancelled, true);
      await b.q.syncOnce();
      assert.deepEqual(b.interrupted, [first], "box B stopped its run when it saw the shared state");
      assert.equal(b.tasks.get(first)!.state, "cancelled");
      await a.q.syncOnce();
      assert.deepEqual([a.tasks.get(first)!.state, a.tasks.get(second)!.state], ["cancelled", "cancelled"]);
      assert.equal((await a.shared.getTask(first))!.error, "by the operator on box-a");
      // A task box A fails without running it (a reload refused its project) is cancelled for every box.
      const third = a.enqueue("refused after a reload").id;
      await a.q.syncOnce();
      assert.equal((await a.shared.getTask(third))!.state, "queued");
      assert.equal(a.tasks.fail(third, "project: outside inbox.allowed_roots", clock.now()), true);
      a.q.endedHere(third, "project: outside inbox.allowed_roots");
      await a.q.syncOnce();
      await b.q.syncOnce();
      assert.deepEqual([(await a.shared.getTask(third))!.state, b.tasks.get(third)], ["cancelled", undefined]);
      const none = await a.q.cancelShared("t-nonexistent", "x");
      assert.deepEqual([none.cancelled, none.task], [false, undefined]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("the same schedule on two boxes (the same run id on each) is one shared task, run once; both boxes record its end", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 1);
    const b = await box("box-b", url, clock, 1);
    try {
      await a.beat();
      await b.beat();
      const run = {
        id: "s-nightly-1796040000000",
        prompt: "nightly run",
        project,
        priority: 0,
        account: null,
        model: null,
      };
      a.tasks.insert(run, { source: "schedule:nightly", contentHash: "n", intakeFile: null }, clock.now());
      b.tasks.insert(run, { source: "schedule:nightly", contentHash: "n", intakeFile: null }, clock.now());
      for (let i = 0; i < 6; i++) {
        clock.advance(100);
        await a.q.syncOnce();
        await b.q.syncOnce();
        a.run(true);
        b.run(true);
      }
      const s = await a.shared.listTasks();
      assert.deepEqual(
        s.map((t) => [t.id, t.state, t.attempts]),
        [[run.id, "done", 1]],
      );
      assert.deepEqual([a.tasks.get(run.id)!.state, b.tasks.get(run.id)!.state], ["done", "done"]);
      assert.equal([a, b].filter((x) => x.tasks.get(run.id)!.attempts === 1).length, 1, "started on one box only");
      for (const x of [a, b])
        assert.equal(
          readFileSync(join(x.outboxDir, `${run.id}.md`), "utf8").trim(),
          s[0]!.result,
          `${x.name} has the result in its outbox`,
        );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("the database away: tasks enqueued meanwhile wait locally, then go into the shared queue once and are done once", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const a = await box("box-a", url, clock, 0);
    const b = await box("box-b", url, clock, 2);
    try {
      await a.beat();
      await b.beat();
      await server.stop();
      const ids = [a.enqueue("during outage 1").id, a.enqueue("during outage 2").id];
      await a.q.syncOnce();
      await a.q.syncOnce();
      assert.equal(
        a.lines.filter((l) => l.includes("shared task queue unreachable")).length,
        1,
        "logged once per outage",
      );
      assert.deepEqual(
        ids.map((id) => a.tasks.get(id)!.state),
        ["queued", "queued"],
      );
      await server.start();
      clock.advance(500);
      await a.beat();
      await b.beat();
      // The server takes a moment to accept connections again: rounds until both are done, with a deadline.
      await waitFor(
        async () => {
          clock.advance(100);
          await a.q.syncOnce();
          await b.q.syncOnce();
          b.run(true);
          return a.tasks.inState("done").length === 2;
        },
        20_000,
        "both tasks done after the outage",
        50,
      );
      assert.deepEqual(
        ids.map((id) => a.tasks.get(id)!.state),
        ["done", "done"],
        a.lines.join("") + b.lines.join(""),
      );
      assert.ok(a.lines.some((l) => l.includes("shared task queue reachable again")));
      assert.deepEqual(
        b.lines.filter((l) => !l.includes("reachable")),
        [],
        "box B logged nothing else",
      );
      assert.deepEqual(
        (await a.shared.listTasks()).map((t) => [t.state, t.attempts, t.box]),
        [
          ["done", 1, "box-b"],
          ["done", 1, "box-b"],
        ],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});
