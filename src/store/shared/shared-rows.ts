// Rows of the shared tables → the shapes of shared-types.ts, and the SQL and errors both backends share. PostgreSQL's BIGINT comes
// back from pg as a string and JSONB as a value; SQLite gives numbers and JSON text.

import { CfError } from "../../util/errors.js";
import type {
  BoxLease,
  MoveReservation,
  SharedAccountState,
  SharedAccountStateName,
  SharedEvent,
  SharedEventQuery,
  SharedTask,
  SharedTaskState,
  SharedUsage,
} from "./shared-types.js";

export type Row = Record<string, unknown>;

export const SHARED_ACCOUNT_STATES: readonly SharedAccountStateName[] = [
  "exhausted",
  "revoked",
  "disabled",
  "cooldown",
];

function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}
function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}
function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
/** JSON text (SQLite) or an already parsed JSONB value (pg). */
function json(v: unknown): unknown {
  return typeof v === "string" ? (JSON.parse(v) as unknown) : v;
}
function obj(v: unknown): Record<string, unknown> {
  const o = json(v);
  return o && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, unknown>) : {};
}

export function toAccountState(r: Row): SharedAccountState {
  return {
    account: String(r.account),
    state: r.state as SharedAccountStateName,
    until: numOrNull(r.until),
    reason: str(r.reason),
    box: String(r.box),
    at: num(r.at),
  };
}

export function toUsage(r: Row): SharedUsage {
  return {
    account: String(r.account),
    box: String(r.box),
    figures: json(r.figures),
    at: num(r.at),
    source: String(r.source),
  };
}

export function toLease(r: Row): BoxLease {
  return {
    box: String(r.box),
    since: num(r.since),
    heartbeatAt: num(r.heartbeat_at),
    expiresAt: num(r.expires_at),
    info: obj(r.info),
  };
}

export function toTask(r: Row): SharedTask {
  return {
    id: String(r.id),
    originBox: String(r.origin_box),
    pinBox: str(r.pin_box),
    project: String(r.project),
    prompt: String(r.prompt),
    priority: num(r.priority),
    payload: obj(r.payload),
    state: r.state as SharedTaskState,
    box: str(r.box),
    attempts: num(r.attempts),
    notBefore: numOrNull(r.not_before),
    result: str(r.result),
    error: str(r.error),
    seq: num(r.seq),
    createdAt: num(r.created_at),
    claimedAt: numOrNull(r.claimed_at),
    endedAt: numOrNull(r.ended_at),
    updatedAt: num(r.updated_at),
  };
}

/** Argument checks shared by both backends (a programming error, not bad user input). */
export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`lease TTL must be a positive number of ms, got ${ttlMs}`);
}
export function checkAccountState(state: string): void {
  if (!SHARED_ACCOUNT_STATES.includes(state as SharedAccountStateName))
    throw new RangeError(`unknown shared account state ${JSON.stringify(state)}`);
}

/** The newest reading per account across boxes (ties: the first box name); the same SQL runs on both backends. */
export const LATEST_USAGE_SQL = `SELECT * FROM shared_usage u
  WHERE NOT EXISTS (SELECT 1 FROM shared_usage v WHERE v.account = u.account AND (v.at > u.at OR (v.at = u.at AND v.box < u.box)))
  ORDER BY u.account`;

export function leaseLapsed(box: string): CfError {
  return new CfError(
    "lease_lapsed",
    `box ${box} holds no live lease in the shared store: heartbeat before claiming tasks`,
  );
}

/** The error a requeued task carries: which box lapsed, and when its lease ended. */
export function lapsedNote(box: string, expiresAt: unknown): string {
  return expiresAt === null || expiresAt === undefined
    ? `requeued: box ${box} holds no lease`
    : `requeued: the lease of box ${box} lapsed at ${new Date(Number(expiresAt)).toISOString()}`;
}

export function toReservation(r: Row): MoveReservation {
  return {
    id: String(r.id),
    account: String(r.account),
    box: String(r.box),
    session: String(r.session),
    sessions: num(r.sessions),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

/** Whether one more move fits: `held` sessions reserved already, `capacity` null = no limit. */
export function reservationFits(held: number, capacity: number | null): boolean {
  return capacity === null || held + 1 <= capacity;
}

/**
 * Reservations that no longer count: expired at `now`, or of another box than `me` without a live lease
 * (a lapsed box's reservations are released). `now` and `me` are the backend's placeholders (SQLite: `?`,
 * bound in the order now, me, now; PostgreSQL: `$n`).
 */
export function deadReservationsWhere(now: string, me: string, now2 = now): string {
  return `(expires_at <= ${now} OR (box <> ${me} AND NOT EXISTS
  (SELECT 1 FROM box_leases l WHERE l.box = shared_reservations.box AND l.expires_at > ${now2})))`;
}

export function toSharedEvent(r: Row): SharedEvent {
  return {
    id: num(r.id),
    box: String(r.box),
    localId: numOrNull(r.local_id),
    ts: num(r.ts),
    kind: String(r.kind),
    session: str(r.session),
    account: str(r.account),
    data: obj(r.data),
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text PostgreSQL takes: NUL (refused in TEXT and in JSONB strings) and lone UTF-16 surrogates (refused by
 * JSONB) become U+FFFD. Applied on both backends, so they store the same thing.
 */
export function storableText(s: string): string {
  return s.replace(/\0/g, "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");
}
export function storableTextOrNull(s: string | null): string | null {
  return s === null ? null : storableText(s);
}

/** An event's data as JSON text both backends store (its strings made storable). */
export function eventDataJson(data: Record<string, unknown>): string {
  return JSON.stringify(data ?? {}, (_k, v: unknown) => (typeof v === "string" ? storableText(v) : v));
}

/** Argument checks of the events calls. */
export function checkEventQuery(q: SharedEventQuery): void {
  if (!Number.isInteger(q.limit) || q.limit < 1)
    throw new RangeError(`event limit must be a whole number >= 1, got ${q.limit}`);
}
export function checkMaxRows(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`max rows must be a whole number >= 0, got ${n}`);
}

/**
 * The SELECT of `readEvents` for a backend: SQLite (`?` placeholders, `instr` for the prefix) or PostgreSQL
 * (`$n`, `starts_with`). Neither uses LIKE: it would take `_` and `%` as wildcards.
 */
export function eventsQuery(q: SharedEventQuery, dialect: "sqlite" | "postgres"): { sql: string; args: unknown[] } {
  const args: unknown[] = [];
  const p = (v: unknown): string => {
    args.push(v);
    return dialect === "sqlite" ? "?" : `$${args.length}`;
  };
  const where: string[] = [];
  if (q.afterId !== undefined) where.push(`id > ${p(q.afterId)}`);
  if (q.since !== undefined) where.push(`ts >= ${p(q.since)}`);
  if (q.until !== undefined) where.push(`ts < ${p(q.until)}`);
  if (q.box !== undefined) where.push(`box = ${p(q.box)}`);
  if (q.session !== undefined) where.push(`session = ${p(q.session)}`);
  if (q.kindPrefix !== undefined)
    where.push(dialect === "sqlite" ? `instr(kind, ${p(q.kindPrefix)}) = 1` : `starts_with(kind, ${p(q.kindPrefix)})`);
  const inner = `SELECT * FROM shared_events${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id ${q.newest ? "DESC" : "ASC"} LIMIT ${p(q.limit)}`;
  return { sql: q.newest ? `SELECT * FROM (${inner}) AS x ORDER BY id ASC` : inner, args };
}
