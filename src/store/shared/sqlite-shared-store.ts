// The shared store in the box's own SQLite file (store.backend: sqlite, the default): one box, so "shared"
// means shared with itself, and the behaviour is that of the PostgreSQL backend (test/support/shared-store-cases.ts
// runs the same cases on both). better-sqlite3 is synchronous: each method is one transaction that runs to
// its end before the promise settles, so nothing interleaves within a process; across connections to the
// same file, claims run in BEGIN IMMEDIATE transactions (SQLite's single writer) and stay exactly-once.

import { CfError } from "../../util/errors.js";
import type { Db } from "../db.js";
import { SHARED_MIGRATIONS } from "./shared-migrations.js";
import {
  LATEST_USAGE_SQL,
  checkAccountState,
  checkEventQuery,
  checkMaxRows,
  checkTtl,
  deadReservationsWhere,
  eventDataJson,
  eventsQuery,
  lapsedNote,
  leaseLapsed,
  reservationFits,
  storableText,
  storableTextOrNull,
  toAccountState,
  toLease,
  toReservation,
  toSharedEvent,
  toTask,
  toUsage,
  type Row,
} from "./shared-rows.js";
import type {
  BoxLease,
  HeartbeatResult,
  MoveReservation,
  MoveReservationDraft,
  RequeuedTask,
  ReserveResult,
  SharedAccountState,
  SharedAccountStateName,
  SharedEvent,
  SharedEventDraft,
  SharedEventQuery,
  SharedStore,
  SharedTask,
  SharedTaskDraft,
  SharedTaskState,
  SharedUsage,
  TaskClaim,
} from "./shared-types.js";

/**
 * Brings the shared tables of a SQLite database to SHARED_SCHEMA_VERSION (table `shared_schema`, not
 * PRAGMA user_version). Throws CfError `db_too_new` when the file is at a newer version. Returns the version.
 */
export function migrateSharedSqlite(db: Db): number {
  return db
    .transaction(() => {
      db.exec("CREATE TABLE IF NOT EXISTS shared_schema (version INTEGER NOT NULL)");
      let row = db.prepare("SELECT version FROM shared_schema").get() as { version: number } | undefined;
      if (!row) {
        db.prepare("INSERT INTO shared_schema (version) VALUES (0)").run();
        row = { version: 0 };
      }
      if (row.version > SHARED_MIGRATIONS.length) {
        throw new CfError(
          "db_too_new",
          `the shared tables of ${db.name} are at version ${row.version}, newer than this claude-failover knows (${SHARED_MIGRATIONS.length}): run the newer version`,
        );
      }
      for (let v = row.version; v < SHARED_MIGRATIONS.length; v++) {
        db.exec(SHARED_MIGRATIONS[v]!.sqlite);
        db.prepare("UPDATE shared_schema SET version = ?").run(v + 1);
      }
      return SHARED_MIGRATIONS.length;
    })
    .immediate();
}

export class SqliteSharedStore implements SharedStore {
  readonly backend = "sqlite" as const;

  /**
   * `db`: an open better-sqlite3 handle (the daemon's state.db, or a second connection to it); the shared
   * tables are migrated here. `box`: this box's name. `closeDb`: close the handle in `close()` (only when
   * this store opened it).
   */
  constructor(
    private readonly db: Db,
    readonly box: string,
    private readonly closeDb = false,
  ) {
    migrateSharedSqlite(db);
  }

  private all(sql: string, ...args: unknown[]): Row[] {
    return this.db.prepare(sql).all(...args) as Row[];
  }
  private one(sql: string, ...args: unknown[]): Row | undefined {
    return this.db.prepare(sql).get(...args) as Row | undefined;
  }
  private run(sql: string, ...args: unknown[]): number {
    return this.db.prepare(sql).run(...args).changes;
  }
  /** One write transaction taken at its start (BEGIN IMMEDIATE), so a read-then-write cannot race another connection. */
  private tx<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.db.transaction(fn).immediate());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
  private read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  // ---- account states
  setAccountState(
    account: string,
    state: SharedAccountStateName,
    until: number | null,
    reason: string | null,
    now: number,
  ): Promise<boolean> {
    return this.tx(() => {
      checkAccountState(state);
      return (
        this.run(
          `INSERT INTO shared_account_states (account, state, until, reason, box, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(account) DO UPDATE SET state = excluded.state, until = excluded.until, reason = excluded.reason, box = excluded.box, at = excluded.at
       WHERE excluded.at >= shared_account_states.at`,
          account,
          state,
          until,
          reason,
          this.box,
          now,
        ) > 0
      );
    });
  }
  clearAccountState(account: string, now: number): Promise<boolean> {
    return this.tx(() => this.run("DELETE FROM shared_account_states WHERE account = ? AND at <= ?", account, now) > 0);
  }
  getAccountState(account: string, now: number): Promise<SharedAccountState | undefined> {
    return this.read(() => {
      const r = this.one(
        "SELECT * FROM shared_account_states WHERE account = ? AND (until IS NULL OR until > ?)",
        account,
        now,
      );
      return r ? toAccountState(r) : undefined;
    });
  }
  listAccountStates(now: number): Promise<SharedAccountState[]> {
    return this.read(() =>
      this.all("SELECT * FROM shared_account_states WHERE until IS NULL OR until > ? ORDER BY account", now).map(
        toAccountState,
      ),
    );
  }

  // ---- usage
  putUsage(account: string, figures: unknown, at: number, source: string): Promise<boolean> {
    return this.tx(
      () =>
        this.run(
          `INSERT INTO shared_usage (account, box, figures, at, source) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(account, box) DO UPDATE SET figures = excluded.figures, at = excluded.at, source = excluded.source
       WHERE excluded.at > shared_usage.at`,
          account,
          this.box,
          JSON.stringify(figures ?? null),
          at,
          source,
        ) > 0,
    );
  }
  latestUsage(): Promise<SharedUsage[]> {
    return this.read(() => this.all(LATEST_USAGE_SQL).map(toUsage));
  }
  usageByBox(account: string): Promise<SharedUsage[]> {
    return this.read(() =>
      this.all("SELECT * FROM shared_usage WHERE account = ? ORDER BY at DESC, box", account).map(toUsage),
    );
  }

  // ---- leases
  heartbeat(now: number, ttlMs: number, info: Record<string, unknown> = {}): Promise<HeartbeatResult> {
    return this.tx(() => {
      checkTtl(ttlMs);
      const prev = this.one("SELECT * FROM box_leases WHERE box = ?", this.box);
      const lapsed = prev !== undefined && Number(prev.expires_at) <= now;
      const since = prev && !lapsed ? Number(prev.since) : now;
      this.run(
        `INSERT INTO box_leases (box, since, heartbeat_at, expires_at, info) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(box) DO UPDATE SET since = excluded.since, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, info = excluded.info`,
        this.box,
        since,
        now,
        now + ttlMs,
        JSON.stringify(info),
      );
      return { lease: toLease(this.one("SELECT * FROM box_leases WHERE box = ?", this.box)!), lapsed };
    });
  }
  leases(): Promise<BoxLease[]> {
    return this.read(() => this.all("SELECT * FROM box_leases ORDER BY box").map(toLease));
  }
  releaseLease(): Promise<void> {
    return this.tx(() => {
      this.run("DELETE FROM box_leases WHERE box = ?", this.box);
    });
  }

  // ---- tasks
  enqueueTask(d: SharedTaskDraft, now: number): Promise<SharedTask> {
    return this.tx(() => {
      if (!this.one("SELECT 1 FROM shared_tasks WHERE id = ?", d.id)) {
        const { seq } = this.one("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM shared_tasks")! as { seq: number };
        this.run(
          `INSERT INTO shared_tasks (id, origin_box, pin_box, project, prompt, priority, payload, state, seq, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
          d.id,
          this.box,
          d.pinBox,
          d.project,
          d.prompt,
          d.priority,
          JSON.stringify(d.payload),
          seq,
          now,
          now,
        );
      }
      return toTask(this.one("SELECT * FROM shared_tasks WHERE id = ?", d.id)!);
    });
  }
  claimTask(now: number, opts: { projects?: readonly string[] } = {}): Promise<TaskClaim | null> {
    return this.tx(() => {
      this.assertLease(now);
      const projects = opts.projects === undefined ? null : JSON.stringify(opts.projects);
      const next = this.one(
        `SELECT id FROM shared_tasks
         WHERE state = 'queued' AND (not_before IS NULL OR not_before <= ?) AND (pin_box IS NULL OR pin_box = ?)
           AND (? IS NULL OR project IN (SELECT value FROM json_each(?)))
         ORDER BY priority DESC, seq ASC LIMIT 1`,
        now,
        this.box,
        projects,
        projects,
      );
      if (!next) return null;
      this.run(
        "UPDATE shared_tasks SET state = 'running', box = ?, attempts = attempts + 1, claimed_at = ?, not_before = NULL, updated_at = ? WHERE id = ?",
        this.box,
        now,
        now,
        next.id,
      );
      const task = toTask(this.one("SELECT * FROM shared_tasks WHERE id = ?", next.id)!);
      return { task, claim: task.attempts };
    });
  }
  private assertLease(now: number): void {
    const l = this.one("SELECT expires_at FROM box_leases WHERE box = ?", this.box);
    if (!l || Number(l.expires_at) <= now) throw leaseLapsed(this.box);
  }
  completeTask(
    id: string,
    claim: number,
    outcome: { state: "done"; result: string } | { state: "failed"; error: string },
    now: number,
  ): Promise<boolean> {
    return this.tx(
      () =>
        this.run(
          `UPDATE shared_tasks SET state = ?, result = ?, error = ?, ended_at = ?, updated_at = ?
       WHERE id = ? AND state = 'running' AND box = ? AND attempts = ?`,
          outcome.state,
          outcome.state === "done" ? outcome.result : null,
          outcome.state === "failed" ? outcome.error : null,
          now,
          now,
          id,
          this.box,
          claim,
        ) > 0,
    );
  }
  releaseTask(
    id: string,
    claim: number,
    notBefore: number | null,
    error: string | null,
    now: number,
  ): Promise<boolean> {
    return this.tx(
      () =>
        this.run(
          `UPDATE shared_tasks SET state = 'queued', not_before = ?, error = ?, updated_at = ?
       WHERE id = ? AND state = 'running' AND box = ? AND attempts = ?`,
          notBefore,
          error,
          now,
          id,
          this.box,
          claim,
        ) > 0,
    );
  }
  cancelTask(id: string, reason: string, now: number): Promise<boolean> {
    return this.tx(
      () =>
        this.run(
          "UPDATE shared_tasks SET state = 'cancelled', error = ?, ended_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')",
          reason,
          now,
          now,
          id,
        ) > 0,
    );
  }
  requeueLapsed(now: number): Promise<RequeuedTask[]> {
    return this.tx(() => {
      const rows = this.all(
        `SELECT t.id, t.box, l.expires_at FROM shared_tasks t LEFT JOIN box_leases l ON l.box = t.box
         WHERE t.state = 'running' AND (l.box IS NULL OR l.expires_at <= ?) ORDER BY t.seq`,
        now,
      );
      for (const r of rows) {
        this.run(
          "UPDATE shared_tasks SET state = 'queued', error = ?, updated_at = ? WHERE id = ? AND state = 'running'",
          lapsedNote(String(r.box), r.expires_at),
          now,
          r.id,
        );
      }
      return rows.map((r) => ({ id: String(r.id), box: String(r.box) }));
    });
  }
  getTask(id: string): Promise<SharedTask | undefined> {
    return this.read(() => {
      const r = this.one("SELECT * FROM shared_tasks WHERE id = ?", id);
      return r ? toTask(r) : undefined;
    });
  }
  getTasks(ids: readonly string[]): Promise<SharedTask[]> {
    return this.read(() =>
      this.all("SELECT * FROM shared_tasks WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).map(
        toTask,
      ),
    );
  }
  listTasks(states?: readonly SharedTaskState[]): Promise<SharedTask[]> {
    return this.read(() => {
      const s = states === undefined ? null : JSON.stringify(states);
      return this.all(
        "SELECT * FROM shared_tasks WHERE (? IS NULL OR state IN (SELECT value FROM json_each(?))) ORDER BY priority DESC, seq ASC",
        s,
        s,
      ).map(toTask);
    });
  }

  // ---- planned-move reservations (one box: the same arithmetic, serialised by BEGIN IMMEDIATE)
  reserveMove(d: MoveReservationDraft, now: number): Promise<ReserveResult> {
    return this.tx((): ReserveResult => {
      checkTtl(d.ttlMs);
      this.run(`DELETE FROM shared_reservations WHERE ${deadReservationsWhere("?", "?")}`, now, this.box, now);
      const held = Number(
        this.one(
          "SELECT COALESCE(SUM(sessions), 0) AS held FROM shared_reservations WHERE account = ? AND id <> ?",
          d.account,
          d.id,
        )!.held,
      );
      if (!reservationFits(held, d.capacity)) return { ok: false, held };
      this.run(
        `INSERT INTO shared_reservations (id, account, box, session, sessions, created_at, expires_at)
         VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT(id) DO UPDATE SET expires_at = excluded.expires_at`,
        d.id,
        d.account,
        this.box,
        d.session,
        now,
        now + d.ttlMs,
      );
      return {
        ok: true,
        reservation: toReservation(this.one("SELECT * FROM shared_reservations WHERE id = ?", d.id)!),
        held,
      };
    });
  }
  endReservation(id: string, keepUntil: number | null, now: number): Promise<boolean> {
    return this.tx(() =>
      keepUntil === null
        ? this.run("DELETE FROM shared_reservations WHERE id = ? AND box = ?", id, this.box) > 0
        : this.run(
            "UPDATE shared_reservations SET expires_at = ? WHERE id = ? AND box = ? AND expires_at > ?",
            keepUntil,
            id,
            this.box,
            now,
          ) > 0,
    );
  }
  listReservations(now: number): Promise<MoveReservation[]> {
    return this.read(() =>
      this.all(
        `SELECT * FROM shared_reservations WHERE NOT ${deadReservationsWhere("?", "?")} ORDER BY account, created_at, id`,
        now,
        this.box,
        now,
      ).map(toReservation),
    );
  }

  // ---- events
  appendEvents(events: readonly SharedEventDraft[]): Promise<number> {
    return this.tx(() => {
      const ins = this.db.prepare(
        `INSERT INTO shared_events (box, local_id, ts, kind, session, account, data) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(box, local_id, ts) DO NOTHING`,
      );
      let n = 0;
      for (const e of events) {
        n += ins.run(
          this.box,
          e.localId,
          e.ts,
          storableText(e.kind),
          storableTextOrNull(e.session),
          storableTextOrNull(e.account),
          eventDataJson(e.data),
        ).changes;
      }
      return n;
    });
  }
  readEvents(q: SharedEventQuery): Promise<SharedEvent[]> {
    return this.read(() => {
      checkEventQuery(q);
      const { sql, args } = eventsQuery(q, "sqlite");
      return this.all(sql, ...args).map(toSharedEvent);
    });
  }
  pruneEvents(before: number, maxRowsPerBox: number): Promise<number> {
    return this.tx(() => {
      checkMaxRows(maxRowsPerBox);
      let n = this.run("DELETE FROM shared_events WHERE ts < ?", before);
      for (const r of this.all("SELECT DISTINCT box FROM shared_events")) {
        n += this.run(
          "DELETE FROM shared_events WHERE box = ? AND id <= (SELECT id FROM shared_events WHERE box = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
          r.box,
          r.box,
          maxRowsPerBox,
        );
      }
      return n;
    });
  }

  close(): Promise<void> {
    if (this.closeDb && this.db.open) this.db.close();
    return Promise.resolve();
  }
}
