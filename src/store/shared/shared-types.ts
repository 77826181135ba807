// The shared store (issue 19): what the boxes that use one account pool share. Two implementations with the
// same behaviour: SQLite in the box's own state.db (store.backend: sqlite, one box) and PostgreSQL
// (store.backend: postgres, several boxes). Times are epoch milliseconds passed in by the caller (`now`):
// the store never reads a clock, so boxes sharing a database need synchronised clocks (NTP); leases' TTLs
// are meant to be far above any skew (see docs/multi-box.md).

/** A shared mark on an account, set by one box for all. */
export type SharedAccountStateName = "exhausted" | "revoked" | "disabled" | "cooldown";

export interface SharedAccountState {
  account: string;
  state: SharedAccountStateName;
  /** the mark holds until then (epoch ms); null = until cleared */
  until: number | null;
  reason: string | null;
  /** the box that set it */
  box: string;
  /** when that box set it (epoch ms) */
  at: number;
}

/** One box's latest usage reading of one account (the figures object of quota/policy-types.ts `UsageFigures`, as JSON). */
export interface SharedUsage {
  account: string;
  box: string;
  figures: unknown;
  /** the reading's own time (epoch ms) */
  at: number;
  /** `statusline` or `usage_api` */
  source: string;
}

/** A box's lease: the box is alive while `expiresAt > now`. */
export interface BoxLease {
  box: string;
  /** when this lease was first taken, or re-taken after it lapsed */
  since: number;
  heartbeatAt: number;
  expiresAt: number;
  /** free-form facts the box publishes (version, pid, pool size…), JSON */
  info: Record<string, unknown>;
}

export interface HeartbeatResult {
  lease: BoxLease;
  /**
   * true when this box had a lease that had lapsed before this heartbeat: other boxes may have requeued
   * its running tasks meanwhile (its claims on them are void: `completeTask` refuses them).
   */
  lapsed: boolean;
}

export type SharedTaskState = "queued" | "running" | "done" | "failed" | "cancelled";

/** What a box enqueues. */
export interface SharedTaskDraft {
  /** the caller's id; enqueueing an id already there returns the existing task unchanged */
  id: string;
  /** absolute project path; only a box that has this project claims the task */
  project: string;
  prompt: string;
  /** higher first */
  priority: number;
  /** only this box may claim it (`box:` in a task file); null = any box */
  pinBox: string | null;
  /** the rest of the task (model, account, worktree, base, timeout…), JSON; opaque to the store */
  payload: Record<string, unknown>;
}

export interface SharedTask extends SharedTaskDraft {
  /** the box it was enqueued on (its outbox gets the result) */
  originBox: string;
  state: SharedTaskState;
  /** the box running it, or that ran it last */
  box: string | null;
  /** claims so far; the current claim's token is this number */
  attempts: number;
  notBefore: number | null;
  result: string | null;
  error: string | null;
  /** enqueue order among equal priorities */
  seq: number;
  createdAt: number;
  claimedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
}

/** A claim: the task, and the token (`attempts` at claim time) every later change of it must carry. */
export interface TaskClaim {
  task: SharedTask;
  claim: number;
}

export interface RequeuedTask {
  id: string;
  /** the lapsed box it was running on */
  box: string;
}

/**
 * A planned move's reservation of load on its target account (issue 19, planning together): a box reserves
 * before it moves a session onto `account`, so the moves of every box together stay under the target's
 * threshold. Counted by every box's policy until `expiresAt`, or until its box's lease lapses.
 */
export interface MoveReservation {
  /** the reserving box's id for it (unique) */
  id: string;
  /** the target account */
  account: string;
  /** the box that moves the session */
  box: string;
  /** that box's session */
  session: string;
  /** load in sessions (a move is 1): what the policy counts like one of its own planned moves */
  sessions: number;
  createdAt: number;
  /** in force while `expiresAt > now` */
  expiresAt: number;
}

/** What `reserveMove` asks for. */
export interface MoveReservationDraft {
  id: string;
  account: string;
  session: string;
  /**
   * How many moved sessions the target takes in all (every box's live reservations, this one included)
   * before it would reach its threshold, by the reserving box's figures (quota/policy.ts moveCapacity);
   * null = no limit known.
   */
  capacity: number | null;
  /** the reservation lapses this long after `now` unless ended or renewed first */
  ttlMs: number;
}

export type ReserveResult =
  | { ok: true; reservation: MoveReservation; held: number }
  /** refused: `held` sessions are already reserved on the account (every box), `capacity` reached */
  | { ok: false; held: number };

/** An event of a box's own log (store/store.ts events) as it is mirrored into the shared store. */
export interface SharedEventDraft {
  /** its id in the box's own log: (box, localId, ts) is stored once, so a batch sent again is not doubled */
  localId: number | null;
  /** epoch ms, the box's clock */
  ts: number;
  kind: string;
  session: string | null;
  account: string | null;
  data: Record<string, unknown>;
}

/** An event in the shared table: one box's event, with the box's name. */
export interface SharedEvent extends SharedEventDraft {
  /** the shared table's id: the order rows arrived in (not the order of `ts` across boxes) */
  id: number;
  box: string;
}

/** What `readEvents` reads: the filters all hold at once; at most `limit` rows, in `id` order (oldest first). */
export interface SharedEventQuery {
  /** only rows with `id > afterId` (following the table) */
  afterId?: number;
  /** only rows with `ts >= since` (epoch ms) */
  since?: number;
  /** only rows with `ts < until` (epoch ms) */
  until?: number;
  /** only this box's rows */
  box?: string;
  /** only kinds starting with this (literally: `_` and `%` are no wildcards; case counts) */
  kindPrefix?: string;
  session?: string;
  /** 1 or more */
  limit: number;
  /** the newest `limit` matching rows instead of the oldest (still returned oldest first) */
  newest?: boolean;
}

/**
 * The shared store. Every method may reject: with the PostgreSQL backend when the database is unreachable
 * (CfError `shared_store_unavailable`, nothing changed), and with CfError `lease_lapsed` from `claimTask`
 * when this box holds no live lease. Each method is one transaction.
 */
export interface SharedStore {
  readonly backend: "sqlite" | "postgres";
  /** this box's name (box.name) */
  readonly box: string;

  // ---- account states
  /**
   * Sets this box's mark on an account for every box. A write older (`now`) than the mark already stored
   * is ignored (a box catching up after an outage does not undo a newer mark); returns whether it was stored.
   */
  setAccountState(
    account: string,
    state: SharedAccountStateName,
    until: number | null,
    reason: string | null,
    now: number,
  ): Promise<boolean>;
  /** Removes the mark (the account is usable again for all), unless a mark newer than `now` is there. */
  clearAccountState(account: string, now: number): Promise<boolean>;
  /** The mark in force at `now`: undefined when none, or when its `until` is at or before `now`. */
  getAccountState(account: string, now: number): Promise<SharedAccountState | undefined>;
  /** Every mark in force at `now`, by account name. */
  listAccountStates(now: number): Promise<SharedAccountState[]>;

  // ---- usage figures
  /** Stores this box's reading of an account when it is newer than this box's last one; returns whether it was. */
  putUsage(account: string, figures: unknown, at: number, source: string): Promise<boolean>;
  /** The newest reading of each account, whichever box took it (ties: the box name first in order). */
  latestUsage(): Promise<SharedUsage[]>;
  /** Every box's latest reading of one account, newest first. */
  usageByBox(account: string): Promise<SharedUsage[]>;

  // ---- box leases
  /** Takes or renews this box's lease until `now + ttlMs`. `ttlMs` must be positive. */
  heartbeat(now: number, ttlMs: number, info?: Record<string, unknown>): Promise<HeartbeatResult>;
  /** Every lease, live or lapsed (a lapsed one has `expiresAt <= now`), by box name. */
  leases(): Promise<BoxLease[]>;
  /** Drops this box's lease (a clean stop): its running tasks are requeued by the next `requeueLapsed`. */
  releaseLease(): Promise<void>;

  // ---- the task queue
  /** Adds a queued task from this box; idempotent on `draft.id` (an existing task is returned unchanged). */
  enqueueTask(draft: SharedTaskDraft, now: number): Promise<SharedTask>;
  /**
   * Takes the next queued task this box may run at `now` (not_before passed; pinned to this box or to none;
   * its project among `projects` when given): highest priority, then oldest. Exactly one claimer gets a
   * task however many boxes claim at once (PostgreSQL: FOR UPDATE SKIP LOCKED). null when none.
   */
  claimTask(now: number, opts?: { projects?: readonly string[] }): Promise<TaskClaim | null>;
  /** running → done or failed, only by the box holding claim `claim`; false otherwise (the claim is void). */
  completeTask(
    id: string,
    claim: number,
    outcome: { state: "done"; result: string } | { state: "failed"; error: string },
    now: number,
  ): Promise<boolean>;
  /** running → queued (a retry after `notBefore`), only by the holder of claim `claim`. */
  releaseTask(id: string, claim: number, notBefore: number | null, error: string | null, now: number): Promise<boolean>;
  /** queued → cancelled, or running → cancelled by any box (its runner finds its claim void). */
  cancelTask(id: string, reason: string, now: number): Promise<boolean>;
  /**
   * Requeues every running task of a box whose lease lapsed at or before `now` (or that has no lease).
   * Any box may call it, concurrently: each task is requeued exactly once. Returns what it requeued.
   */
  requeueLapsed(now: number): Promise<RequeuedTask[]>;
  getTask(id: string): Promise<SharedTask | undefined>;
  /** The tasks among `ids` that exist, in no particular order (one query, for a box's round over its open tasks). */
  getTasks(ids: readonly string[]): Promise<SharedTask[]>;
  /** Tasks in the given states (all when omitted), by priority then age. */
  listTasks(states?: readonly SharedTaskState[]): Promise<SharedTask[]>;

  // ---- planned-move reservations
  /**
   * Reserves one move's load on `draft.account` in one transaction (PostgreSQL: an advisory lock on the
   * account, so concurrent reservers on any box are serialised): granted when the live reservations on it
   * (every box; a reservation of a box whose lease lapsed does not count, and is deleted) plus this one stay
   * within `draft.capacity`. Expired and lapsed boxes' reservations are deleted on the way.
   */
  reserveMove(draft: MoveReservationDraft, now: number): Promise<ReserveResult>;
  /**
   * Ends this box's reservation `id`: deleted when `keepUntil` is null (the move did not happen), else kept
   * until `keepUntil` (a session that arrived, counted until the target's figures show it). false when not there.
   */
  endReservation(id: string, keepUntil: number | null, now: number): Promise<boolean>;
  /** The reservations in force at `now` (not expired; their box holds a live lease, or is this box), by account then time. */
  listReservations(now: number): Promise<MoveReservation[]>;

  // ---- events (each box's own log, mirrored with the box's name)
  /**
   * Appends this box's events in one transaction, in the given order; an event already stored (the same
   * box, `localId` and `ts`: a batch sent again after an answer was lost) is skipped. Returns how many were added.
   */
  appendEvents(events: readonly SharedEventDraft[]): Promise<number>;
  /** Events of every box matching `q` (see SharedEventQuery). */
  readEvents(q: SharedEventQuery): Promise<SharedEvent[]>;
  /**
   * Deletes every box's events older than `before` (epoch ms), then each box's all but its newest
   * `maxRowsPerBox`; returns how many went.
   */
  pruneEvents(before: number, maxRowsPerBox: number): Promise<number>;

  close(): Promise<void>;
}
