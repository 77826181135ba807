import { randomUUID } from "node:crypto";
import { sep } from "node:path";
import type { SendResult } from "../sessions/prompt-sender.js";
import type { CliInput } from "../sessions/cli-input.js";
import { classifyPane } from "../sessions/pane-classify.js";
import type { SessionRow } from "../store/types.js";
import type { SessionSignal } from "../sessions/signals.js";
import type { LockResult, SessionOp } from "../sessions/session-locks.js";
import type { RowPatch, StateOp } from "../sessions/session-states.js";
import type { SessionSpec } from "../sessions/types.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { pollUntil } from "../util/wait.js";
import type { PoolSessionRow, PoolStore } from "./pool-store.js";

/** What the pool needs of the session service (which satisfies it as is); tests pass a fake. */
export interface SessionLayer {
  readonly specs: Map<string, SessionSpec>;
  get(name: string): SessionRow | undefined;
  ensure(spec: SessionSpec): Promise<void>;
  waitReady(name: string, timeoutMs?: number): Promise<boolean>;
  remove(name: string, why: string): Promise<void>;
  /** writes fields of the row other than its state */
  updateRow(name: string, patch: RowPatch): void;
  /** moves the row's state by `op` (sessions/session-states.ts), with the rest of `patch` */
  setState(name: string, op: StateOp, patch?: RowPatch): unknown;
  /** holds a session for one operation (sessions/session-locks.ts) */
  tryLock(name: string, op: SessionOp): LockResult;
  lockedBy(name: string): SessionOp | undefined;
  onSignal(fn: (s: SessionSignal) => void): () => void;
  waitForSignal(name: string, pred: (s: SessionSignal) => boolean, timeoutMs: number): Promise<SessionSignal | null>;
  readonly prompts: {
    send(name: string, text: string, opts: { confirmTimeoutMs?: number }): Promise<SendResult>;
    readonly input: Pick<CliInput, "command">;
  };
  event(kind: string, session: string | null, account: string | null, data?: Record<string, unknown>): void;
}

export type PoolOp = "starting" | "clearing" | "sending";

/** A pool session as the dispatch plan sees it (Pool.views). */
export interface PlanSession {
  name: string;
  project: string;
  model: string | null;
  account: string | null;
  /** the session row's state (idle, busy, starting, exited, parked, ...) */
  state: string;
  /** a task is running in it */
  hasTask: boolean;
  /** the pool is starting, resetting or sending to it right now */
  op: PoolOp | null;
  /** its conversation holds no earlier task */
  clean: boolean;
  /** another service holds it (swap, restart, resume) */
  locked: boolean;
  /** when it last became free; null while it is not */
  idleSince: number | null;
}

/** A session to start: its project, model and preferred account (Pool.start). */
export interface StartSpec {
  project: string;
  model: string | null;
  account: string | null;
}

/** The pool's collaborators (Pool's constructor). */
export interface PoolDeps {
  layer: SessionLayer;
  /** the sessions' panes: Escape to interrupt a turn, whether the CLI still shows one running */
  pane: Pick<Pane, "capture" | "sendKeys">;
  store: PoolStore;
  clock: Clock;
  log: Logger;
  /** makes the CLI trust a task's project in every account home, so no trust dialog stops the start (default: none) */
  trust?: (project: string) => void;
}

/** The pool's parameters (Pool's constructor; setPrefix/setPermissionMode change the first two on reload). */
export interface PoolOptions {
  /** pool.prefix: a session's name is this + a two-digit serial */
  prefix: string;
  /** pool.permission_mode: `--permission-mode` for the sessions it starts (null, the default: claude.permission_mode) */
  permissionMode?: string | null;
  /** `<state_dir>/worktrees`: only sessions in a task's worktree under it may run bypassPermissions (default: null) */
  worktreeRoot?: string | null;
}

// A stopped session's name is not reused at once: late hook events of its old CLI must not reach a new one.
const REUSE_AFTER_MS = 10_000;
const CLEAR_TIMEOUT_MS = 15_000;
const RESET_FAILURES_BEFORE_STOP = 3;
const INTERRUPT_TIMEOUT_MS = 5000;

/**
 * The autonomous sessions: starts them (prefix + two-digit serial, registered with the session service,
 * so they get the same account choice, restarts and swaps as dedicated ones), resets them between tasks
 * with `/clear`, stops them, and re-adopts them after a daemon restart. Decisions are the dispatcher's.
 */
export class Pool {
  private readonly ops = new Map<string, PoolOp>();
  private readonly idleSince = new Map<string, number>();
  private readonly resetFailures = new Map<string, number>();
  private closed = false;
  private startFailures = 0;
  private startBlockedUntil = 0;

  private readonly layer: SessionLayer;
  private readonly pane: Pick<Pane, "capture" | "sendKeys">;
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly trust: (project: string) => void;
  private prefix: string;
  private permissionMode: string | null;
  private readonly worktreeRoot: string | null;

  constructor(deps: PoolDeps, opts: PoolOptions) {
    this.layer = deps.layer;
    this.pane = deps.pane;
    this.store = deps.store;
    this.clock = deps.clock;
    this.log = deps.log;
    this.trust = deps.trust ?? (() => {});
    this.prefix = opts.prefix;
    this.permissionMode = opts.permissionMode ?? null;
    this.worktreeRoot = opts.worktreeRoot ?? null;
  }

  /** The daemon is stopping: operations still in flight leave the store alone from now on. */
  close(): void {
    this.closed = true;
  }

  setPrefix(p: string): void {
    this.prefix = p;
  }
  /** A reloaded pool.permission_mode: sessions started (or restarted) from now on get it. */
  setPermissionMode(m: string | null): void {
    this.permissionMode = m;
  }
  op(name: string): PoolOp | undefined {
    return this.ops.get(name);
  }
  setOp(name: string, op: PoolOp | null): void {
    if (op) this.ops.set(name, op);
    else this.ops.delete(name);
  }
  has(name: string): boolean {
    return this.store.list().some((s) => s.name === name);
  }
  /** The pool's sessions as recorded (pool-store.ts), by name. */
  list(): PoolSessionRow[] {
    return this.store.list();
  }

  /** A task went in: its conversation is no longer clean, and it is no longer idle. */
  markUsed(name: string): void {
    this.store.setClean(name, false);
    this.idleSince.delete(name);
  }
  markDirty(name: string): void {
    this.store.setClean(name, false);
  }

  /** Registers the pool sessions a previous run left (adopting live panes, restarting dead ones). */
  async adopt(): Promise<void> {
    const now = this.clock.now();
    for (const p of this.store.list()) {
      const row = this.layer.get(p.name);
      if (!row || row.state === "stopped") {
        this.store.delete(p.name);
        continue;
      }
      try {
        await this.layer.ensure(this.spec(p.name, p));
        this.idleSince.set(p.name, now);
        this.layer.event("pool.session_adopted", p.name, row.account, { project: p.project, clean: p.clean });
      } catch (e) {
        this.log.error({ session: p.name, err: errorMessage(e) }, "could not adopt pool session");
      }
    }
  }

  /** The snapshot the dispatch plan works on. `busy` names sessions with a running task. */
  views(busy: Set<string>): PlanSession[] {
    const now = this.clock.now();
    return this.store.list().map((p) => {
      const row = this.layer.get(p.name);
      const op = this.ops.get(p.name) ?? null;
      const state = row?.state ?? (op === "starting" ? "starting" : "stopped");
      const free = state === "idle" && !busy.has(p.name) && !op;
      // Idle time counts from when it last became free, not from an earlier spell of idleness.
      if (!free) this.idleSince.delete(p.name);
      else if (!this.idleSince.has(p.name)) this.idleSince.set(p.name, now);
      return {
        name: p.name,
        project: p.project,
        model: p.model,
        account: row?.account ?? null,
        state,
        hasTask: busy.has(p.name),
        op,
        clean: p.clean,
        locked: !!this.layer.lockedBy(p.name),
        idleSince: free ? this.idleSince.get(p.name)! : null,
      };
    });
  }

  /** false while starts are backing off after a failed one (no tmux, no usable project, ...). */
  canStart(now: number): boolean {
    return now >= this.startBlockedUntil;
  }

  /** Starts one session for `s`; resolves once its CLI is up (or the start timed out). */
  async start(s: StartSpec): Promise<string> {
    const now = this.clock.now();
    const name = this.nextName(now);
    this.ops.set(name, "starting");
    this.store.put({ name, project: s.project, model: s.model, clean: true }, now);
    try {
      this.trust(s.project);
      // A reused name starts a new conversation: nothing of its previous life carries over.
      if (this.layer.get(name)) {
        this.layer.setState(name, "pool_reuse", {
          claudeSessionId: randomUUID(),
          transcriptPath: null,
          lastPrompt: null,
          lastPromptAt: null,
          lastPromptAnswered: true,
          failedPrompt: null,
          started: false,
          restarts: 0,
          stateReason: null,
          account: null,
          parkedUntil: null,
        });
      }
      await this.layer.ensure(this.spec(name, { project: s.project, model: s.model }, s.account));
      this.layer.event("pool.session_started", name, this.layer.get(name)?.account ?? null, {
        project: s.project,
        model: s.model,
        preferred: s.account,
      });
      this.log.info({ session: name, project: s.project }, "pool session started");
      // No SessionStart in time (hooks switched off, a CLI stuck): the slot is freed below, the task stays queued.
      if (!(await this.layer.waitReady(name)))
        throw new Error(this.layer.get(name)?.stateReason ?? "the CLI did not start");
      this.startFailures = 0;
    } catch (e) {
      if (this.closed) return name;
      this.startFailures++;
      this.startBlockedUntil = this.clock.now() + Math.min(60_000, 2000 * 2 ** (this.startFailures - 1));
      this.log.error({ session: name, err: errorMessage(e) }, "could not start pool session");
      this.layer.event("pool.start_failed", name, null, { error: errorMessage(e) });
      await this.stop(name, `start failed: ${errorMessage(e)}`).catch(() => {});
    } finally {
      this.ops.delete(name);
      if (!this.closed && this.has(name)) this.idleSince.set(name, this.clock.now());
    }
    return name;
  }

  /**
   * Drops a session from the pool without touching tmux: a tmux session of that name exists and is not
   * ours, so killing it would kill someone else's work. The failed row keeps the name from being reused.
   */
  forget(name: string, why: string): void {
    this.store.delete(name);
    this.idleSince.delete(name);
    this.layer.specs.delete(name);
    this.layer.event("pool.session_forgotten", name, null, { why });
  }

  async stop(name: string, why: string): Promise<void> {
    this.store.delete(name);
    this.idleSince.delete(name);
    this.resetFailures.delete(name);
    await this.layer.remove(name, why);
    this.layer.event("pool.session_stopped", name, null, { why });
    this.log.info({ session: name, why }, "pool session stopped");
  }

  /**
   * Interrupts the running turn with Escape (as an urgent swap's endTurn does: the CLI stops the turn and
   * fires no Stop), waits up to INTERRUPT_TIMEOUT_MS until the pane no longer shows a turn running, then
   * records the session idle with its turn over, so the plan resets it with /clear for the next task. A
   * session held by a swap or restart only gets the key: that operation owns its row. false when the pane
   * still looked busy at the deadline (the row is marked idle all the same: the stall check takes over).
   */
  async interrupt(name: string): Promise<boolean> {
    const holder = this.layer.lockedBy(name);
    const lock = holder ? null : this.layer.tryLock(name, "interrupt");
    try {
      await this.pane.sendKeys(name, "Escape");
      const calm = await pollUntil(
        async () => !classifyPane(await this.pane.capture(name).catch(() => ""), this.clock.now()).busy,
        { clock: this.clock, timeoutMs: INTERRUPT_TIMEOUT_MS, intervalMs: 100 },
      );
      if (holder && holder !== "dispatch") return !!calm;
      const row = this.layer.get(name);
      if (row && (row.state === "busy" || row.state === "waiting"))
        this.layer.setState(name, "interrupted", { stateReason: "turn interrupted", lastPromptAnswered: true });
      else if (row) this.layer.updateRow(name, { lastPromptAnswered: true });
      this.layer.event("pool.turn_interrupted", name, row?.account ?? null, { calm: !!calm });
      return !!calm;
    } finally {
      if (lock?.ok) lock.release();
    }
  }

  /** The project (folder) a pool session runs in, if it is one. */
  projectOf(name: string): string | null {
    return this.store.list().find((s) => s.name === name)?.project ?? null;
  }

  /** `/clear` so the next task starts from an empty conversation; confirmed by SessionStart source "clear". */
  async reset(name: string): Promise<boolean> {
    if (this.ops.has(name)) return false;
    const lock = this.layer.tryLock(name, "reset");
    if (!lock.ok) return false;
    this.ops.set(name, "clearing");
    let ok = false;
    try {
      ok = await this.clear(name);
    } catch (e) {
      this.log.warn({ session: name, err: errorMessage(e) }, "pool session reset failed");
    } finally {
      lock.release();
      this.ops.delete(name);
    }
    if (this.closed) return false;
    if (ok) {
      this.store.setClean(name, true);
      this.idleSince.set(name, this.clock.now());
      this.resetFailures.delete(name);
      this.layer.event("pool.session_reset", name, null, {});
      return true;
    }
    const n = (this.resetFailures.get(name) ?? 0) + 1;
    this.resetFailures.set(name, n);
    this.layer.event("pool.reset_failed", name, null, { failures: n });
    if (n >= RESET_FAILURES_BEFORE_STOP) await this.stop(name, `could not /clear it ${n} times`);
    return false;
  }

  private async clear(name: string): Promise<boolean> {
    const cleared = this.layer.waitForSignal(
      name,
      (s) => s.signal.kind === "session_start" && s.signal.source === "clear",
      CLEAR_TIMEOUT_MS,
    );
    let done = false;
    void cleared.then((s) => (done = s !== null));
    // The input module types /clear only into an empty prompt-mode box (a dialog refuses it) and presses
    // Enter again while it still shows (the CLI drops an Enter that comes while it is still drawing).
    const r = await this.layer.prompts.input.command(name, "/clear", {
      timeoutMs: CLEAR_TIMEOUT_MS,
      done: async () => done,
    });
    if (!r.ok || (await cleared) === null) return false;
    // The CLI keeps its spinner up for a moment after /clear; keys typed then are taken late.
    await pollUntil(async () => !classifyPane(await this.pane.capture(name), this.clock.now()).busy, {
      clock: this.clock,
      timeoutMs: 3000,
      intervalMs: 50,
    });
    return true;
  }

  /** The lowest free `prefix + NN`; a name stopped moments ago waits (see REUSE_AFTER_MS). */
  private nextName(now: number): string {
    const taken = new Set(this.store.list().map((p) => p.name));
    for (let n = 1; ; n++) {
      const name = `${this.prefix}${String(n).padStart(2, "0")}`;
      if (taken.has(name) || this.ops.has(name) || this.layer.specs.has(name)) continue;
      const row = this.layer.get(name);
      if (row && (row.state !== "stopped" || now - row.updatedAt < REUSE_AFTER_MS)) continue;
      return name;
    }
  }

  private spec(name: string, p: { project: string; model: string | null }, account: string | null = null): SessionSpec {
    // A session in a project's own tree (adopted after a restart into bypassPermissions, its task started before)
    // never gets bypassPermissions at its next launch (a swap, a restart): it asks, as "default" does.
    const inWorktree =
      this.worktreeRoot !== null &&
      p.project.startsWith(this.worktreeRoot.endsWith(sep) ? this.worktreeRoot : this.worktreeRoot + sep);
    const mode = this.permissionMode === "bypassPermissions" && !inWorktree ? "default" : this.permissionMode;
    const args = [...(p.model ? ["--model", p.model] : []), ...(mode ? ["--permission-mode", mode] : [])];
    return { name, kind: "autonomous", project: p.project, account, args };
  }
}
