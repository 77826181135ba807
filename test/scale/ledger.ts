// What happened to every prompt and task of a run, from two independent sides: the stand-in API's log
// (which requests carried a marker, and what they were answered: 200 or 429) and the daemon's state
// database (Stop events, that is the answers the CLI showed; swaps; tasks; parks).
import { classifyRateLimit } from "../../src/claude/limit-text.js";
import type Database from "better-sqlite3";
import type { StandInApi } from "../support/stand-in-api.js";

export const MARKER_RE = /soak-[pt]\d{6}/g;

export interface TurnFact {
  /** the request's index in the stand-in's log (`api.requests`): the order in which it was counted */
  seq: number;
  time: number;
  token: string | null;
  status: number;
  markers: string[];
}

/** Indexes the stand-in's turn requests as they come, and drops their bodies so an hour's run stays small. */
export class TurnLog {
  readonly facts: TurnFact[] = [];
  readonly answered = new Map<string, number>();
  readonly refused = new Map<string, number>();
  private scanned = 0;

  constructor(private readonly api: StandInApi) {}

  scan(): void {
    const reqs = this.api.requests;
    for (; this.scanned < reqs.length; this.scanned++) {
      const r = reqs[this.scanned]!;
      if (r.isTurn) {
        const markers = [...new Set(r.userText.match(MARKER_RE) ?? [])];
        this.facts.push({ seq: this.scanned, time: r.time, token: r.token, status: r.status, markers });
        const into = r.status === 200 ? this.answered : r.status === 429 ? this.refused : null;
        for (const m of markers) into?.set(m, (into.get(m) ?? 0) + 1);
      }
      r.body = undefined;
      r.allUserTexts = [];
      r.headers = {};
    }
  }

  answers(marker: string): number {
    this.scan();
    return this.answered.get(marker) ?? 0;
  }
}

export interface SwapFact {
  id: number;
  session: string;
  from: string | null;
  to: string;
  reason: string;
  startedAt: number;
  endedAt: number | null;
  outcome: string | null;
  error: string | null;
}
export interface TaskFact {
  id: string;
  prompt: string;
  state: string;
  attempts: number;
  doneEvents: number;
}
export interface EventFact {
  id: number;
  ts: number;
  kind: string;
  session: string | null;
  account: string | null;
  data: Record<string, unknown>;
}

/** The daemon's own record, read from its SQLite store. */
export class DaemonRecord {
  readonly stops = new Map<string, number>();
  readonly swaps: SwapFact[];
  readonly tasks: TaskFact[];
  readonly limitHits: EventFact[];
  readonly throttleHits: EventFact[];
  /** the limit reactor's `quota.throttle` events (a retry on the same account scheduled) */
  readonly throttles: EventFact[];
  readonly parks: EventFact[];
  readonly resumes: EventFact[];
  /** pool sessions the pool stopped (its task, if any, requeued): a refusal needs no move then */
  readonly poolStops: EventFact[];
  readonly sessions: {
    name: string;
    kind: string;
    state: string;
    account: string | null;
    stateReason: string | null;
  }[];

  constructor(db: Database.Database) {
    for (const e of this.events(db, "kind = 'hook.Stop'")) {
      const msg = typeof e.data.last_assistant_message === "string" ? e.data.last_assistant_message : "";
      for (const m of new Set(msg.match(MARKER_RE) ?? [])) this.stops.set(m, (this.stops.get(m) ?? 0) + 1);
    }
    this.swaps = (db.prepare("SELECT * FROM swaps ORDER BY id").all() as Record<string, unknown>[]).map((r) => ({
      id: Number(r.id),
      session: String(r.session),
      from: (r.from_account as string | null) ?? null,
      to: String(r.to_account),
      reason: String(r.reason),
      startedAt: Number(r.started_at),
      endedAt: r.ended_at === null ? null : Number(r.ended_at),
      outcome: (r.outcome as string | null) ?? null,
      error: (r.error as string | null) ?? null,
    }));
    const done = new Map<string, number>();
    for (const e of this.events(db, "kind = 'task.done'"))
      done.set(String(e.data.id), (done.get(String(e.data.id)) ?? 0) + 1);
    this.tasks = (db.prepare("SELECT id, prompt, state, attempts FROM tasks").all() as Record<string, unknown>[]).map(
      (r) => ({
        id: String(r.id),
        prompt: String(r.prompt),
        state: String(r.state),
        attempts: Number(r.attempts),
        doneEvents: done.get(String(r.id)) ?? 0,
      }),
    );
    // Refusals on quota; a server throttle ("not your usage limit") is retried on the same account instead.
    const refusals = this.events(db, "kind = 'hook.StopFailure'").filter((e) => e.data.error === "rate_limit");
    const throttle = (e: EventFact) =>
      classifyRateLimit(typeof e.data.last_assistant_message === "string" ? e.data.last_assistant_message : null) ===
      "throttle";
    this.limitHits = refusals.filter((e) => !throttle(e));
    this.throttleHits = refusals.filter(throttle);
    this.throttles = this.events(db, "kind = 'quota.throttle'");
    this.parks = this.events(db, "kind = 'session.parked'");
    this.resumes = this.events(db, "kind = 'session.resume'");
    this.poolStops = this.events(db, "kind = 'pool.session_stopped'");
    this.sessions = (
      db.prepare("SELECT name, kind, state, account, state_reason FROM sessions").all() as Record<string, unknown>[]
    ).map((r) => ({
      name: String(r.name),
      kind: String(r.kind),
      state: String(r.state),
      account: (r.account as string | null) ?? null,
      stateReason: (r.state_reason as string | null) ?? null,
    }));
  }

  events(db: Database.Database, where: string, args: unknown[] = []): EventFact[] {
    return (
      db
        .prepare(`SELECT * FROM events WHERE ${where}${where.includes("ORDER BY") ? "" : " ORDER BY id"}`)
        .all(...args) as Record<string, unknown>[]
    ).map((r) => ({
      id: Number(r.id),
      ts: Number(r.ts),
      kind: String(r.kind),
      session: (r.session as string | null) ?? null,
      account: (r.account as string | null) ?? null,
      data: r.data ? (JSON.parse(String(r.data)) as Record<string, unknown>) : {},
    }));
  }

  stopCount(marker: string): number {
    return this.stops.get(marker) ?? 0;
  }
}
