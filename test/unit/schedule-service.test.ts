// The scheduler's timer and I/O: a manual clock whose one timer is fired by hand, a real task store (SQLite in memory).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { ScheduleConfig } from "../../src/config/schedules.js";
import { validateTask } from "../../src/inbox/task-file.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { MAX_WAIT_MS, RETRY_MS, ScheduleService, type ScheduleDeps } from "../../src/schedules/schedule-service.js";
import { migrate } from "../../src/store/db.js";
import { ManualClock, type Timer } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const T0 = Date.parse("2026-01-01T10:00:00Z");
const S = 1000;
const M = 60 * S;

/**
 * The service's clock, its timers fired by hand: moving the time fires nothing, so a wake can come early or
 * late against the wall clock (as a monotonic timer does when the wall clock jumps).
 */
class HandClock extends ManualClock {
  armed: { fn: () => void; ms: number }[] = [];
  override after(ms: number, fn: () => void): Timer {
    const t = { fn, ms };
    this.armed.push(t);
    return { cancel: () => (this.armed = this.armed.filter((x) => x !== t)) };
  }
  /** the one armed wait, in ms */
  get wait(): number | null {
    assert.ok(this.armed.length <= 1, "at most one timer armed");
    return this.armed[0]?.ms ?? null;
  }
  fireArmed(): void {
    const t = this.armed.shift();
    assert.ok(t, "a timer is armed");
    t.fn();
  }
}

const minutely = (o: Partial<ScheduleConfig> = {}): ScheduleConfig => ({
  name: "m",
  cron: "* * * * *",
  timezone: "UTC",
  project: "/p",
  prompt: "tidy up on {{date}} ({{name}})",
  priority: 3,
  catch_up: "latest",
  ...o,
});

describe("ScheduleService", () => {
  let db: Database.Database;
  let tasks: TaskStore;
  let clock: HandClock;
  let timers: HandClock;
  let events: { kind: string; data: Record<string, unknown> }[];
  let queued: number;
  let services: ScheduleService[];
  let refuse: string | null;

  const deps = (): ScheduleDeps => ({
    db,
    tasks,
    clock,
    log: silentLogger(),
    validate: (f) =>
      refuse
        ? { ok: false, reason: refuse }
        : validateTask(f, { defaultProject: "/p", accounts: [], projectExists: () => true }),
    maxPromptBytes: () => 10_000,
    event: (kind, data) => events.push({ kind, data }),
    queued: () => queued++,
  });
  const start = (schedules: ScheduleConfig[]) => {
    const s = new ScheduleService(deps(), schedules);
    services.push(s);
    s.start();
    return s;
  };
  const ids = () => (db.prepare("SELECT id FROM tasks ORDER BY seq").all() as { id: string }[]).map((r) => r.id);
  const kinds = () => events.map((e) => e.kind);

  beforeEach(() => {
    db = new Database(":memory:");
    migrate(db);
    tasks = new TaskStore(db);
    clock = new HandClock(T0 + 20 * S);
    timers = clock;
    events = [];
    queued = 0;
    services = [];
    refuse = null;
  });
  afterEach(() => {
    for (const s of services) s.stop();
    db.close();
  });

  it("baselines a new schedule, then queues each minute's run once, re-arming from now each time", () => {
    start([minutely()]);
    assert.deepEqual(kinds(), ["schedule.added"]);
    assert.equal(timers.wait, 40 * S, "armed for 10:01:00");
    clock.set(T0 + M);
    timers.fireArmed();
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z"]);
    const t = tasks.get("sched-m-20260101T100100Z")!;
    assert.equal(t.prompt, "tidy up on 2026-01-01 (m)");
    assert.equal(t.source, "schedule:m");
    assert.equal(t.priority, 3);
    assert.equal(t.project, "/p");
    assert.equal(queued, 1);
    assert.equal(timers.wait, M, "armed for 10:02:00");
    // The timer fires a little late: still one run, and the next wait is shorter, not another full minute.
    clock.set(T0 + 2 * M + 250);
    timers.fireArmed();
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z", "sched-m-20260101T100200Z"]);
    assert.equal(timers.wait, M - 250, "no drift: armed for 10:03:00 exactly");
  });

  it("a wake that comes early, or twice for the same time, queues nothing more", () => {
    start([minutely()]);
    clock.set(T0 + M - 3);
    timers.fireArmed();
    assert.deepEqual(ids(), []);
    assert.equal(timers.wait, 3, "re-armed for what is left");
    clock.set(T0 + M);
    timers.fireArmed();
    clock.set(T0 + M + 10);
    const again = new ScheduleService(deps(), [minutely()]); // a second instance, as after a reload or a restart
    services.push(again);
    again.configure([minutely()]);
    again.start();
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z"]);
    assert.equal(events.filter((e) => e.kind === "schedule.run").length, 1, "the run was decided once");
  });

  it("a long wait is capped, so a wall clock that jumps is noticed", () => {
    start([minutely({ cron: "0 3 * * *" })]);
    assert.equal(timers.wait, MAX_WAIT_MS);
    clock.advance(MAX_WAIT_MS);
    timers.fireArmed();
    assert.deepEqual(ids(), []);
    assert.equal(timers.wait, MAX_WAIT_MS);
  });

  it("ten minutes down: catch_up latest queues the latest run once, none queues nothing", () => {
    const first = start([minutely(), minutely({ name: "n", catch_up: "none" })]);
    clock.set(T0 + M);
    timers.fireArmed();
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z", "sched-n-20260101T100100Z"]);
    first.stop();
    assert.equal(timers.wait, null, "stop disarms");
    clock.set(T0 + 11 * M + 30 * S); // 10:11:30: ten runs (10:02 … 10:11) came while down
    start([minutely(), minutely({ name: "n", catch_up: "none" })]);
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z", "sched-n-20260101T100100Z", "sched-m-20260101T101100Z"]);
    const run = events.filter((e) => e.kind === "schedule.run").at(-1)!;
    assert.deepEqual(run.data, {
      name: "m",
      at: T0 + 11 * M,
      task: "sched-m-20260101T101100Z",
      outcome: "queued",
      due: 10,
      missed: true,
    });
    const skip = events.filter((e) => e.kind === "schedule.skipped").at(-1)!;
    assert.equal(skip.data.name, "n");
    assert.equal(skip.data.due, 10);
    // Both go on at the next minute as usual.
    clock.set(T0 + 12 * M);
    timers.fireArmed();
    assert.deepEqual(ids().slice(3), ["sched-m-20260101T101200Z", "sched-n-20260101T101200Z"]);
  });

  it("reload: a removed schedule is forgotten, an added one baselined, a changed cron re-timed", () => {
    const s = start([minutely()]);
    clock.set(T0 + M);
    timers.fireArmed();
    s.configure([minutely({ name: "other", cron: "*/10 * * * * *" })]);
    assert.deepEqual(kinds().slice(-2), ["schedule.added", "schedule.removed"]);
    assert.equal(timers.wait, 10 * S);
    assert.deepEqual(
      s.store.all().map((r) => r.name),
      ["other"],
    );
    s.configure([minutely({ name: "other", cron: "*/20 * * * * *" })]);
    assert.equal(kinds().at(-1), "schedule.changed");
    assert.equal(timers.wait, 20 * S);
    s.configure([]);
    assert.equal(timers.wait, null, "nothing armed without schedules");
  });

  it("a run whose task is refused is recorded with the reason and not tried again", () => {
    const s = start([minutely()]);
    refuse = "project: /p does not exist or is not a directory";
    clock.set(T0 + M);
    timers.fireArmed();
    assert.deepEqual(ids(), []);
    assert.equal(s.list()[0]!.lastRun?.outcome, "refused");
    assert.equal(s.list()[0]!.lastRun?.error, refuse);
    clock.set(T0 + M + 30 * S);
    timers.fireArmed();
    assert.equal(events.filter((e) => e.kind === "schedule.refused").length, 1);
  });

  it("a failed write is not recorded: tried again soon, and queued once", () => {
    start([minutely()]);
    const insert = tasks.insert.bind(tasks);
    let fail = true;
    tasks.insert = (...a: Parameters<TaskStore["insert"]>) => {
      if (fail) throw new Error("SQLITE_FULL: database or disk is full");
      return insert(...a);
    };
    clock.set(T0 + M);
    timers.fireArmed();
    assert.deepEqual(ids(), []);
    assert.equal(timers.wait, RETRY_MS);
    fail = false;
    clock.set(T0 + M + RETRY_MS);
    timers.fireArmed();
    assert.deepEqual(ids(), ["sched-m-20260101T100100Z"]);
  });

  it("list: next run, last run and its task's state", () => {
    const s = start([minutely({ worktree: true, timeout: 5 * M })]);
    assert.equal(s.list()[0]!.nextRun, T0 + M);
    assert.equal(s.list()[0]!.lastRun, null);
    clock.set(T0 + M);
    timers.fireArmed();
    const v = s.list()[0]!;
    assert.deepEqual(v.lastRun, {
      at: T0 + M,
      task: "sched-m-20260101T100100Z",
      outcome: "queued",
      error: null,
      taskState: "queued",
    });
    assert.equal(v.nextRun, T0 + 2 * M);
    assert.equal(v.timeoutMs, 5 * M);
    assert.equal(tasks.get("sched-m-20260101T100100Z")!.timeoutMs, 5 * M, "the schedule's timeout is the task's");
  });
});
