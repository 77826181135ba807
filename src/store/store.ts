import type Database from "better-sqlite3";
import type { Db } from "./db.js";
import type { AccountRow, AccountState, EventRow, SessionRow, SwapRow, SwapStep } from "./types.js";

type Row = Record<string, unknown>;

export interface UsageRow {
  account: string;
  figures: unknown;
  fetchedAt: number | null;
  source: string;
  error: string | null;
  errorAt: number | null;
  nextPollAt: number | null;
  backoffMs: number;
}

/** One stored reading of one window (usage_samples). */
export interface UsageSampleRow {
  at: number;
  source: string;
  utilization: number;
  resetsAt: number | null;
}

/** A window's last sample younger than this is not followed by another unless the window reset. */
export const USAGE_SAMPLE_GAP_MS = 60_000;
/** Samples are kept this long (a week's window and a day to spare). */
export const USAGE_SAMPLES_KEEP_MS = 8 * 24 * 3_600_000;

/**
 * The windows of a usage figures object (quota/policy-types.ts `UsageFigures`), named as the usage
 * endpoint names them: five_hour, seven_day, seven_day_<model>. Read defensively: the column is JSON.
 */
export function windowReadings(figures: unknown): { window: string; utilization: number; resetsAt: number | null }[] {
  const out: { window: string; utilization: number; resetsAt: number | null }[] = [];
  if (!figures || typeof figures !== "object") return out;
  const f = figures as Record<string, unknown>;
  const add = (window: string, w: unknown): void => {
    if (!w || typeof w !== "object") return;
    const { utilization, resetsAt } = w as Record<string, unknown>;
    if (typeof utilization !== "number" || !Number.isFinite(utilization)) return;
    out.push({
      window,
      utilization,
      resetsAt: typeof resetsAt === "number" && Number.isFinite(resetsAt) ? resetsAt : null,
    });
  };
  add("five_hour", f.fiveHour);
  add("seven_day", f.sevenDay);
  const perModel = f.perModelWeekly;
  if (perModel && typeof perModel === "object")
    for (const [model, w] of Object.entries(perModel)) add(`seven_day_${model}`, w);
  return out;
}

const SESSION_COLS: Record<keyof SessionRow, string> = {
  name: "name",
  kind: "kind",
  project: "project",
  account: "account",
  claudeSessionId: "claude_session_id",
  transcriptPath: "transcript_path",
  state: "state",
  stateReason: "state_reason",
  lastPrompt: "last_prompt",
  lastPromptAt: "last_prompt_at",
  lastPromptAnswered: "last_prompt_answered",
  failedPrompt: "failed_prompt",
  lastActivity: "last_activity",
  lastMoveAt: "last_move_at",
  parkedUntil: "parked_until",
  restarts: "restarts",
  started: "started",
  createdAt: "created_at",
  updatedAt: "updated_at",
  launchId: "launch_id",
  launchedAt: "launched_at",
};
const BOOL_SESSION = new Set(["lastPromptAnswered", "started"]);

function toSession(r: Row): SessionRow {
  const out: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(SESSION_COLS)) out[k] = BOOL_SESSION.has(k) ? Boolean(r[c]) : r[c];
  return out as unknown as SessionRow;
}

function toSwap(r: Row): SwapRow {
  return {
    id: r.id as number,
    session: r.session as string,
    fromAccount: r.from_account as string | null,
    toAccount: r.to_account as string,
    reason: r.reason as string,
    urgent: Boolean(r.urgent),
    startedAt: r.started_at as number,
    endedAt: r.ended_at as number | null,
    step: r.step as string,
    outcome: r.outcome as SwapRow["outcome"],
    error: r.error as string | null,
    steps: JSON.parse((r.steps as string) || "[]") as SwapStep[],
    resend: r.resend as string | null,
  };
}

// The store owns persisted data and its invariants; it knows nothing of time policy (callers pass `now`).
export class Store {
  /** Prepared once per SQL text: preparing on every call dominated /status and sessions_list. */
  private readonly stmts = new Map<string, Database.Statement>();
  constructor(readonly db: Db) {}

  private q(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  // ---- sessions
  getSession(name: string): SessionRow | undefined {
    const r = this.q("SELECT * FROM sessions WHERE name = ?").get(name) as Row | undefined;
    return r ? toSession(r) : undefined;
  }
  listSessions(): SessionRow[] {
    return (this.q("SELECT * FROM sessions ORDER BY name").all() as Row[]).map(toSession);
  }
  insertSession(
    s: Pick<SessionRow, "name" | "kind" | "project" | "account" | "claudeSessionId" | "state">,
    now: number,
  ): SessionRow {
    this.db
      .prepare(
        `INSERT INTO sessions (name, kind, project, account, claude_session_id, state, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.name, s.kind, s.project, s.account, s.claudeSessionId, s.state, now, now);
    return this.getSession(s.name)!;
  }
  updateSession(name: string, patch: Partial<SessionRow>, now: number): SessionRow | undefined {
    const sets: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const col = SESSION_COLS[k as keyof SessionRow];
      if (!col || k === "name") continue;
      sets.push(`${col} = ?`);
      vals.push(typeof v === "boolean" ? (v ? 1 : 0) : v);
    }
    sets.push("updated_at = ?");
    vals.push(now, name);
    this.q(`UPDATE sessions SET ${sets.join(", ")} WHERE name = ?`).run(...vals);
    return this.getSession(name);
  }
  deleteSession(name: string): void {
    this.q("DELETE FROM sessions WHERE name = ?").run(name);
  }

  // ---- accounts
  getAccount(name: string): AccountRow | undefined {
    const r = this.q("SELECT * FROM accounts WHERE name = ?").get(name) as Row | undefined;
    return r ? toAccount(r) : undefined;
  }
  listAccounts(): AccountRow[] {
    return (this.q("SELECT * FROM accounts ORDER BY name").all() as Row[]).map(toAccount);
  }
  ensureAccount(name: string, now: number): AccountRow {
    this.q("INSERT OR IGNORE INTO accounts (name, state, updated_at) VALUES (?, 'active', ?)").run(name, now);
    return this.getAccount(name)!;
  }
  setAccountState(name: string, state: AccountState, until: number | null, reason: string | null, now: number): void {
    this.ensureAccount(name, now);
    this.db
      .prepare("UPDATE accounts SET state = ?, state_until = ?, state_reason = ?, updated_at = ? WHERE name = ?")
      .run(state, until, reason, now, name);
  }

  setRevokedCreds(name: string, fingerprint: string | null): void {
    this.q("UPDATE accounts SET revoked_creds = ? WHERE name = ?").run(fingerprint, name);
  }

  // ---- events (append-only audit log)
  appendEvent(
    ts: number,
    kind: string,
    session: string | null,
    account: string | null,
    data: Record<string, unknown> = {},
  ): number {
    const r = this.db
      .prepare("INSERT INTO events (ts, kind, session, account, data) VALUES (?, ?, ?, ?, ?)")
      .run(ts, kind, session, account, JSON.stringify(data));
    const id = Number(r.lastInsertRowid);
    for (const fn of this.eventListeners) {
      try {
        fn({ id, ts, kind, session, account, data });
      } catch {
        /* a listener's fault is its own; the event is recorded */
      }
    }
    return id;
  }
  private readonly eventListeners = new Set<(e: EventRow) => void>();
  /**
   * Calls `fn` with every event appended from now on, synchronously inside appendEvent (after the row is
   * written): keep it cheap and never block (notify/ and the dashboard's stream only enqueue). Returns the unsubscribe.
   */
  onEvent(fn: (e: EventRow) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }
  eventsAfter(id: number, limit = 500, filter?: { session?: string; kindPrefix?: string }): EventRow[] {
    let sql = "SELECT * FROM events WHERE id > ?";
    const args: unknown[] = [id];
    if (filter?.session) {
      sql += " AND session = ?";
      args.push(filter.session);
    }
    if (filter?.kindPrefix) {
      sql += " AND instr(kind, ?) = 1";
      args.push(filter.kindPrefix);
    } // not LIKE: it treats `_`/`%` as wildcards and ignores case
    sql += " ORDER BY id LIMIT ?";
    args.push(limit);
    return (this.q(sql).all(...args) as Row[]).map(toEvent);
  }
  tailEvents(n: number, filter?: { session?: string; kindPrefix?: string }): EventRow[] {
    let sql = "SELECT * FROM events WHERE 1=1";
    const args: unknown[] = [];
    if (filter?.session) {
      sql += " AND session = ?";
      args.push(filter.session);
    }
    if (filter?.kindPrefix) {
      sql += " AND instr(kind, ?) = 1";
      args.push(filter.kindPrefix);
    } // not LIKE: it treats `_`/`%` as wildcards and ignores case
    sql += " ORDER BY id DESC LIMIT ?";
    args.push(n);
    return (this.q(sql).all(...args) as Row[]).map(toEvent).reverse();
  }

  /** Deletes events older than `before` (ms), then all but the newest `maxRows`; returns how many. */
  pruneEvents(before: number, maxRows: number): number {
    const old = this.q("DELETE FROM events WHERE ts < ?").run(before).changes;
    const over = this.q("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)").run(
      maxRows,
    ).changes;
    return old + over;
  }

  // ---- prompts (local counts for soft caps)
  recordPrompt(ts: number, session: string, account: string): void {
    this.q("INSERT INTO prompts (ts, session, account) VALUES (?, ?, ?)").run(ts, session, account);
  }
  countPrompts(account: string, since: number): number {
    const r = this.q("SELECT COUNT(*) AS n FROM prompts WHERE account = ? AND ts >= ?").get(account, since) as {
      n: number;
    };
    return r.n;
  }
  /**
   * Records spool file `file` as applied at `at` (call inside the transaction that applies it): false when it
   * was already, i.e. the event must not be applied again.
   */
  markSpoolApplied(file: string, at: number): boolean {
    return this.q("INSERT OR IGNORE INTO spool_applied (file, at) VALUES (?, ?)").run(file, at).changes > 0;
  }
  /** Forgets applied spool files recorded before `before` (ms); returns how many. */
  pruneSpoolApplied(before: number): number {
    return this.q("DELETE FROM spool_applied WHERE at < ?").run(before).changes;
  }
  /** Deletes prompts older than `before` (ms); returns how many. */
  prunePrompts(before: number): number {
    return this.q("DELETE FROM prompts WHERE ts < ?").run(before).changes;
  }

  // ---- swaps
  insertSwap(
    s: { session: string; from: string | null; to: string; reason: string; urgent: boolean; resend: string | null },
    now: number,
  ): number {
    const r = this.db
      .prepare(
        `INSERT INTO swaps (session, from_account, to_account, reason, urgent, started_at, resend)
                VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.session, s.from, s.to, s.reason, s.urgent ? 1 : 0, now, s.resend);
    return Number(r.lastInsertRowid);
  }
  recordSwapStep(id: number, step: SwapStep): void {
    const row = this.getSwap(id);
    if (!row) return;
    row.steps.push(step);
    this.q("UPDATE swaps SET step = ?, steps = ? WHERE id = ?").run(step.step, JSON.stringify(row.steps), id);
  }
  finishSwap(id: number, outcome: NonNullable<SwapRow["outcome"]>, error: string | null, now: number): void {
    this.q("UPDATE swaps SET outcome = ?, error = ?, ended_at = ? WHERE id = ?").run(outcome, error, now, id);
  }
  getSwap(id: number): SwapRow | undefined {
    const r = this.q("SELECT * FROM swaps WHERE id = ?").get(id) as Row | undefined;
    return r ? toSwap(r) : undefined;
  }
  lastSwap(session: string): SwapRow | undefined {
    const r = this.q("SELECT * FROM swaps WHERE session = ? ORDER BY id DESC LIMIT 1").get(session) as Row | undefined;
    return r ? toSwap(r) : undefined;
  }
  unfinishedSwaps(): SwapRow[] {
    return (this.q("SELECT * FROM swaps WHERE outcome IS NULL ORDER BY id").all() as Row[]).map(toSwap);
  }
  listSwaps(limit = 100): SwapRow[] {
    return (this.q("SELECT * FROM swaps ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(toSwap);
  }

  // ---- usage figures (last-known-good per account, with the poller's error and backoff)
  getUsage(account: string): UsageRow | undefined {
    const r = this.q("SELECT * FROM usage WHERE account = ?").get(account) as Row | undefined;
    if (!r) return undefined;
    return {
      account: r.account as string,
      figures: JSON.parse(r.figures as string) as unknown,
      fetchedAt: r.fetched_at as number | null,
      source: r.source as string,
      error: r.error as string | null,
      errorAt: r.error_at as number | null,
      nextPollAt: r.next_poll_at as number | null,
      backoffMs: r.backoff_ms as number,
    };
  }
  /**
   * Writes an account's usage row. When its `fetchedAt` is new (a fresh reading, from the usage endpoint
   * or the status line), each window's figure is also kept in `usage_samples` for the forecasts.
   */
  putUsage(u: UsageRow): void {
    this.db.transaction(() => {
      const prev = this.q("SELECT fetched_at FROM usage WHERE account = ?").get(u.account) as
        { fetched_at: number | null } | undefined;
      this.q(
        `INSERT INTO usage (account, figures, fetched_at, source, error, error_at, next_poll_at, backoff_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(account) DO UPDATE SET figures = excluded.figures, fetched_at = excluded.fetched_at,
                  source = excluded.source, error = excluded.error, error_at = excluded.error_at,
                  next_poll_at = excluded.next_poll_at, backoff_ms = excluded.backoff_ms`,
      ).run(u.account, JSON.stringify(u.figures), u.fetchedAt, u.source, u.error, u.errorAt, u.nextPollAt, u.backoffMs);
      if (u.fetchedAt !== null && u.fetchedAt !== (prev?.fetched_at ?? null))
        this.recordSamples(u.account, u.fetchedAt, u.source, u.figures);
    })();
  }

  // ---- usage samples (readings over time, for burn rates; quota/forecast.ts)
  /**
   * One reading per window, unless the window's last sample is under USAGE_SAMPLE_GAP_MS older and the
   * window has not reset since (a busy CLI's status line reports about once a second: a sample a minute
   * is plenty for an hour's burn and keeps 8 days of 20 accounts small). Readings older than the last
   * sample are dropped (a late status-line file). Prunes this account's samples once an hour.
   */
  private recordSamples(account: string, at: number, source: string, figures: unknown): void {
    for (const r of windowReadings(figures)) {
      const last = this.q(
        "SELECT at, utilization, resets_at FROM usage_samples WHERE account = ? AND window = ? ORDER BY at DESC LIMIT 1",
      ).get(account, r.window) as { at: number; utilization: number; resets_at: number | null } | undefined;
      if (last && at <= last.at) continue;
      // Any drop, or a reset time that moved by more than the feeds' rounding (the endpoint's has milliseconds).
      const reset =
        last !== undefined &&
        (r.utilization < last.utilization ||
          (r.resetsAt === null) !== (last.resets_at === null) ||
          Math.abs((r.resetsAt ?? 0) - (last.resets_at ?? 0)) > 60_000);
      if (last && at - last.at < USAGE_SAMPLE_GAP_MS && !reset) continue;
      this.q(
        "INSERT INTO usage_samples (account, at, source, window, utilization, resets_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(account, at, source, r.window, r.utilization, r.resetsAt);
    }
    const pruned = this.lastSamplePrune.get(account);
    if (pruned === undefined || at - pruned >= 3_600_000) {
      this.lastSamplePrune.set(account, at);
      this.q("DELETE FROM usage_samples WHERE account = ? AND at < ?").run(account, at - USAGE_SAMPLES_KEEP_MS);
    }
  }
  private readonly lastSamplePrune = new Map<string, number>();

  /** Samples of one account's window (five_hour, seven_day, seven_day_<model>) taken at or after `sinceMs`, oldest first. */
  usageSamples(account: string, window: string, sinceMs: number): UsageSampleRow[] {
    const rows = this.q(
      "SELECT at, source, utilization, resets_at FROM usage_samples WHERE account = ? AND window = ? AND at >= ? ORDER BY at",
    ).all(account, window, sinceMs) as Row[];
    return rows.map((r) => ({
      at: r.at as number,
      source: r.source as string,
      utilization: r.utilization as number,
      resetsAt: r.resets_at as number | null,
    }));
  }
  /** Deletes every account's samples taken before `before` (epoch ms). */
  pruneUsageSamples(before: number): void {
    this.q("DELETE FROM usage_samples WHERE at < ?").run(before);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toAccount(r: Row): AccountRow {
  return {
    name: r.name as string,
    state: r.state as AccountState,
    stateUntil: r.state_until as number | null,
    stateReason: r.state_reason as string | null,
    updatedAt: r.updated_at as number,
    revokedCreds: (r.revoked_creds as string | null | undefined) ?? null,
  };
}

function toEvent(r: Row): EventRow {
  return {
    id: r.id as number,
    ts: r.ts as number,
    kind: r.kind as string,
    session: r.session as string | null,
    account: r.account as string | null,
    data: JSON.parse((r.data as string) || "{}") as Record<string, unknown>,
  };
}
