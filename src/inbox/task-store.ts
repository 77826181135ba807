import { randomBytes } from "node:crypto";
import type { Db } from "../store/db.js";
import type { TaskDraft, TaskRow, TaskState } from "./task-types.js";

type Row = Record<string, unknown>;

const COLS: Record<keyof TaskRow, string> = {
  id: "id",
  contentHash: "content_hash",
  source: "source",
  project: "project",
  priority: "priority",
  account: "account",
  model: "model",
  prompt: "prompt",
  state: "state",
  session: "session",
  accountUsed: "account_used",
  attempts: "attempts",
  result: "result",
  resultPath: "result_path",
  error: "error",
  notBefore: "not_before",
  createdAt: "created_at",
  startedAt: "started_at",
  submittedAt: "submitted_at",
  endedAt: "ended_at",
  updatedAt: "updated_at",
  seq: "seq",
  intakeFile: "intake_file",
  worktree: "worktree",
  base: "base",
  timeoutMs: "timeout_ms",
  workdir: "workdir",
  branch: "branch",
  baseCommit: "base_commit",
  worktreeInfo: "worktree_info",
  pinBox: "pin_box",
};

function toTask(r: Row): TaskRow {
  const out: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(COLS)) out[k] = r[c] ?? null;
  out.worktree = Boolean(out.worktree);
  return out as unknown as TaskRow;
}

/** A fresh task id: sortable by time, unique without a round trip. */
export function newTaskId(now: number): string {
  return `t-${now.toString(36)}-${randomBytes(3).toString("hex")}`;
}

/**
 * The durable queue. It owns the task rows and their invariants: every state change is conditional on
 * the state it leaves, so a task ends (done or failed) exactly once however often an event is replayed.
 * Time comes from the caller.
 */
export class TaskStore {
  constructor(private readonly db: Db) {}

  /**
   * durable: this one commit is synced to disk before it returns (synchronous=FULL just for it; the
   * store runs at NORMAL, whose last commits a power cut may undo): the inbox moves a task's file away
   * only after its row is safe.
   */
  insert(
    d: TaskDraft,
    meta: { source: string; contentHash: string; intakeFile: string | null },
    now: number,
    opts: { durable?: boolean } = {},
  ): TaskRow {
    const id = d.id ?? newTaskId(now);
    const level = opts.durable ? (this.db.pragma("synchronous", { simple: true }) as number) : null;
    if (level !== null) this.db.pragma("synchronous = FULL");
    try {
      this.insertTx(id, d, meta, now);
    } finally {
      if (level !== null) this.db.pragma(`synchronous = ${level}`);
    }
    return this.get(id)!;
  }

  private insertTx(
    id: string,
    d: TaskDraft,
    meta: { source: string; contentHash: string; intakeFile: string | null },
    now: number,
  ): void {
    this.db.transaction(() => {
      const { seq } = this.db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM tasks").get() as { seq: number };
      this.db
        .prepare(
          `INSERT INTO tasks (id, content_hash, source, project, priority, account, model, prompt, state, created_at, updated_at, seq, intake_file, worktree, base, timeout_ms, pin_box)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          meta.contentHash,
          meta.source,
          d.project,
          d.priority,
          d.account,
          d.model,
          d.prompt,
          now,
          now,
          seq,
          meta.intakeFile,
          d.worktree ? 1 : 0,
          d.base ?? null,
          d.timeoutMs ?? null,
          d.pinBox ?? null,
        );
    })();
  }

  get(id: string): TaskRow | undefined {
    const r = this.db.prepare("SELECT * FROM tasks WHERE id = ?").get(id) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  /** By id, else the newest task that came from a file of that name (with or without its extension). */
  find(idOrName: string): TaskRow | undefined {
    const byId = this.get(idOrName);
    if (byId) return byId;
    const r = this.db
      .prepare(
        "SELECT * FROM tasks WHERE source = ? OR (source LIKE 'file:%' AND substr(source, 6) LIKE ? || '.%' ESCAPE '\\') ORDER BY seq DESC LIMIT 1",
      )
      .get(`file:${idOrName}`, idOrName.replace(/[%_\\]/g, "\\$&")) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  /** A task committed from this very file whose move out of the inbox did not happen (a crash in between). */
  findIntake(file: string, contentHash: string): TaskRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM tasks WHERE intake_file = ? AND content_hash = ? ORDER BY seq DESC LIMIT 1")
      .get(file, contentHash) as Row | undefined;
    return r ? toTask(r) : undefined;
  }
  intakePending(): TaskRow[] {
    return (this.db.prepare("SELECT * FROM tasks WHERE intake_file IS NOT NULL").all() as Row[]).map(toTask);
  }
  clearIntake(id: string): void {
    this.db.prepare("UPDATE tasks SET intake_file = NULL WHERE id = ?").run(id);
  }

  /** Queued tasks that may run now: highest priority first, then oldest. */
  ready(now: number): TaskRow[] {
    return (
      this.db
        .prepare(
          "SELECT * FROM tasks WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?) ORDER BY priority DESC, seq ASC",
        )
        .all(now) as Row[]
    ).map(toTask);
  }
  /** When the next delayed (retrying) task becomes ready, if any. */
  nextNotBefore(now: number): number | null {
    const r = this.db
      .prepare("SELECT MIN(not_before) AS t FROM tasks WHERE state = 'queued' AND not_before > ?")
      .get(now) as { t: number | null };
    return r.t;
  }
  inState(state: TaskState): TaskRow[] {
    return (
      this.db.prepare("SELECT * FROM tasks WHERE state = ? ORDER BY priority DESC, seq ASC").all(state) as Row[]
    ).map(toTask);
  }
  runningOn(session: string): TaskRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM tasks WHERE state = 'running' AND session = ? ORDER BY seq LIMIT 1")
      .get(session) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  /** Every queued and running task, then the latest finished ones. */
  list(finishedLimit = 50): TaskRow[] {
    const open = this.db
      .prepare(
        "SELECT * FROM tasks WHERE state IN ('queued', 'running') ORDER BY state = 'queued', priority DESC, seq ASC",
      )
      .all() as Row[];
    const ended = this.db
      .prepare("SELECT * FROM tasks WHERE state NOT IN ('queued', 'running') ORDER BY ended_at DESC, seq DESC LIMIT ?")
      .all(finishedLimit) as Row[];
    return [...open, ...ended].map(toTask);
  }

  // ---- transitions; each returns false when the task was not in the state it leaves

  /** queued → running on `session`: one more attempt. */
  start(id: string, session: string, account: string | null, now: number): boolean {
    return this.change(
      "UPDATE tasks SET state = 'running', session = ?, account_used = ?, attempts = attempts + 1, started_at = ?, submitted_at = NULL, not_before = NULL, updated_at = ? WHERE id = ? AND state = 'queued'",
      session,
      account,
      now,
      now,
      id,
    );
  }
  submitted(id: string, at: number, account: string | null, now: number): boolean {
    return this.change(
      "UPDATE tasks SET submitted_at = ?, account_used = COALESCE(?, account_used), updated_at = ? WHERE id = ? AND state = 'running' AND submitted_at IS NULL",
      at,
      account,
      now,
      id,
    );
  }
  /** running → queued (a retry after `notBefore`, or a re-send after a restart). */
  requeue(id: string, notBefore: number | null, error: string | null, now: number): boolean {
    return this.change(
      "UPDATE tasks SET state = 'queued', session = NULL, submitted_at = NULL, not_before = ?, error = ?, updated_at = ? WHERE id = ? AND state = 'running'",
      notBefore,
      error,
      now,
      id,
    );
  }
  done(id: string, result: string, resultPath: string | null, now: number): boolean {
    return this.change(
      "UPDATE tasks SET state = 'done', result = ?, result_path = ?, error = NULL, ended_at = ?, updated_at = ? WHERE id = ? AND state = 'running'",
      result,
      resultPath,
      now,
      now,
      id,
    );
  }
  /** The outbox file of a done task written after it ended (a full disk had refused it); false if it has one. */
  setResultPath(id: string, resultPath: string, now: number): boolean {
    return this.change(
      "UPDATE tasks SET result_path = ?, updated_at = ? WHERE id = ? AND state = 'done' AND result_path IS NULL",
      resultPath,
      now,
      id,
    );
  }
  /** running or queued → failed. */
  fail(id: string, error: string, now: number): boolean {
    return this.change(
      "UPDATE tasks SET state = 'failed', error = ?, ended_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')",
      error,
      now,
      now,
      id,
    );
  }

  /**
   * running → timed_out or cancelled (the turn is interrupted by the caller), with what the transcript
   * holds so far as the result; queued → cancelled.
   */
  interrupted(
    id: string,
    state: "timed_out" | "cancelled",
    result: string | null,
    reason: string,
    now: number,
  ): boolean {
    const from = state === "cancelled" ? "('queued', 'running')" : "('running')";
    return this.change(
      `UPDATE tasks SET state = ?, result = ?, error = ?, ended_at = ?, updated_at = ? WHERE id = ? AND state IN ${from}`,
      state,
      result,
      reason,
      now,
      now,
      id,
    );
  }

  /**
   * queued or running → an end another box reached (store.backend postgres: the shared queue says the
   * task ended elsewhere, inbox/shared-queue.ts). `resultPath` is the origin box's outbox file, or null.
   */
  settleRemote(
    id: string,
    state: "done" | "failed" | "timed_out" | "cancelled",
    result: string | null,
    resultPath: string | null,
    error: string | null,
    now: number,
  ): boolean {
    return this.change(
      "UPDATE tasks SET state = ?, result = ?, result_path = ?, error = ?, ended_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')",
      state,
      result,
      resultPath,
      error,
      now,
      now,
      id,
    );
  }

  /**
   * An ended task → queued again, for a run the shared queue gave back to this box (store.backend postgres:
   * this box's earlier run of it was voided when its lease lapsed, and it claimed the task afresh).
   */
  reopen(id: string, now: number): boolean {
    return this.change(
      "UPDATE tasks SET state = 'queued', session = NULL, submitted_at = NULL, not_before = NULL, result = NULL, result_path = NULL, error = NULL, ended_at = NULL, updated_at = ? WHERE id = ? AND state NOT IN ('queued', 'running')",
      now,
      id,
    );
  }

  /** The worktree a task runs in, once made. */
  setWorktree(id: string, workdir: string, branch: string, baseCommit: string, now: number): void {
    this.db
      .prepare("UPDATE tasks SET workdir = ?, branch = ?, base_commit = ?, updated_at = ? WHERE id = ?")
      .run(workdir, branch, baseCommit, now, id);
  }
  /** The ended task's worktree summary (JSON); `workdir` null once the folder is removed. */
  setWorktreeInfo(id: string, info: string, workdir: string | null, now: number): void {
    this.db
      .prepare("UPDATE tasks SET worktree_info = ?, workdir = ?, updated_at = ? WHERE id = ?")
      .run(info, workdir, now, id);
  }
  /** Ended worktree tasks whose worktree has not been summarized and removed yet (a crash in between). */
  worktreesToFinish(): TaskRow[] {
    return (
      this.db
        .prepare(
          "SELECT * FROM tasks WHERE workdir IS NOT NULL AND worktree_info IS NULL AND state NOT IN ('queued', 'running')",
        )
        .all() as Row[]
    ).map(toTask);
  }
  /** The task whose worktree folder is `workdir`. */
  byWorkdir(workdir: string): TaskRow | undefined {
    const r = this.db.prepare("SELECT * FROM tasks WHERE workdir = ? ORDER BY seq DESC LIMIT 1").get(workdir) as
      Row | undefined;
    return r ? toTask(r) : undefined;
  }

  private change(sql: string, ...args: unknown[]): boolean {
    return this.db.prepare(sql).run(...args).changes === 1;
  }
}
