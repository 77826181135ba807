// The schedule_runs table (migration 9): what the daemon remembers of each schedule across restarts.
import type { Db } from "../store/db.js";
import type { RunRecord } from "./schedule-plan.js";

/** How a run was decided: its task queued, already there (same id), skipped (missed, catch_up none), or refused (invalid task). */
export type RunOutcome = "queued" | "duplicate" | "skipped" | "refused";

export interface ScheduleRecord extends RunRecord {
  lastTask: string | null;
  lastOutcome: RunOutcome | null;
  lastError: string | null;
  updatedAt: number;
}

type Row = Record<string, unknown>;

function toRecord(r: Row): ScheduleRecord {
  return {
    name: r.name as string,
    cronKey: r.cron_key as string,
    seenAt: r.seen_at as number,
    lastAt: (r.last_at as number | null) ?? null,
    lastTask: (r.last_task as string | null) ?? null,
    lastOutcome: (r.last_outcome as RunOutcome | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    updatedAt: r.updated_at as number,
  };
}

export class ScheduleStore {
  constructor(readonly db: Db) {}

  all(): ScheduleRecord[] {
    return (this.db.prepare("SELECT * FROM schedule_runs ORDER BY name").all() as Row[]).map(toRecord);
  }

  get(name: string): ScheduleRecord | undefined {
    const r = this.db.prepare("SELECT * FROM schedule_runs WHERE name = ?").get(name) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** First seen, or seen with a new cron: the cursor starts at `at`; the last run is kept for display. */
  baseline(name: string, cronKey: string, at: number): void {
    this.db
      .prepare(
        `INSERT INTO schedule_runs (name, cron_key, seen_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET cron_key = excluded.cron_key, seen_at = excluded.seen_at, updated_at = excluded.updated_at`,
      )
      .run(name, cronKey, at, at);
  }

  /** The run scheduled at `at` is decided. Call inside the transaction that inserts its task, if any. */
  decided(name: string, at: number, task: string | null, outcome: RunOutcome, error: string | null, now: number): void {
    this.db
      .prepare(
        "UPDATE schedule_runs SET last_at = ?, last_task = ?, last_outcome = ?, last_error = ?, updated_at = ? WHERE name = ?",
      )
      .run(at, task, outcome, error, now, name);
  }

  forget(name: string): void {
    this.db.prepare("DELETE FROM schedule_runs WHERE name = ?").run(name);
  }
}
