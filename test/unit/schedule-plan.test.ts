// The pure schedule planner: given the schedules, the run records and `now`, which runs are due. Table-driven,
// times by hand (UTC crons, so the table reads the same anywhere).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cronKey, cronTimes, dateIn } from "../../src/util/cron.js";
import {
  DUE_COUNT_MAX,
  nextWake,
  planSchedules,
  runTaskId,
  type PlanSpec,
  type RunRecord,
  type ScheduleAction,
} from "../../src/schedules/schedule-plan.js";

const T0 = Date.parse("2026-01-01T10:00:00Z");
const S = 1000;
const M = 60 * S;
const minutely: PlanSpec = { name: "m", cron: "* * * * *", timezone: "UTC", catchUp: "latest" };
const minutelyNone: PlanSpec = { ...minutely, name: "n", catchUp: "none" };
const every5s: PlanSpec = { name: "s", cron: "*/5 * * * * *", timezone: "UTC", catchUp: "latest" };
const rec = (spec: PlanSpec, seenAt: number, lastAt: number | null, key = cronKey(spec)): RunRecord => ({
  name: spec.name,
  cronKey: key,
  seenAt,
  lastAt,
});

interface Row {
  what: string;
  specs: PlanSpec[];
  records: RunRecord[];
  now: number;
  /** when this daemon started watching; default: long ago (it has been up all along) */
  upSince?: number;
  expect: ScheduleAction[];
}

const rows: Row[] = [
  {
    what: "first seen: baselined at now, nothing runs",
    specs: [minutely],
    records: [],
    now: T0 + 30 * S,
    expect: [{ kind: "baseline", name: "m", cronKey: "* * * * *|UTC", at: T0 + 30 * S }],
  },
  {
    what: "cron changed: baselined again, the new expression's past is not run",
    specs: [every5s],
    records: [rec(every5s, T0 - 10 * M, T0 - M, "*/10 * * * * *|UTC")],
    now: T0,
    expect: [{ kind: "baseline", name: "s", cronKey: "*/5 * * * * *|UTC", at: T0 }],
  },
  {
    what: "time zone changed: baselined again",
    specs: [{ ...minutely, timezone: "Europe/Berlin" }],
    records: [rec(minutely, T0 - M, T0)],
    now: T0 + M,
    expect: [{ kind: "baseline", name: "m", cronKey: "* * * * *|Europe/Berlin", at: T0 + M }],
  },
  {
    what: "seen, its first time not come yet",
    specs: [minutely],
    records: [rec(minutely, T0 + 10 * S, null)],
    now: T0 + 50 * S,
    expect: [],
  },
  {
    what: "its first time came: run it",
    specs: [minutely],
    records: [rec(minutely, T0 + 10 * S, null)],
    now: T0 + M,
    expect: [{ kind: "run", name: "m", at: T0 + M, due: 1, missed: false }],
  },
  {
    what: "a wall clock set back repeats nothing already decided",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0 + 5 * M)],
    now: T0 + 2 * M + 1,
    expect: [],
  },
  {
    what: "a time exactly at the cursor is not run again",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0)],
    now: T0,
    expect: [],
  },
  {
    what: "asked again within the same minute (a second or early wake): nothing",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0)],
    now: T0 + 59_999,
    expect: [],
  },
  {
    what: "the next minute: run it",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0)],
    now: T0 + M + 3,
    expect: [{ kind: "run", name: "m", at: T0 + M, due: 1, missed: false }],
  },
  {
    what: "a late wake while up finds two times: only the latest runs, not missed",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0)],
    now: T0 + 2 * M + 5 * S,
    expect: [{ kind: "run", name: "m", at: T0 + 2 * M, due: 2, missed: false }],
  },
  {
    what: "ten minutes down, catch_up latest: the latest of ten runs once",
    specs: [minutely],
    records: [rec(minutely, T0 - M, T0)],
    now: T0 + 10 * M + 30 * S,
    upSince: T0 + 10 * M + 30 * S,
    expect: [{ kind: "run", name: "m", at: T0 + 10 * M, due: 10, missed: true }],
  },
  {
    what: "ten minutes down, catch_up none: skipped",
    specs: [minutelyNone],
    records: [rec(minutelyNone, T0 - M, T0)],
    now: T0 + 10 * M + 30 * S,
    upSince: T0 + 10 * M + 30 * S,
    expect: [{ kind: "skip", name: "n", at: T0 + 10 * M, due: 10 }],
  },
  {
    what: "catch_up none, a time after the start runs even though earlier ones were missed",
    specs: [minutelyNone],
    records: [rec(minutelyNone, T0 - M, T0)],
    now: T0 + 10 * M + 1,
    upSince: T0 + 9 * M + 30 * S,
    expect: [{ kind: "run", name: "n", at: T0 + 10 * M, due: 10, missed: false }],
  },
  {
    what: "down for a year: counted up to the cap, one run",
    specs: [every5s],
    records: [rec(every5s, T0 - M, T0)],
    now: T0 + 365 * 86_400_000,
    upSince: T0 + 365 * 86_400_000,
    expect: [{ kind: "run", name: "s", at: T0 + 365 * 86_400_000, due: DUE_COUNT_MAX, missed: true }],
  },
  {
    what: "a cron that never matches again: nothing",
    specs: [{ name: "x", cron: "0 0 30 2 *", timezone: "UTC", catchUp: "latest" }],
    records: [rec({ name: "x", cron: "0 0 30 2 *", timezone: "UTC", catchUp: "latest" }, T0, null)],
    now: T0 + M,
    expect: [],
  },
  {
    what: "a record no longer configured is forgotten, after the configured ones",
    specs: [minutely],
    records: [rec(every5s, T0, T0), rec(minutely, T0 - M, T0)],
    now: T0 + M,
    expect: [
      { kind: "run", name: "m", at: T0 + M, due: 1, missed: false },
      { kind: "forget", name: "s" },
    ],
  },
  {
    what: "each schedule on its own",
    specs: [minutely, every5s],
    records: [rec(minutely, T0 - M, T0), rec(every5s, T0 - M, T0 + 55 * S)],
    now: T0 + M + 2 * S,
    expect: [
      { kind: "run", name: "m", at: T0 + M, due: 1, missed: false },
      { kind: "run", name: "s", at: T0 + M, due: 1, missed: false },
    ],
  },
];

describe("planSchedules", () => {
  for (const r of rows) {
    it(r.what, () => {
      assert.deepEqual(planSchedules(r.specs, r.records, r.now, r.upSince ?? 0), r.expect);
    });
  }

  it("after recording what it said, asking again at the same moment says nothing", () => {
    let records = [rec(minutely, T0 - M, T0), rec(minutelyNone, T0 - M, T0)];
    const now = T0 + 10 * M + 30 * S;
    const first = planSchedules([minutely, minutelyNone], records, now, now);
    assert.deepEqual(
      first.map((a) => a.kind),
      ["run", "skip"],
    );
    const decided = new Map(first.map((a) => [a.name, (a as { at: number }).at]));
    records = records.map((x) => ({ ...x, lastAt: decided.get(x.name) ?? x.lastAt }));
    assert.deepEqual(planSchedules([minutely, minutelyNone], records, now, now), []);
    assert.deepEqual(planSchedules([minutely, minutelyNone], records, now + 29 * S, now), []);
  });
});

describe("nextWake", () => {
  it("the earliest next run of any schedule, strictly after now", () => {
    assert.equal(nextWake([minutely], T0), T0 + M);
    assert.equal(nextWake([minutely, every5s], T0 + 1), T0 + 5 * S);
    assert.equal(nextWake([], T0), null);
    assert.equal(nextWake([{ name: "x", cron: "0 0 30 2 *", catchUp: "latest" }], T0), null);
  });

  it("follows the schedule's time zone", () => {
    const berlin3am: PlanSpec = { name: "b", cron: "0 3 * * *", timezone: "Europe/Berlin", catchUp: "latest" };
    assert.equal(
      new Date(nextWake([berlin3am], Date.parse("2026-01-01T00:00:00Z"))!).toISOString(),
      "2026-01-01T02:00:00.000Z",
    ); // CET, UTC+1
    assert.equal(
      new Date(nextWake([berlin3am], Date.parse("2026-07-01T00:00:00Z"))!).toISOString(),
      "2026-07-01T01:00:00.000Z",
    ); // CEST, UTC+2
  });
});

describe("cron times and run ids", () => {
  it("latest is at-or-before, next strictly after, to the millisecond", () => {
    const t = cronTimes({ cron: "* * * * *", timezone: "UTC" });
    assert.equal(t.latest(T0), T0);
    assert.equal(t.latest(T0 - 1), T0 - M);
    assert.equal(t.next(T0), T0 + M);
    assert.equal(t.next(T0 - 1), T0);
  });

  it("a run's task id comes from the name and the scheduled time only", () => {
    assert.equal(runTaskId("nightly", Date.parse("2026-11-30T03:00:00Z")), "sched-nightly-20261130T030000Z");
    assert.equal(
      runTaskId("nightly", Date.parse("2026-11-30T03:00:00Z")),
      runTaskId("nightly", Date.parse("2026-11-30T03:00:00.000Z")),
    );
    assert.notEqual(runTaskId("nightly", T0), runTaskId("nightly", T0 + S));
    assert.match(
      runTaskId("a".repeat(64), T0),
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
      "a valid task id for the longest name",
    );
  });

  it("{{date}} is the run's date in the schedule's zone", () => {
    const at = Date.parse("2026-11-30T23:30:00Z");
    assert.equal(dateIn(at, "UTC"), "2026-11-30");
    assert.equal(dateIn(at, "Europe/Berlin"), "2026-12-01");
    assert.equal(dateIn(at, "America/New_York"), "2026-11-30");
  });
});
