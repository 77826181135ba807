import { z } from "zod";
import type { AccountService } from "../accounts/account-service.js";
import type { SessionService } from "../sessions/session-service.js";
import type { Store } from "../store/store.js";
import type { SessionRow, SwapRow } from "../store/types.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { checkPromptText } from "../claude/prompt-text.js";
import { checkCommand } from "../sessions/cli-input.js";
import { busyReason, type SessionOp } from "../sessions/session-locks.js";
import { CfError } from "../util/errors.js";
import { EnqueueInputSchema, type EnqueueInput } from "../inbox/enqueue-input.js";

export { EnqueueInputSchema, type EnqueueInput };
import { publicReason } from "./error-map.js";

/** Optional capabilities that later subsystems plug into the facade. */
export interface ControlPlugins {
  swap?: (i: { session: string; to?: string; reason?: string; urgent?: boolean }) => Promise<unknown>;
  checkpoint?: (session: string) => Promise<unknown>;
  usage?: (account: string) => unknown;
  /** Access-token expiry and the login's age (accounts/login-ledger.ts LoginView). */
  login?: (account: string) => unknown;
  account?: (name: string, action: "enable" | "disable") => unknown;
  tasks?: {
    list(): unknown[];
    get(idOrName: string): unknown;
    enqueue(i: EnqueueInput): unknown;
    scale(i: { min?: number; max?: number }): unknown;
    cancel(idOrName: string): Promise<unknown>;
    answer(idOrName: string, answer: "yes" | "no", since?: number): Promise<unknown>;
  };
  /** the configured schedules with their next and last run (schedules/schedule-service.ts ScheduleView) */
  schedules?: () => unknown[];
  /** failed durable writes: { count, last } (ops/write-failures.ts) */
  writeFailures?: () => unknown;
  /** notifications (notify/notify-service.ts): per-target counts and last error; a sample to each target */
  notify?: { status(): unknown; test(target?: string): Promise<unknown> };
  /** the boxes sharing the store (store.backend: postgres only): boxes/box-sync.ts boxesStatus */
  boxes?: () => unknown;
  /**
   * Every box's events, oldest first (boxes/shared-events.ts: the shared table with store.backend postgres,
   * this box's own log with sqlite): the newest `limit`, or the first `limit` after `afterId`.
   */
  eventsAllBoxes?: (q: AllBoxesEventsQuery) => Promise<unknown[]>;
}

/** A read of every box's events (each row has its `box`); the filters hold together. */
export interface AllBoxesEventsQuery {
  afterId?: number;
  limit: number;
  box?: string;
  session?: string;
  kindPrefix?: string;
}

export const SessionInput = z.strictObject({ session: z.string().min(1).max(64) });
export const SwapInput = z.strictObject({
  session: z.string().min(1).max(64),
  to: z.string().min(1).max(32).optional(),
  reason: z.string().max(500).optional(),
  urgent: z.boolean().optional(),
});
export const SendInput = z.strictObject({ session: z.string().min(1).max(64), text: z.string().min(1).max(1_000_000) });
/** A slash command from the allowed list (sessions/cli-input.ts ALLOWED_COMMANDS: /compact, /clear, /model). */
export const CommandInput = z.strictObject({
  session: z.string().min(1).max(64),
  command: z.string().min(1).max(2100),
});
/** Deprecated shape (MCP `account_set`, route `/trigger/account`): account_enable / account_disable take AccountNameInput. */
export const AccountInput = z.strictObject({
  account: z.string().min(1).max(32),
  action: z.enum(["enable", "disable"]),
});
export const AccountNameInput = z.strictObject({ account: z.string().min(1).max(32) });
export const NotifyTestInput = z.strictObject({ target: z.string().min(1).max(64).optional() });
export const TaskCancelInput = z.strictObject({ id: z.string().min(1).max(128) });
/** The answer to the permission dialog a waiting task's turn stopped at: its plain "Yes" or "No" option. */
/**
 * `since`: the wait being answered, as tasks_list/task_get show it (`waiting.since`, ms since the epoch).
 * With it, an answer meant for one dialog is refused when the task has come to wait on another since.
 */
export const TaskAnswerInput = z.strictObject({
  id: z.string().min(1).max(128),
  answer: z.enum(["yes", "no"]),
  since: z.number().int().nonnegative().optional(),
});
export const ScaleInput = z.strictObject({
  min: z.number().int().min(0).max(64).optional(),
  max: z.number().int().min(0).max(64).optional(),
});

export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new CfError("invalid_input", msg);
  }
  return r.data;
}

/** The facade's collaborators (it has no parameters). */
export interface ControlApiDeps {
  store: Store;
  sessions: SessionService;
  /** the sessions' panes: `session get` shows the last lines */
  pane: Pick<Pane, "capture">;
  accounts: AccountService;
  clock: Clock;
  /** the optional parts: tasks, notify, schedules, boxes, usage, ... (default: none) */
  plugins?: ControlPlugins;
}

/**
 * The one facade the control plane sees (HTTP routes, /trigger/*, MCP tools): so they can never
 * disagree, and none of them touches the store or tmux directly.
 */
export class ControlApi {
  readonly startedAt: number;
  private readonly store: Store;
  private readonly sessions: SessionService;
  private readonly pane: Pick<Pane, "capture">;
  private readonly accounts: AccountService;
  private readonly clock: Clock;
  readonly plugins: ControlPlugins;

  constructor(deps: ControlApiDeps) {
    this.store = deps.store;
    this.sessions = deps.sessions;
    this.pane = deps.pane;
    this.accounts = deps.accounts;
    this.clock = deps.clock;
    this.plugins = deps.plugins ?? {};
    this.startedAt = deps.clock.now();
  }

  /** The daemon's time (its clock), for views built outside this facade. */
  now(): number {
    return this.clock.now();
  }

  status() {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      now: this.clock.now(),
      sessions: this.sessionsList(),
      accounts: this.accountsList(),
      tasks: this.plugins.tasks?.list() ?? [],
      writeFailures: this.plugins.writeFailures?.() ?? null,
      notify: this.plugins.notify?.status() ?? null,
      boxes: this.boxesStatus(),
    };
  }

  /**
   * The boxes sharing the store (boxes/box-sync.ts boxesStatus): { asOf, reachable, boxes: [{ box, self, lease,
   * heartbeatAgeMs, since, expiresAt, runningTasks }] }; null with store.backend: sqlite.
   */
  boxesStatus() {
    return this.plugins.boxes?.() ?? null;
  }

  /** A sample notification to every target, or to `target`; each one's result. */
  async notifyTest(input: unknown) {
    const i = parseInput(NotifyTestInput, input ?? {});
    if (!this.plugins.notify) throw new CfError("unavailable", "notifications are not available");
    return this.plugins.notify.test(i.target);
  }

  sessionsList() {
    return this.sessions.list().map((s) => this.sessionView(s));
  }

  async sessionGet(name: string, lines = 40) {
    const s = this.sessions.get(name);
    if (!s || !this.sessions.specs.has(name)) throw new CfError("no_such_session", `no session named ${name}`);
    let pane: string | null;
    try {
      const text = await this.pane.capture(name);
      // Rows are padded to the pane's width, and the blank rows below the CLI's input box are not
      // "the last lines" anyone wants: both go before counting.
      const rows = text.split("\n").map((l) => l.trimEnd());
      while (rows.length && !rows[rows.length - 1]) rows.pop();
      pane = rows.slice(-Math.max(1, Math.min(lines, 500))).join("\n");
    } catch {
      pane = null;
    }
    return { ...this.sessionView(s), pane };
  }

  accountsList() {
    const sessions = this.sessions.list();
    const now = this.clock.now();
    return this.accounts.views().map((a) => ({
      ...a,
      sessions: sessions.filter((s) => s.account === a.name).map((s) => s.name),
      promptsLastHour: this.store.countPrompts(a.name, now - 3_600_000),
      promptsLastWeek: this.store.countPrompts(a.name, now - 7 * 86_400_000),
      usage: this.plugins.usage?.(a.name) ?? null,
      login: this.plugins.login?.(a.name) ?? null,
    }));
  }

  eventsTail(n = 50, filter?: { session?: string; kindPrefix?: string }) {
    return this.store.tailEvents(Math.max(1, Math.min(n, 1000)), filter);
  }

  eventsAfter(id: number, limit = 500, filter?: { session?: string; kindPrefix?: string }) {
    return this.store.eventsAfter(id, Math.max(1, Math.min(limit, 5000)), filter);
  }

  /**
   * Every box's events (`events` with boxes: all), each with its `box`: the newest `n` (1-1000), or up to
   * `limit` (1-5000) after the id `after` of that list. CfError `unavailable` while the shared store is away.
   */
  async eventsAllBoxes(
    o: { n?: number; after?: number; limit?: number },
    filter: { box?: string; session?: string; kindPrefix?: string } = {},
  ): Promise<unknown[]> {
    if (!this.plugins.eventsAllBoxes) throw new CfError("unavailable", "the events of every box are not available");
    const q: AllBoxesEventsQuery =
      o.after !== undefined
        ? { afterId: o.after, limit: Math.max(1, Math.min(o.limit ?? 500, 5000)) }
        : { limit: Math.max(1, Math.min(o.n ?? 50, 1000)) };
    for (const k of ["box", "session", "kindPrefix"] as const) if (filter[k] !== undefined) q[k] = filter[k];
    return this.plugins.eventsAllBoxes(q);
  }

  async swap(input: unknown) {
    const i = parseInput(SwapInput, input);
    this.requireSession(i.session);
    if (i.to && !this.accounts.config(i.to)) throw new CfError("no_such_account", `no account named ${i.to}`);
    if (!this.plugins.swap) throw new CfError("unavailable", "swaps are not available");
    const r = await this.plugins.swap(i);
    // A failed swap's reason may carry tmux stderr or paths (a rollback's error): those stay in the log.
    if (r && typeof r === "object" && typeof (r as { reason?: unknown }).reason === "string") {
      return { ...r, reason: publicReason((r as { reason: string }).reason) };
    }
    return r;
  }

  async checkpoint(input: unknown) {
    const i = parseInput(SessionInput, input);
    this.requireSession(i.session);
    if (!this.plugins.checkpoint) throw new CfError("unavailable", "checkpoints are not available");
    return this.plugins.checkpoint(i.session);
  }

  async send(input: unknown) {
    const i = parseInput(SendInput, input);
    this.requireSession(i.session);
    // Text that can't arrive as exactly that text (a /word start, control characters) is the caller's to fix.
    const checked = checkPromptText(i.text);
    if (!checked.ok) throw new CfError("invalid_input", `text: ${checked.reason}`);
    // A swap or restart types into the same pane (/exit, a resent prompt): keys must not interleave,
    // and a prompt typed just before a swap's /exit would be cut unseen. Refused (409) while one runs.
    await this.holding(i.session, "send", async () => {
      const r = await this.sessions.prompts.send(i.session, i.text, { confirmTimeoutMs: 30_000 });
      if (!r.ok) throw new CfError("conflict", r.reason);
    });
    return { ok: true, session: i.session };
  }

  /**
   * Runs one allowed slash command in a session (checkCommand: /compact [instructions], /clear, /model NAME)
   * through the input module: typed only into an empty prompt-mode box; refused (409) at an open dialog
   * (`dialog open: <kind>`) or while a swap, restart or send holds the session.
   */
  async command(input: unknown) {
    const i = parseInput(CommandInput, input);
    this.requireSession(i.session);
    const checked = checkCommand(i.command);
    if (!checked.ok) throw new CfError("invalid_input", `command: ${checked.reason}`);
    await this.holding(i.session, "command", async () => {
      const r = await this.sessions.prompts.input.command(i.session, checked.body, { timeoutMs: 30_000 });
      if (!r.ok) throw new CfError("conflict", r.reason);
    });
    return { ok: true, session: i.session, command: checked.body };
  }

  async restart(input: unknown) {
    const i = parseInput(SessionInput, input);
    this.requireSession(i.session);
    await this.holding(i.session, "restart", () => this.sessions.restart(i.session, "operator restart"));
    return { ok: true, session: i.session };
  }

  /** Runs `fn` holding the session; another operation holding it is the caller's 409 (`session_busy`). */
  private async holding(session: string, op: SessionOp, fn: () => Promise<unknown>): Promise<void> {
    const r = await this.sessions.withLock(session, op, fn);
    if (!r.ok) throw new CfError("session_busy", busyReason(session, r.heldBy));
  }

  enqueue(input: unknown) {
    const i = parseInput(EnqueueInputSchema, input);
    if (!this.plugins.tasks) throw new CfError("unavailable", "the task inbox is not available");
    return this.plugins.tasks.enqueue(i);
  }

  /** Cancels a queued task, or interrupts a running one and marks it cancelled. */
  async taskCancel(input: unknown) {
    const i = parseInput(TaskCancelInput, input);
    if (!this.plugins.tasks) throw new CfError("unavailable", "the task inbox is not available");
    return this.plugins.tasks.cancel(i.id);
  }

  /** Answers the permission dialog a waiting task stopped at (yes or no), only when that dialog is open. */
  async taskAnswer(input: unknown) {
    const i = parseInput(TaskAnswerInput, input);
    if (!this.plugins.tasks) throw new CfError("unavailable", "the task inbox is not available");
    return this.plugins.tasks.answer(i.id, i.answer, i.since);
  }

  scale(input: unknown) {
    const i = parseInput(ScaleInput, input);
    if (!this.plugins.tasks) throw new CfError("unavailable", "the pool is not available");
    return this.plugins.tasks.scale(i);
  }

  /** Enable an account (MCP account_enable, route /trigger/account-enable, CLI `accounts enable`). */
  enableAccount(input: unknown) {
    return this.accountAction(parseInput(AccountNameInput, input).account, "enable");
  }

  /** Disable an account: its sessions are swapped off it (MCP account_disable, /trigger/account-disable). */
  disableAccount(input: unknown) {
    return this.accountAction(parseInput(AccountNameInput, input).account, "disable");
  }

  /** Deprecated (MCP account_set, /trigger/account): `{account, action}`; enableAccount/disableAccount. */
  accountSet(input: unknown) {
    const i = parseInput(AccountInput, input);
    return this.accountAction(i.account, i.action);
  }

  private accountAction(account: string, action: "enable" | "disable") {
    if (!this.plugins.account) throw new CfError("unavailable", "account control is not available");
    return this.plugins.account(account, action);
  }

  tasksList() {
    return this.plugins.tasks?.list() ?? [];
  }

  /** The configured schedules, each with its next run and its last run (an empty list without any). */
  schedulesList() {
    return this.plugins.schedules?.() ?? [];
  }

  taskGet(id: string) {
    const t = this.plugins.tasks?.get(id);
    if (t === undefined || t === null) throw new CfError("no_such_task", `no task ${id}`);
    return t;
  }

  /** The latest swaps (newest first), for metrics and history. */
  swapsRecent(limit = 1000) {
    return this.store.listSwaps(Math.max(1, Math.min(limit, 100_000))).map(swapView);
  }

  private requireSession(name: string): void {
    if (!this.sessions.specs.has(name) || !this.sessions.get(name))
      throw new CfError("no_such_session", `no session named ${name}`);
  }

  private sessionView(s: SessionRow) {
    const sw = this.store.lastSwap(s.name);
    return {
      name: s.name,
      kind: s.kind,
      project: s.project,
      account: s.account,
      state: s.state,
      stateReason: s.stateReason,
      claudeSessionId: s.claudeSessionId,
      lastPrompt: clip(s.lastPrompt),
      lastPromptAt: s.lastPromptAt,
      lastPromptAnswered: s.lastPromptAnswered,
      lastActivity: s.lastActivity,
      parkedUntil: s.parkedUntil,
      restarts: s.restarts,
      busyWith: this.sessions.lockedBy(s.name) ?? null,
      lastSwap: sw ? swapView(sw) : null,
    };
  }
}

function swapView(sw: SwapRow) {
  return {
    id: sw.id,
    from: sw.fromAccount,
    to: sw.toAccount,
    reason: sw.reason,
    urgent: sw.urgent,
    startedAt: sw.startedAt,
    endedAt: sw.endedAt,
    durationMs: sw.endedAt ? sw.endedAt - sw.startedAt : null,
    outcome: sw.outcome,
    error: sw.error,
    step: sw.step,
    steps: sw.steps,
  };
}

function clip(s: string | null): string | null {
  return s && s.length > 500 ? `${s.slice(0, 500)}…` : s;
}
