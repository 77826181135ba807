// Schedules at run time: one timer for all of them, armed for the earliest next run; at each wake the pure
// plan (schedule-plan.ts) says what is due, and each run's task is inserted in the same SQLite transaction
// that records the run as decided, so no restart, reload or second wake enqueues a run twice.
import { createHash } from "node:crypto";
import type { ScheduleConfig } from "../config/schedules.js";
import { fillPrompt } from "../config/schedules.js";
import type { Parsed, TaskFields } from "../inbox/task-file.js";
import type { TaskStore } from "../inbox/task-store.js";
import type { TaskDraft } from "../inbox/task-types.js";
import type { Db } from "../store/db.js";
import type { Clock, Timer } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { cronTimes, dateIn } from "../util/cron.js";
import { nextWake, planSchedules, runTaskId, type PlanSpec, type ScheduleAction } from "./schedule-plan.js";
import { ScheduleStore, type RunOutcome } from "./schedule-store.js";

/**
 * The longest single wait. Far below Node's ~24.8-day timer limit; short enough that a wall clock that jumps
 * (a suspended laptop, an NTP step: timers run on a monotonic clock) is noticed within a minute. A wake with
 * nothing due only re-arms.
 */
export const MAX_WAIT_MS = 60_000;
/** After a failed wake (the store could not be written), try again this soon. */
export const RETRY_MS = 10_000;

export interface ScheduleDeps {
  db: Db;
  tasks: TaskStore;
  /** time and the one timer (tests fire wakes by hand through it) */
  clock: Clock;
  log: Logger;
  /** validates a run's task like an enqueue request (project, allowed roots, worktree on a git project...) */
  validate(f: TaskFields): Parsed<TaskDraft>;
  /** inbox.max_file_bytes: a run's prompt may not be larger */
  maxPromptBytes(): number;
  event(kind: string, data: Record<string, unknown>): void;
  /** a task was queued: dispatch it soon */
  queued(): void;
}

/** One schedule as `schedules` and the control plane show it. Times are epoch ms. */
export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string | null;
  /** null = pool.project */
  project: string | null;
  prompt: string;
  priority: number;
  worktree: boolean | null;
  timeoutMs: number | null;
  catchUp: "none" | "latest";
  nextRun: number | null;
  /** when the daemon started counting this schedule's runs (first seen, or its cron changed) */
  since: number | null;
  lastRun: {
    at: number;
    task: string | null;
    outcome: RunOutcome | null;
    error: string | null;
    taskState: string | null;
  } | null;
}

export class ScheduleService {
  readonly store: ScheduleStore;
  private schedules: ScheduleConfig[];
  private timer: Timer | null = null;
  private running = false;
  /** when start() ran: run times before it came while the daemon was down (catch_up) */
  private upSince = 0;
  /** the run time the timer is armed for (for tests and the log) */
  wakeAt: number | null = null;

  constructor(
    private readonly deps: ScheduleDeps,
    schedules: ScheduleConfig[],
  ) {
    this.schedules = schedules;
    this.store = new ScheduleStore(deps.db);
  }

  /** Decides what came due while the daemon was down (catch_up), then keeps the timer armed. */
  start(): void {
    this.running = true;
    this.upSince = this.deps.clock.now();
    this.wake();
  }

  stop(): void {
    this.running = false;
    this.disarm();
  }

  /** A reloaded config: added schedules are baselined, removed ones forgotten, changed ones re-timed. */
  configure(schedules: ScheduleConfig[]): void {
    this.schedules = schedules;
    if (this.running) this.wake();
  }

  list(): ScheduleView[] {
    const now = this.deps.clock.now();
    const records = new Map(this.store.all().map((r) => [r.name, r]));
    return this.schedules.map((s) => {
      const r = records.get(s.name);
      const task = r?.lastTask ? this.deps.tasks.get(r.lastTask) : undefined;
      return {
        name: s.name,
        cron: s.cron,
        timezone: s.timezone ?? null,
        project: s.project ?? null,
        prompt: s.prompt.length > 200 ? `${s.prompt.slice(0, 200)}…` : s.prompt,
        priority: s.priority,
        worktree: s.worktree ?? null,
        timeoutMs: s.timeout ?? null,
        catchUp: s.catch_up,
        nextRun: cronTimes(s).next(now),
        since: r?.seenAt ?? null,
        lastRun:
          r && r.lastAt !== null
            ? {
                at: r.lastAt,
                task: r.lastTask,
                outcome: r.lastOutcome,
                error: r.lastError,
                taskState: task?.state ?? null,
              }
            : null,
      };
    });
  }

  private wake(): void {
    this.disarm();
    const now = this.deps.clock.now();
    let failed = false;
    let actions: ScheduleAction[] = [];
    try {
      actions = planSchedules(this.schedules.map(planSpec), this.store.all(), now, this.upSince);
    } catch (e) {
      failed = true;
      this.deps.log.error({ err: errorMessage(e) }, "schedules: could not read the run records");
    }
    for (const a of actions) {
      try {
        this.apply(a, now);
      } catch (e) {
        // Not recorded, so the next wake decides it again.
        failed = true;
        this.deps.log.error({ schedule: a.name, err: errorMessage(e) }, "schedules: could not apply a decision");
      }
    }
    this.arm(now, failed);
  }

  private arm(now: number, retrySoon: boolean): void {
    if (!this.running) return;
    const next = nextWake(this.schedules.map(planSpec), now);
    this.wakeAt = next;
    if (next === null && !retrySoon) return; // nothing will ever run again; configure() re-arms
    let wait = Math.min(next === null ? MAX_WAIT_MS : Math.max(0, next - now), MAX_WAIT_MS);
    if (retrySoon) wait = Math.min(wait, RETRY_MS);
    this.timer = this.deps.clock.after(wait, () => {
      this.timer = null;
      this.wake();
    });
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private apply(a: ScheduleAction, now: number): void {
    if (a.kind === "forget") {
      this.store.forget(a.name);
      this.deps.event("schedule.removed", { name: a.name });
      return;
    }
    const s = this.schedules.find((x) => x.name === a.name)!;
    if (a.kind === "baseline") {
      const before = this.store.get(a.name);
      this.store.baseline(a.name, a.cronKey, a.at);
      const nextRun = cronTimes(s).next(now);
      this.deps.event(before ? "schedule.changed" : "schedule.added", {
        name: s.name,
        cron: s.cron,
        timezone: s.timezone ?? null,
        nextRun,
      });
      return;
    }
    if (a.kind === "skip") {
      this.store.decided(a.name, a.at, null, "skipped", null, now);
      this.deps.event("schedule.skipped", {
        name: a.name,
        at: a.at,
        due: a.due,
        why: "missed while the daemon was down (catch_up: none)",
      });
      this.deps.log.info(
        { schedule: a.name, at: new Date(a.at).toISOString(), due: a.due },
        "schedule: missed run skipped (catch_up: none)",
      );
      return;
    }
    this.run(s, a.at, a.due, a.missed, now);
  }

  /** Enqueues the run of `s` scheduled at `at` (its task and the record in one transaction), or records why not. */
  private run(s: ScheduleConfig, at: number, due: number, missed: boolean, now: number): void {
    const id = runTaskId(s.name, at);
    const prompt = fillPrompt(s.prompt, { date: dateIn(at, s.timezone), name: s.name });
    const bytes = Buffer.byteLength(prompt);
    const v: Parsed<TaskDraft> =
      bytes > this.deps.maxPromptBytes()
        ? {
            ok: false,
            reason: `prompt too large: ${bytes} bytes, inbox.max_file_bytes is ${this.deps.maxPromptBytes()}`,
          }
        : this.deps.validate({ prompt, project: s.project, priority: s.priority, worktree: s.worktree, id });
    if (!v.ok) {
      this.store.decided(s.name, at, null, "refused", v.reason, now);
      this.deps.event("schedule.refused", { name: s.name, at, reason: v.reason });
      this.deps.log.warn(
        { schedule: s.name, at: new Date(at).toISOString(), reason: v.reason },
        "schedule: run refused",
      );
      return;
    }
    const draft: TaskDraft = { ...v.value, timeoutMs: s.timeout ?? v.value.timeoutMs ?? null };
    let outcome = "queued" as RunOutcome;
    this.deps.db.transaction(() => {
      if (this.deps.tasks.get(id)) outcome = "duplicate";
      else
        this.deps.tasks.insert(
          draft,
          {
            source: `schedule:${s.name}`,
            contentHash: createHash("sha256").update(prompt).digest("hex"),
            intakeFile: null,
          },
          now,
        );
      this.store.decided(s.name, at, id, outcome, null, now);
    })();
    this.deps.event("schedule.run", { name: s.name, at, task: id, outcome, due, missed });
    if (outcome === "duplicate") return;
    this.deps.event("task.queued", {
      id,
      source: `schedule:${s.name}`,
      priority: draft.priority,
      project: draft.project,
    });
    this.deps.queued();
  }
}

function planSpec(s: ScheduleConfig): PlanSpec {
  return { name: s.name, cron: s.cron, timezone: s.timezone, catchUp: s.catch_up };
}
