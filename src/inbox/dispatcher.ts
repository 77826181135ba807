import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "../config/duration.js";
import { checkPromptText } from "../claude/prompt-text.js";
import { NOT_CONFIRMED } from "../sessions/cli-input.js";
import type { Clock, Timer } from "../util/clock.js";
import { errorMessage, isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { SessionSignal } from "../sessions/signals.js";
import { planDispatch } from "./dispatch-plan.js";
import { lastAssistantText } from "../claude/transcript.js";
import { writeResult } from "./outbox.js";
import type { Pool, SessionLayer } from "../pool/pool.js";
import { onSendFailed, onTurnFailed, samePrompt, type FailureAction, type RetryPolicy } from "./task-outcome.js";
import type { Pane } from "../tmux/pane.js";
import type { TaskStore } from "./task-store.js";
import type { TaskRow, WorktreeInfo } from "./task-types.js";
import { TaskWaits } from "./task-waits.js";
import { createWorktree, removeWorktree, summarize } from "./worktree.js";

/** How often a result whose outbox file a full disk refused is written again, in ms. */
export const OUTBOX_RETRY_MS = 5000;

/** How long a task whose send gave up waiting for its UserPromptSubmit waits for a late hook before a retry. */
const UNCONFIRMED_GRACE_MS = 120_000;
/** How long a task whose send was unsure waits for a late hook once its session is gone (spool lag under load). */
const GONE_HOOK_GRACE_MS = 10_000;

/** How a send of a task's prompt ended; `unsure`: it threw mid-way, so the prompt may have gone in. */
type SendOutcome = { ok: true } | { ok: false; reason: string; unsure?: boolean };

export interface DispatchSettings {
  min: number;
  max: number;
  idleTimeoutMs: number;
  defaultProject: string | null;
  retry: RetryPolicy;
  confirmTimeoutMs: number;
  outboxDir: string;
  /** the loop's period; events (a new task, a Stop) also wake it at once */
  tickMs?: number;
  /** a submitted task whose session sits idle (or limited) unanswered this long is re-queued */
  stallMs?: number;
  /** pool.task_timeout (ms): the limit of a task without its own `timeout:`; null = none */
  taskTimeoutMs?: number | null;
  /** where worktree tasks get their folders (`<state_dir>/worktrees`) */
  worktreeDir?: string;
  /** pool.worktree_prefix: branches are `<prefix>/<task id>` */
  worktreePrefix?: string;
  /** pool.keep_worktrees */
  keepWorktrees?: boolean;
}

/**
 * Which queued tasks this box may run, when something other than the local queue decides (store.backend
 * postgres: the shared queue's claims, inbox/shared-queue.ts). Without a gate every ready task may run.
 */
export interface TaskGate {
  /** true when this box holds the claim on the task */
  runnable(t: TaskRow): boolean;
  /** true when this box writes the task's result file (it came from this box) */
  writesOutbox(t: TaskRow): boolean;
}

/** The dispatcher's collaborators (Dispatcher's constructor; its parameters are DispatchSettings). */
export interface DispatchDeps {
  tasks: TaskStore;
  pool: Pool;
  layer: SessionLayer;
  /** the sessions' panes (a task's permission dialog is read and answered there) */
  pane: Pick<Pane, "capture" | "sendKeys" | "sendLiteral">;
  clock: Clock;
  log: Logger;
  /** fault injection for crash tests: the daemon dies after a task is marked running */
  onDispatched?: (taskId: string) => void;
}

/**
 * Runs queued tasks in the pool: each tick plans (dispatch-plan.ts) and carries the plan out; hook
 * signals move tasks on (UserPromptSubmit → submitted, Stop → done, StopFailure → retry or failed;
 * rate_limit is left to the limit reactor, which swaps the session and resends the prompt itself).
 * Every transition is a conditional update in the task store, so a replayed event never ends a task twice.
 */
export class Dispatcher {
  private timer: Timer | null = null;
  private started = false;
  private ticking = false;
  private again = false;
  private off: (() => void) | null = null;
  private readonly stalledSince = new Map<string, number>();
  /** tasks whose send gave up waiting for the hook (NOT_CONFIRMED), with when: given UNCONFIRMED_GRACE_MS before a retry */
  private readonly unconfirmed = new Map<string, number>();
  private lastScaleNote = "";
  private readonly inflight = new Set<Promise<unknown>>();
  /** tasks whose turn is being interrupted (timeout, cancel), and worktrees being summarized and removed */
  private readonly interrupting = new Set<string>();
  private readonly finishing = new Set<string>();
  /** the dispatch's hold on each session it is typing a task's prompt into, until submitted (session-locks.ts) */
  private readonly sending = new Map<string, () => void>();
  /** done tasks whose outbox file the disk refused (task id → result), written again every OUTBOX_RETRY_MS */
  private readonly outboxOwed = new Map<string, string>();
  private outboxTriedAt = 0;
  /** running tasks waiting on a permission dialog (shown as `waiting`), and their answers */
  readonly waits: TaskWaits;
  /** Fault injection for crash tests: called once a task is marked running, before its prompt is typed. */
  private readonly onDispatched: ((taskId: string) => void) | null;
  /** set with store.backend postgres (inbox/shared-queue.ts); null: the local queue alone decides */
  gate: TaskGate | null = null;

  private readonly tasks: TaskStore;
  private readonly pool: Pool;
  private readonly layer: SessionLayer;
  private readonly clock: Clock;
  private readonly log: Logger;
  private settings: DispatchSettings;

  constructor(deps: DispatchDeps, settings: DispatchSettings) {
    this.tasks = deps.tasks;
    this.pool = deps.pool;
    this.layer = deps.layer;
    this.clock = deps.clock;
    this.log = deps.log;
    this.settings = settings;
    this.onDispatched = deps.onDispatched ?? null;
    this.waits = new TaskWaits(
      { tasks: deps.tasks, layer: deps.layer, pane: deps.pane, clock: deps.clock, log: deps.log },
      { confirmTimeoutMs: () => this.settings.confirmTimeoutMs },
    );
  }

  configure(s: Partial<DispatchSettings>): void {
    this.settings = { ...this.settings, ...s };
    this.kick();
  }
  limits(): { min: number; max: number } {
    return { min: this.settings.min, max: this.settings.max };
  }

  /** Listen to hook signals. Called before the spool replays what happened while the daemon was down. */
  attach(): void {
    this.off ??= this.layer.onSignal((s) => {
      try {
        this.onSignal(s);
      } catch (e) {
        this.log.error({ session: s.session, err: errorMessage(e) }, "task signal handling failed");
      }
    });
  }

  /** After the spool has been applied and the pool adopted: settle running tasks, then start the loop. */
  async start(): Promise<void> {
    this.reconcile();
    this.started = true;
    this.timer?.cancel();
    this.timer = this.clock.every(this.settings.tickMs ?? 1000, () => this.kick());
    this.kick();
  }

  /** Stops the loop; operations in flight get a moment to finish, then are left to the next start's reconcile. */
  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = null;
    this.off?.();
    this.off = null;
    this.pool.close();
    const grace = new AbortController();
    await Promise.race([Promise.allSettled([...this.inflight]), this.clock.sleep(2000, grace.signal)]);
    grace.abort();
  }

  /** Runs an operation in the background (its failure logged, never unhandled), then plans again. */
  private track(what: string, p: Promise<unknown>, kickAfter = true): void {
    const q = p
      .catch((e: unknown) => this.log.error({ err: errorMessage(e) }, `${what} failed`))
      .finally(() => {
        this.inflight.delete(q);
        if (kickAfter) this.kick();
      });
    this.inflight.add(q);
  }

  /** Runs a tick now; kicks during a tick run one more after it. */
  kick(): void {
    if (!this.started) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    this.track(
      "dispatch tick",
      (async () => {
        try {
          do {
            this.again = false;
            await this.tick();
          } while (this.again && this.started);
        } catch (e) {
          this.log.error({ err: errorMessage(e) }, "dispatch tick failed");
        } finally {
          this.ticking = false;
        }
      })(),
      false,
    );
  }

  private async tick(): Promise<void> {
    const now = this.clock.now();
    this.writeOwedResults(now);
    const running = this.tasks.inState("running");
    this.watch(running, now);
    await this.waits.refresh(this.tasks.inState("running"));
    const busy = new Set(this.tasks.inState("running").map((t) => t.session!));
    const s = this.settings;
    const sessions = this.pool.views(busy);
    for (const v of sessions) {
      if (v.state !== "failed" || v.op) continue;
      const reason = this.layer.get(v.name)?.stateReason ?? "";
      if (reason.includes("not ours")) this.pool.forget(v.name, reason);
      else await this.pool.stop(v.name, `session failed: ${reason}`);
    }
    for (const t of this.tasks.worktreesToFinish()) {
      if (this.finishing.has(t.id) || this.interrupting.has(t.id)) continue;
      this.finishing.add(t.id);
      this.track(
        "worktree finish",
        this.finishWorktree(t.id).finally(() => this.finishing.delete(t.id)),
      );
    }
    const gate = this.gate;
    const mayRun = (t: TaskRow) => !gate || gate.runnable(t);
    await this.prepareWorktrees(this.tasks.ready(now).filter(mayRun));
    const ready = this.tasks.ready(now).filter((t) => (!t.worktree || t.workdir) && mayRun(t));
    const plan = planDispatch({
      now,
      min: s.min,
      max: s.max,
      idleTimeoutMs: s.idleTimeoutMs,
      defaultProject: s.defaultProject,
      // A worktree task runs in a session started in its worktree: the worktree is its session's project.
      tasks: ready.map((t) => ({ id: t.id, project: t.workdir ?? t.project, model: t.model, account: t.account })),
      sessions: sessions.filter((v) => v.state !== "failed"),
    });
    for (const a of plan.assign) this.track("dispatch", this.dispatch(a.task, a.session));
    for (const name of plan.clear) this.track("reset", this.pool.reset(name));
    if (plan.start.length && !this.pool.canStart(now)) plan.start.length = 0;
    for (const st of plan.start) this.track("session start", this.pool.start(st));
    for (const name of plan.stop) await this.pool.stop(name, "idle past idle_timeout, or room for another project");
    if (plan.start.length || plan.stop.length)
      this.layer.event("pool.scale", null, null, {
        start: plan.start.length,
        stop: plan.stop,
        waiting: plan.waiting,
        reasons: plan.reasons,
      });
    const note = plan.reasons.filter((r) => !r.startsWith("steady")).join("; ");
    if (note !== this.lastScaleNote && note) this.log.info({ reasons: plan.reasons }, "pool plan");
    this.lastScaleNote = note;
  }

  /** Ends the dispatch's hold on `session` (idempotent): at its prompt's UserPromptSubmit, or when the send ends. */
  private releaseSending(session: string): void {
    this.sending.get(session)?.();
    this.sending.delete(session);
  }

  /** Hands one task to one free session and types its prompt. */
  private async dispatch(taskId: string, session: string): Promise<void> {
    const row = this.layer.get(session);
    const lock = this.layer.tryLock(session, "dispatch");
    if (!lock.ok) return; // a swap or restart got there first; the task stays queued
    this.sending.set(session, lock.release);
    this.pool.setOp(session, "sending");
    const now = this.clock.now();
    let task: TaskRow | undefined;
    let result: SendOutcome;
    try {
      if (!this.tasks.start(taskId, session, row?.account ?? null, now)) return;
      task = this.tasks.get(taskId)!;
      this.pool.markUsed(session);
      this.layer.event("task.dispatched", session, row?.account ?? null, { id: taskId, attempt: task.attempts });
      this.onDispatched?.(taskId);
      const r = await this.layer.prompts.send(session, task.prompt, {
        confirmTimeoutMs: this.settings.confirmTimeoutMs,
      });
      result = r.ok ? { ok: true } : r;
    } catch (e) {
      // Thrown mid-send (tmux killed, the pane gone): Enter may have gone in and the CLI taken the prompt
      // (chaos seed 424242: its hook came 0.2 s after the retry, and the task was answered twice).
      result = { ok: false, reason: errorMessage(e), unsure: true };
    } finally {
      // The UserPromptSubmit handler usually released it already, so a limit swap is never refused. Only
      // this dispatch's own hold: a later one's is the later one's.
      lock.release();
      if (this.sending.get(session) === lock.release) this.sending.delete(session);
      this.pool.setOp(session, null);
    }
    if (task && this.started) this.afterSend(task, session, result);
  }

  private afterSend(task: TaskRow, session: string, r: SendOutcome): void {
    const cur = this.tasks.get(task.id);
    if (!cur || cur.state !== "running" || cur.session !== session || cur.submittedAt !== null) return;
    const now = this.clock.now();
    const row = this.layer.get(session);
    if (r.ok || (row && samePrompt(row.lastPrompt, task.prompt) && (row.lastPromptAt ?? 0) >= (cur.startedAt ?? 0))) {
      this.markSubmitted(cur, session, now, null);
      return;
    }
    // Text the CLI can't take as text (a /word start, control characters) fails the same way every time.
    const text = checkPromptText(task.prompt);
    if (!text.ok) return this.apply(cur, session, { kind: "fail", reason: `prompt not sendable: ${text.reason}` });
    // Enter went in but the hook has not come: the prompt is probably in (the hook late under load; the
    // hour-long soak, seed 804754, had tasks answered twice this way). Wait for the hook a while longer
    // on this session instead of sending the task again elsewhere (watch() gives up after the grace).
    if (r.reason === NOT_CONFIRMED || r.unsure) {
      this.unconfirmed.set(cur.id, now);
      this.layer.event("task.unconfirmed", session, row?.account ?? null, {
        id: cur.id,
        graceMs: UNCONFIRMED_GRACE_MS,
      });
      return;
    }
    this.apply(cur, session, onSendFailed(`prompt not taken: ${r.reason}`, cur.attempts, now, this.settings.retry));
  }

  private onSignal({ session, ts, signal }: SessionSignal): void {
    const t = this.tasks.runningOn(session);
    if (signal.kind === "session_start" || signal.kind === "turn_done") this.kick();
    if (!t) return;
    const now = this.clock.now();
    switch (signal.kind) {
      case "prompt_submitted":
        this.releaseSending(session);
        if (!t.submittedAt) this.markSubmitted(t, session, ts, signal.account);
        break;
      case "turn_done":
        this.complete(t, session, signal.message);
        break;
      case "turn_failed":
        this.apply(t, session, onTurnFailed(signal.error, signal.message, t.attempts, now, this.settings.retry));
        break;
      case "permission_request":
        this.waits.onHook(t, signal.summary);
        break;
      default:
        break;
    }
  }

  private markSubmitted(t: TaskRow, session: string, at: number, account: string | null): void {
    if (this.tasks.submitted(t.id, at, account, this.clock.now())) {
      this.layer.event("task.submitted", session, account ?? t.accountUsed, { id: t.id, ms: at - (t.startedAt ?? at) });
    }
  }

  private complete(t: TaskRow, session: string, message: string | null): void {
    const now = this.clock.now();
    const result = message ?? lastAssistantText(this.layer.get(session)?.transcriptPath ?? null) ?? "";
    let path: string | null = null;
    let owed = false;
    try {
      if (!this.gate || this.gate.writesOutbox(t)) path = writeResult(this.settings.outboxDir, t.id, result);
    } catch (e) {
      // A full disk (or another failed write) passes: the file is written once the disk takes it.
      owed = isCfError(e, "disk_full") || isCfError(e, "write_failed");
      this.log.error(
        { task: t.id, err: errorMessage(e) },
        owed
          ? "could not write the outbox file; the result is in the task row and the file is written again later"
          : "could not write the outbox file; the result stays in the task row",
      );
    }
    if (!this.tasks.done(t.id, result, path, now)) return;
    if (owed) {
      this.outboxOwed.set(t.id, result);
      this.outboxTriedAt = now;
    }
    // A worktree session is stopped with its worktree (finishWorktree), never reset for another task.
    if (!t.workdir) this.pool.markDirty(session);
    this.stalledSince.delete(t.id);
    this.layer.event("task.done", session, this.layer.get(session)?.account ?? t.accountUsed, {
      id: t.id,
      ms: now - (t.startedAt ?? now),
      resultPath: path,
      attempts: t.attempts,
    });
    this.kick();
  }

  /**
   * Writes the outbox files a full disk refused (every OUTBOX_RETRY_MS; in order, stopping at the first that
   * still fails), records each file in its task row and says so (`task.result_written`). Kept in memory: after
   * a daemon restart the result is in the task row only.
   */
  private writeOwedResults(now: number): void {
    if (!this.outboxOwed.size || now - this.outboxTriedAt < OUTBOX_RETRY_MS) return;
    this.outboxTriedAt = now;
    for (const [id, result] of this.outboxOwed) {
      let path: string;
      try {
        path = writeResult(this.settings.outboxDir, id, result);
      } catch {
        return; // still full: the next try
      }
      this.outboxOwed.delete(id);
      this.tasks.setResultPath(id, path, now);
      this.layer.event("task.result_written", null, null, { id, resultPath: path });
    }
  }

  private apply(t: TaskRow, session: string, a: FailureAction): void {
    const now = this.clock.now();
    if (a.kind === "wait_for_swap") {
      this.layer.event("task.rate_limited", session, t.accountUsed, { id: t.id });
      return;
    }
    const changed =
      a.kind === "retry" ? this.tasks.requeue(t.id, a.notBefore, a.reason, now) : this.tasks.fail(t.id, a.reason, now);
    if (!changed) return;
    if (a.kind === "retry" || !t.workdir) this.pool.markDirty(session);
    this.stalledSince.delete(t.id);
    if (a.kind === "retry")
      this.layer.event("task.retry", session, t.accountUsed, {
        id: t.id,
        attempt: t.attempts,
        notBefore: a.notBefore,
        reason: a.reason,
      });
    else this.layer.event("task.failed", session, t.accountUsed, { id: t.id, attempts: t.attempts, reason: a.reason });
    this.log.warn({ task: t.id, session, outcome: a.kind, reason: a.reason }, "task turn failed");
    this.kick();
  }

  /**
   * Crash recovery, once at start: a running task whose prompt never reached its session is queued
   * again; one that was answered while the Stop went unseen is completed from the transcript; the rest
   * keep waiting for their Stop (the spool has applied everything written while the daemon was down).
   */
  private reconcile(): void {
    const now = this.clock.now();
    for (const t of this.tasks.inState("running")) {
      const session = t.session!;
      const row = this.layer.get(session);
      if (!row || !this.pool.has(session) || row.state === "stopped") {
        if (this.tasks.requeue(t.id, null, null, now))
          this.layer.event("task.requeued", session, null, { id: t.id, reason: "its session is gone" });
        continue;
      }
      const sameTurn = samePrompt(row.lastPrompt, t.prompt) && (row.lastPromptAt ?? 0) >= (t.startedAt ?? 0);
      if (!t.submittedAt && !sameTurn) {
        this.pool.markDirty(session);
        if (this.tasks.requeue(t.id, null, null, now))
          this.layer.event("task.requeued", session, null, {
            id: t.id,
            reason: "the prompt never reached the session",
          });
        continue;
      }
      if (!t.submittedAt) this.markSubmitted(t, session, row.lastPromptAt ?? now, null);
      if (sameTurn && row.lastPromptAnswered) this.complete(t, session, null);
      else this.layer.event("task.awaiting_stop", session, row.account, { id: t.id });
    }
  }

  /**
   * Ends a task early: a queued one at once (`cancelled`); a running one is marked `timed_out` or
   * `cancelled` with what its transcript holds so far as the result, then its turn is interrupted (Escape,
   * pool/pool.ts interrupt) and its session left to be reset (/clear) for the next task, or stopped with its
   * worktree. Returns the task after, or null when it was not queued or running.
   */
  async interrupt(id: string, state: "timed_out" | "cancelled", reason: string): Promise<TaskRow | null> {
    const t = this.tasks.get(id);
    if (!t || (t.state !== "queued" && t.state !== "running") || (t.state === "queued" && state !== "cancelled"))
      return null;
    const now = this.clock.now();
    const session = t.state === "running" ? t.session : null;
    const row = session ? this.layer.get(session) : undefined;
    const sofar = session ? lastAssistantText(row?.transcriptPath ?? null) : null;
    this.interrupting.add(id);
    try {
      if (!this.tasks.interrupted(id, state, sofar, reason, now)) return null;
      this.stalledSince.delete(id);
      this.layer.event(`task.${state}`, session, row?.account ?? t.accountUsed, {
        id,
        reason,
        running: !!session,
        ms: t.startedAt ? now - t.startedAt : null,
      });
      this.log.warn({ task: id, session, state, reason }, "task ended early");
      if (session) {
        if (!t.workdir) this.pool.markDirty(session);
        await this.pool
          .interrupt(session)
          .catch((e: unknown) => this.log.warn({ session, err: errorMessage(e) }, "could not interrupt the turn"));
      }
    } finally {
      this.interrupting.delete(id);
      this.kick();
    }
    return this.tasks.get(id) ?? null;
  }

  /** Makes the worktree of each ready worktree task that has none yet; a task whose worktree can't be made fails. */
  private async prepareWorktrees(ready: TaskRow[]): Promise<void> {
    const s = this.settings;
    for (const t of ready) {
      if (!t.worktree || (t.workdir && existsSync(t.workdir))) continue;
      const now = this.clock.now();
      if (!s.worktreeDir) {
        if (this.tasks.fail(t.id, "worktree: no worktree folder configured", now))
          this.layer.event("task.failed", null, null, { id: t.id, reason: "no worktree folder" });
        continue;
      }
      const path = join(s.worktreeDir, t.id);
      const branch = `${s.worktreePrefix ?? "cf"}/${t.id}`;
      try {
        mkdirSync(s.worktreeDir, { recursive: true, mode: 0o700 });
        if (existsSync(path)) await removeWorktree(path); // a folder of an earlier life of this task
        const w = await createWorktree(t.project, path, branch, t.base);
        this.tasks.setWorktree(t.id, w.path, w.branch, w.baseCommit, this.clock.now());
        this.layer.event("task.worktree_created", null, null, {
          id: t.id,
          path: w.path,
          branch: w.branch,
          base: w.baseCommit,
        });
      } catch (e) {
        const reason = errorMessage(e);
        if (this.tasks.fail(t.id, reason.startsWith("worktree") ? reason : `worktree: ${reason}`, this.clock.now())) {
          this.layer.event("task.failed", null, null, { id: t.id, reason });
          this.log.warn({ task: t.id, err: reason }, "could not make the task's worktree");
        }
      }
    }
  }

  /**
   * An ended worktree task: its session (started in the worktree) is stopped, what it did on its branch is
   * recorded (branch, commits, diff stat, uncommitted changes), and the worktree is removed unless
   * pool.keep_worktrees; the branch stays.
   */
  private async finishWorktree(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t?.workdir || !t.branch || !t.baseCommit || t.worktreeInfo || t.state === "queued" || t.state === "running")
      return;
    for (const p of this.pool.list()) {
      if (p.project === t.workdir) await this.pool.stop(p.name, `its worktree task ${id} ended`);
    }
    let info: WorktreeInfo;
    try {
      info = { ...(await summarize(t.project, t.workdir, t.branch, t.baseCommit)), kept: null };
    } catch (e) {
      info = {
        branch: t.branch,
        base: t.baseCommit,
        commits: [],
        diffStat: "",
        uncommitted: [],
        kept: null,
        error: errorMessage(e),
      };
    }
    if (this.settings.keepWorktrees) info.kept = t.workdir;
    else {
      try {
        await removeWorktree(t.workdir);
      } catch (e) {
        info.kept = t.workdir;
        info.error = `${info.error ? `${info.error}; ` : ""}could not remove the worktree: ${errorMessage(e)}`;
      }
    }
    if (this.closed()) return;
    this.tasks.setWorktreeInfo(id, JSON.stringify(info), info.kept, this.clock.now());
    this.layer.event("task.worktree_ended", null, null, {
      id,
      branch: info.branch,
      commits: info.commits.length,
      kept: info.kept,
      error: info.error ?? null,
    });
  }

  private closed(): boolean {
    return !this.started;
  }

  /** Running tasks whose turn got lost (the CLI died and came back, a limit nobody reacted to): queued again. */
  private watch(running: TaskRow[], now: number): void {
    const stallMs = this.settings.stallMs ?? 15_000;
    const seen = new Set<string>();
    for (const t of running) {
      seen.add(t.id);
      const session = t.session!;
      const limit = t.timeoutMs ?? this.settings.taskTimeoutMs ?? null;
      if (limit !== null && t.startedAt !== null && now - t.startedAt >= limit) {
        if (!this.interrupting.has(t.id))
          this.track("task timeout", this.interrupt(t.id, "timed_out", `timed out after ${formatDuration(limit)}`));
        continue;
      }
      const row = this.layer.get(session);
      if (this.pool.op(session) === "sending") continue;
      let why: string | null = null;
      if (!row || !this.pool.has(session) || row.state === "stopped" || row.state === "failed") {
        // A send that gave up unsure whether the prompt went in: its hook may still be in the spool (written
        // before the session went); a few seconds for it before the task runs again elsewhere.
        const since = this.unconfirmed.get(t.id);
        if (!t.submittedAt && since !== undefined && now - since < GONE_HOOK_GRACE_MS) continue;
        why = `session ${session} is gone`;
      } else if (!t.submittedAt) {
        const since = this.unconfirmed.get(t.id);
        if (since !== undefined && now - since < UNCONFIRMED_GRACE_MS) continue;
        why =
          since !== undefined
            ? `prompt not taken: no UserPromptSubmit within ${Math.round((now - since) / 1000)} s of the send giving up`
            : "the prompt never reached the session";
      } else if (
        (row.state === "idle" || row.state === "limited") &&
        !row.lastPromptAnswered &&
        !this.layer.lockedBy(session)
      ) {
        const since = this.stalledSince.get(t.id) ?? now;
        this.stalledSince.set(t.id, since);
        if (now - since >= stallMs)
          why = `turn lost: session ${row.state} without an answer for ${Math.round((now - since) / 1000)}s`;
      } else this.stalledSince.delete(t.id);
      if (why) this.apply(t, session, onSendFailed(why, t.attempts, now, this.settings.retry));
    }
    for (const id of this.stalledSince.keys()) if (!seen.has(id)) this.stalledSince.delete(id);
    for (const id of this.unconfirmed.keys()) if (!seen.has(id)) this.unconfirmed.delete(id);
  }
}
