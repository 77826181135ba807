// Which scheduled runs are due: pure, given the schedules, what the store remembers of each, and `now`.
//
// Contract:
// - A schedule's cursor is the later of its last decided run (`lastAt`) and when the daemon first saw it with
//   its current cron and time zone (`seenAt`). Only run times strictly after the cursor and at or before `now`
//   are due; so a run, once decided (queued, skipped or refused), is never decided again, however often this is
//   asked (a timer that fires twice or early, a restart, a reload).
// - A schedule seen for the first time, or whose cron or time zone changed, is only baselined: its cursor
//   becomes `now`, no past time of the new expression runs.
// - Of several due times only the latest counts (one task per schedule per decision). It was "missed" when it
//   came before `upSince`, the moment this daemon started watching: the daemon was down then. catch_up `latest`
//   runs it anyway, once; `none` skips it. A time that came while the daemon was up runs with either setting,
//   however late the wake that finds it (a busy event loop, a suspended machine).
// - A record whose schedule is no longer configured is forgotten: the same name added back later starts afresh.
import { cronKey, cronTimes, type CronSpec } from "../util/cron.js";

/** Due times are counted for the record up to this many, then reported as "at least". */
export const DUE_COUNT_MAX = 1000;

export interface PlanSpec extends CronSpec {
  name: string;
  catchUp: "none" | "latest";
}

export interface RunRecord {
  name: string;
  /** cronKey() of the spec the cursor was taken for */
  cronKey: string;
  /** when the daemon first saw the schedule with that cron (epoch ms) */
  seenAt: number;
  /** the scheduled time of the last run decided, null before the first */
  lastAt: number | null;
}

export type ScheduleAction =
  /** first seen, or its cron or time zone changed: nothing before `at` (now) will run */
  | { kind: "baseline"; name: string; cronKey: string; at: number }
  /** enqueue the run scheduled at `at`; `due` run times had come since the cursor (capped), `missed` as above */
  | { kind: "run"; name: string; at: number; due: number; missed: boolean }
  /** catch_up none: the latest due time `at` was missed, nothing runs; recorded so it is not asked again */
  | { kind: "skip"; name: string; at: number; due: number }
  /** no longer configured */
  | { kind: "forget"; name: string };

/**
 * What to do at `now`, this daemon having watched since `upSince` (epoch ms, ≤ now). Order: at most one action
 * per configured schedule in config order, then the forgotten ones.
 */
export function planSchedules(
  specs: readonly PlanSpec[],
  records: readonly RunRecord[],
  now: number,
  upSince: number,
): ScheduleAction[] {
  const byName = new Map(records.map((r) => [r.name, r]));
  const out: ScheduleAction[] = [];
  for (const s of specs) {
    const key = cronKey(s);
    const r = byName.get(s.name);
    if (!r || r.cronKey !== key) {
      out.push({ kind: "baseline", name: s.name, cronKey: key, at: now });
      continue;
    }
    const cursor = Math.max(r.seenAt, r.lastAt ?? Number.NEGATIVE_INFINITY);
    const times = cronTimes(s);
    const latest = times.latest(now);
    if (latest === null || latest <= cursor) continue;
    const due = countDue(times.next, cursor, latest);
    const missed = latest <= upSince;
    if (missed && s.catchUp === "none") out.push({ kind: "skip", name: s.name, at: latest, due });
    else out.push({ kind: "run", name: s.name, at: latest, due, missed });
  }
  const configured = new Set(specs.map((s) => s.name));
  for (const r of records) if (!configured.has(r.name)) out.push({ kind: "forget", name: r.name });
  return out;
}

/** The earliest run time of any schedule strictly after `now`, or null when none will ever run again. */
export function nextWake(specs: readonly PlanSpec[], now: number): number | null {
  let best: number | null = null;
  for (const s of specs) {
    const t = cronTimes(s).next(now);
    if (t !== null && (best === null || t < best)) best = t;
  }
  return best;
}

/** Run times in (cursor, latest], latest included, counted up to DUE_COUNT_MAX. */
function countDue(next: (after: number) => number | null, cursor: number, latest: number): number {
  if (!Number.isFinite(cursor)) return 1;
  let n = 0;
  for (let t = next(cursor); t !== null && t <= latest && n < DUE_COUNT_MAX; t = next(t)) n++;
  return Math.max(n, 1);
}

/** The task id of the run of `name` scheduled at `at`: `sched-<name>-<UTC yyyymmddThhmmssZ>`, the same at every ask. */
export function runTaskId(name: string, at: number): string {
  const iso = new Date(at).toISOString(); // 2026-11-30T03:00:00.000Z
  return `sched-${name}-${iso.slice(0, 19).replace(/[-:]/g, "")}Z`;
}
