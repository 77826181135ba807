// The shared store in PostgreSQL (store.backend: postgres), for several boxes on one account pool. The
// `pg` driver with its Pool (a few connections per box); every method is one transaction. The task claim is
// `SELECT … FOR UPDATE SKIP LOCKED` inside an UPDATE: concurrent claimers on any box each get a different
// task, never the same one, and never wait on each other's locked rows. The connection URL comes from the
// environment (store.postgres_url_env) and is never logged: errors name the database only by "PostgreSQL".

import pg from "pg";
import { CfError } from "../../util/errors.js";
import { migrateSharedPostgres } from "./postgres-migrate.js";
import {
  noticePayload,
  parseNotice,
  SHARED_CHANNEL,
  type SharedListener,
  type SharedNotice,
  type SharedNotifier,
  type SharedTopic,
} from "./shared-notify.js";
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

export interface PostgresSharedStoreOptions {
  /** postgresql://… (from the environment; never logged) */
  url: string;
  box: string;
  /** connections in this box's pool (default 4) */
  poolMax?: number;
  /** how long to wait for a connection before failing (ms, default 5000) */
  connectTimeoutMs?: number;
  /** per statement (ms, default 15000) */
  statementTimeoutMs?: number;
  /** errors of idle connections (the server went away): the pool drops them; this only reports */
  onIdleError?: (message: string) => void;
}

type Q = pg.Pool | pg.PoolClient;

/** Names "claude-failover's move reservations" among advisory locks (the second key is the account's hash). */
const RESERVATION_LOCK = 0x63665f72; // "cf_r"

/**
 * SQLSTATE classes and socket errors that mean "the database cannot be reached now", not a bad statement.
 * ENOTFOUND too: a host name that does not resolve (DNS not up yet at boot) is an outage, not a config error.
 */
export function isUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string") return /timeout|Connection terminated|connect/i.test((e as Error)?.message ?? "");
  return (
    code.startsWith("08") ||
    code.startsWith("57P") ||
    code === "53300" ||
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ENOENT",
      "ETIMEDOUT",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "EPIPE",
      "EAI_AGAIN",
      "ENOTFOUND",
    ].includes(code)
  );
}

function wrap(e: unknown): unknown {
  if (e instanceof CfError) return e;
  if (isUnavailable(e)) {
    return new CfError("shared_store_unavailable", `shared store (PostgreSQL) unreachable: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return e;
}

export class PostgresSharedStore implements SharedStore, SharedNotifier {
  readonly backend = "postgres" as const;

  private constructor(
    private readonly pool: pg.Pool,
    readonly box: string,
    /** how a connection of its own is made (the LISTEN connection): the pool's settings */
    private readonly clientConfig: pg.ClientConfig,
  ) {}

  /**
   * Connects (a pool; the first connection is made now), brings the schema to SHARED_SCHEMA_VERSION under an
   * advisory lock (two boxes starting at once migrate once), and returns the store. Rejects with CfError
   * `shared_store_unavailable` when the server cannot be reached, `db_too_new` when its schema is newer.
   */
  static async open(o: PostgresSharedStoreOptions): Promise<PostgresSharedStore> {
    const clientConfig: pg.ClientConfig = {
      connectionString: o.url,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
      statement_timeout: o.statementTimeoutMs ?? 15_000,
      application_name: `claude-failover/${o.box}`.slice(0, 63),
    };
    const pool = new pg.Pool({ ...clientConfig, max: o.poolMax ?? 4, idleTimeoutMillis: 30_000 });
    // Without a listener an idle connection's error (server restart) would be an uncaught exception.
    pool.on("error", (e) => o.onIdleError?.(e.message));
    try {
      await migrateSharedPostgres(pool);
    } catch (e) {
      await pool.end().catch(() => {});
      throw wrap(e);
    }
    return new PostgresSharedStore(pool, o.box, clientConfig);
  }

  // ---- change notices (shared-notify.ts): NOTIFY on every write another box acts on, LISTEN on a connection
  // of its own. A notice sent with `on` a transaction's client is delivered at its commit (never for a
  // rollback); sent on the pool, right after the write it follows. A notice that fails is dropped: the
  // write stands, and the other boxes' polled rounds read it anyway.
  private async notify(topic: SharedTopic, on: Q = this.pool): Promise<void> {
    try {
      await on.query("SELECT pg_notify($1, $2)", [SHARED_CHANNEL, noticePayload({ topic, box: this.box })]);
    } catch (e) {
      if (on !== this.pool) throw e; // inside a transaction: the transaction fails like any statement
    }
  }

  async listen(onNotice: (n: SharedNotice) => void, onLost: (err: string) => void): Promise<SharedListener> {
    const c = new pg.Client(this.clientConfig);
    let ended = false;
    const lost = (err: string) => {
      if (ended) return;
      ended = true;
      onLost(err);
    };
    c.on("error", (e) => lost(e.message)); // the server went away: also ends the client
    c.on("end", () => lost("connection ended"));
    c.on("notification", (m) => {
      if (m.channel !== SHARED_CHANNEL) return;
      const n = parseNotice(m.payload);
      if (n) onNotice(n);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${SHARED_CHANNEL}`);
    } catch (e) {
      ended = true;
      await c.end().catch(() => {});
      throw wrap(e);
    }
    return {
      close: async () => {
        ended = true;
        await c.end().catch(() => {});
      },
    };
  }

  private async q(sql: string, args: unknown[] = [], on: Q = this.pool): Promise<pg.QueryResult<Row>> {
    try {
      return await on.query<Row>(sql, args);
    } catch (e) {
      throw wrap(e);
    }
  }
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw wrap(e);
    }
    let broken = false;
    // A checked-out client whose connection dies (the server stopped mid-transaction) emits `error`: without
    // a listener that is an uncaught exception (the pool listens only to idle clients). The query in flight
    // rejects as well, which is what the caller sees.
    const onError = () => {
      broken = true;
    };
    c.on("error", onError);
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      try {
        await c.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw wrap(e);
    } finally {
      c.off("error", onError);
      c.release(broken);
    }
  }

  // ---- account states
  async setAccountState(
    account: string,
    state: SharedAccountStateName,
    until: number | null,
    reason: string | null,
    now: number,
  ): Promise<boolean> {
    checkAccountState(state);
    const r = await this.q(
      `INSERT INTO shared_account_states (account, state, until, reason, box, at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account) DO UPDATE SET state = excluded.state, until = excluded.until, reason = excluded.reason, box = excluded.box, at = excluded.at
       WHERE excluded.at >= shared_account_states.at`,
      [account, state, until, reason, this.box, now],
    );
    if ((r.rowCount ?? 0) === 0) return false;
    await this.notify("marks");
    return true;
  }
  async clearAccountState(account: string, now: number): Promise<boolean> {
    const r = await this.q("DELETE FROM shared_account_states WHERE account = $1 AND at <= $2", [account, now]);
    if ((r.rowCount ?? 0) === 0) return false;
    await this.notify("marks");
    return true;
  }
  async getAccountState(account: string, now: number): Promise<SharedAccountState | undefined> {
    const r = await this.q("SELECT * FROM shared_account_states WHERE account = $1 AND (until IS NULL OR until > $2)", [
      account,
      now,
    ]);
    return r.rows[0] ? toAccountState(r.rows[0]) : undefined;
  }
  async listAccountStates(now: number): Promise<SharedAccountState[]> {
    return (
      await this.q("SELECT * FROM shared_account_states WHERE until IS NULL OR until > $1 ORDER BY account", [now])
    ).rows.map(toAccountState);
  }

  // ---- usage
  async putUsage(account: string, figures: unknown, at: number, source: string): Promise<boolean> {
    const r = await this.q(
      `INSERT INTO shared_usage (account, box, figures, at, source) VALUES ($1, $2, $3::jsonb, $4, $5)
       ON CONFLICT (account, box) DO UPDATE SET figures = excluded.figures, at = excluded.at, source = excluded.source
       WHERE excluded.at > shared_usage.at`,
      [account, this.box, JSON.stringify(figures ?? null), at, source],
    );
    return (r.rowCount ?? 0) > 0;
  }
  async latestUsage(): Promise<SharedUsage[]> {
    return (await this.q(LATEST_USAGE_SQL)).rows.map(toUsage);
  }
  async usageByBox(account: string): Promise<SharedUsage[]> {
    return (await this.q("SELECT * FROM shared_usage WHERE account = $1 ORDER BY at DESC, box", [account])).rows.map(
      toUsage,
    );
  }

  // ---- leases
  async heartbeat(now: number, ttlMs: number, info: Record<string, unknown> = {}): Promise<HeartbeatResult> {
    checkTtl(ttlMs);
    return this.tx(async (c) => {
      const prev = (await c.query<Row>("SELECT * FROM box_leases WHERE box = $1 FOR UPDATE", [this.box])).rows[0];
      const lapsed = prev !== undefined && Number(prev.expires_at) <= now;
      const since = prev && !lapsed ? Number(prev.since) : now;
      const r = await c.query<Row>(
        `INSERT INTO box_leases (box, since, heartbeat_at, expires_at, info) VALUES ($1, $2, $3, $4, $5::jsonb)
         ON CONFLICT (box) DO UPDATE SET since = excluded.since, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, info = excluded.info
         RETURNING *`,
        [this.box, since, now, now + ttlMs, JSON.stringify(info)],
      );
      return { lease: toLease(r.rows[0]!), lapsed };
    });
  }
  async leases(): Promise<BoxLease[]> {
    return (await this.q("SELECT * FROM box_leases ORDER BY box")).rows.map(toLease);
  }
  async releaseLease(): Promise<void> {
    await this.q("DELETE FROM box_leases WHERE box = $1", [this.box]);
  }

  // ---- tasks
  async enqueueTask(d: SharedTaskDraft, now: number): Promise<SharedTask> {
    return this.tx(async (c) => {
      await c.query(
        `INSERT INTO shared_tasks (id, origin_box, pin_box, project, prompt, priority, payload, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'queued', $8, $8) ON CONFLICT (id) DO NOTHING`,
        [d.id, this.box, d.pinBox, d.project, d.prompt, d.priority, JSON.stringify(d.payload), now],
      );
      await this.notify("tasks", c);
      return toTask((await c.query<Row>("SELECT * FROM shared_tasks WHERE id = $1", [d.id])).rows[0]!);
    });
  }
  async claimTask(now: number, opts: { projects?: readonly string[] } = {}): Promise<TaskClaim | null> {
    return this.tx(async (c) => {
      // The lease row is read with FOR SHARE: a concurrent releaseLease waits for this claim to commit.
      const l = (await c.query<Row>("SELECT expires_at FROM box_leases WHERE box = $1 FOR SHARE", [this.box])).rows[0];
      if (!l || Number(l.expires_at) <= now) throw leaseLapsed(this.box);
      const r = await c.query<Row>(
        `UPDATE shared_tasks SET state = 'running', box = $2, attempts = attempts + 1, claimed_at = $1, not_before = NULL, updated_at = $1
         WHERE id = (
           SELECT id FROM shared_tasks
           WHERE state = 'queued' AND (not_before IS NULL OR not_before <= $1) AND (pin_box IS NULL OR pin_box = $2)
             AND ($3::text[] IS NULL OR project = ANY($3::text[]))
           ORDER BY priority DESC, seq ASC
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now, this.box, opts.projects === undefined ? null : [...opts.projects]],
      );
      if (!r.rows[0]) return null;
      const task = toTask(r.rows[0]);
      return { task, claim: task.attempts };
    });
  }
  async completeTask(
    id: string,
    claim: number,
    outcome: { state: "done"; result: string } | { state: "failed"; error: string },
    now: number,
  ): Promise<boolean> {
    const r = await this.q(
      `UPDATE shared_tasks SET state = $1, result = $2, error = $3, ended_at = $4, updated_at = $4
       WHERE id = $5 AND state = 'running' AND box = $6 AND attempts = $7`,
      [
        outcome.state,
        outcome.state === "done" ? outcome.result : null,
        outcome.state === "failed" ? outcome.error : null,
        now,
        id,
        this.box,
        claim,
      ],
    );
    if ((r.rowCount ?? 0) === 0) return false;
    await this.notify("tasks");
    return true;
  }
  async releaseTask(
    id: string,
    claim: number,
    notBefore: number | null,
    error: string | null,
    now: number,
  ): Promise<boolean> {
    const r = await this.q(
      `UPDATE shared_tasks SET state = 'queued', not_before = $1, error = $2, updated_at = $3
       WHERE id = $4 AND state = 'running' AND box = $5 AND attempts = $6`,
      [notBefore, error, now, id, this.box, claim],
    );
    if ((r.rowCount ?? 0) === 0) return false;
    await this.notify("tasks");
    return true;
  }
  async cancelTask(id: string, reason: string, now: number): Promise<boolean> {
    const r = await this.q(
      "UPDATE shared_tasks SET state = 'cancelled', error = $1, ended_at = $2, updated_at = $2 WHERE id = $3 AND state IN ('queued', 'running')",
      [reason, now, id],
    );
    if ((r.rowCount ?? 0) === 0) return false;
    await this.notify("tasks");
    return true;
  }
  async requeueLapsed(now: number): Promise<RequeuedTask[]> {
    return this.tx(async (c) => {
      // Rows another requeuer (or the task's own runner) has locked are skipped: that one decides them.
      const rows = (
        await c.query<Row>(
          `SELECT t.id, t.box, l.expires_at FROM shared_tasks t LEFT JOIN box_leases l ON l.box = t.box
         WHERE t.state = 'running' AND (l.box IS NULL OR l.expires_at <= $1)
         ORDER BY t.seq FOR UPDATE OF t SKIP LOCKED`,
          [now],
        )
      ).rows;
      const out: RequeuedTask[] = [];
      for (const r of rows) {
        const u = await c.query(
          "UPDATE shared_tasks SET state = 'queued', error = $1, updated_at = $2 WHERE id = $3 AND state = 'running'",
          [lapsedNote(String(r.box), r.expires_at), now, r.id],
        );
        if ((u.rowCount ?? 0) > 0) out.push({ id: String(r.id), box: String(r.box) });
      }
      if (out.length) await this.notify("tasks", c);
      return out;
    });
  }
  async getTask(id: string): Promise<SharedTask | undefined> {
    const r = await this.q("SELECT * FROM shared_tasks WHERE id = $1", [id]);
    return r.rows[0] ? toTask(r.rows[0]) : undefined;
  }
  async getTasks(ids: readonly string[]): Promise<SharedTask[]> {
    if (!ids.length) return [];
    return (await this.q("SELECT * FROM shared_tasks WHERE id = ANY($1::text[])", [[...ids]])).rows.map(toTask);
  }
  async listTasks(states?: readonly SharedTaskState[]): Promise<SharedTask[]> {
    const r = await this.q(
      "SELECT * FROM shared_tasks WHERE ($1::text[] IS NULL OR state = ANY($1::text[])) ORDER BY priority DESC, seq ASC",
      [states === undefined ? null : [...states]],
    );
    return r.rows.map(toTask);
  }

  // ---- planned-move reservations
  async reserveMove(d: MoveReservationDraft, now: number): Promise<ReserveResult> {
    checkTtl(d.ttlMs);
    return this.tx(async (c) => {
      // One reserver per account at a time, on every box: the sum read below cannot change before the insert.
      await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [RESERVATION_LOCK, d.account]);
      await c.query(`DELETE FROM shared_reservations WHERE ${deadReservationsWhere("$1", "$2")}`, [now, this.box]);
      const held = Number(
        (
          await c.query<Row>(
            "SELECT COALESCE(SUM(sessions), 0) AS held FROM shared_reservations WHERE account = $1 AND id <> $2",
            [d.account, d.id],
          )
        ).rows[0]!.held,
      );
      if (!reservationFits(held, d.capacity)) return { ok: false, held };
      const r = await c.query<Row>(
        `INSERT INTO shared_reservations (id, account, box, session, sessions, created_at, expires_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6)
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at RETURNING *`,
        [d.id, d.account, this.box, d.session, now, now + d.ttlMs],
      );
      await this.notify("reservations", c);
      return { ok: true, reservation: toReservation(r.rows[0]!), held };
    });
  }
  async endReservation(id: string, keepUntil: number | null, now: number): Promise<boolean> {
    const r =
      keepUntil === null
        ? await this.q("DELETE FROM shared_reservations WHERE id = $1 AND box = $2", [id, this.box])
        : await this.q(
            "UPDATE shared_reservations SET expires_at = $1 WHERE id = $2 AND box = $3 AND expires_at > $4",
            [keepUntil, id, this.box, now],
          );
    if ((r.rowCount ?? 0) === 0) return false;
    if (keepUntil === null) await this.notify("reservations"); // room freed; a kept one changes no count
    return true;
  }
  async listReservations(now: number): Promise<MoveReservation[]> {
    return (
      await this.q(
        `SELECT * FROM shared_reservations WHERE NOT ${deadReservationsWhere("$1", "$2")} ORDER BY account, created_at, id`,
        [now, this.box],
      )
    ).rows.map(toReservation);
  }

  // ---- events (each box's own log mirrored with its name; boxes/shared-events.ts writes them in batches)
  async appendEvents(events: readonly SharedEventDraft[]): Promise<number> {
    if (!events.length) return 0;
    // One statement for the batch (atomic without a transaction): the columns as arrays, in the given order.
    const r = await this.q(
      `INSERT INTO shared_events (box, local_id, ts, kind, session, account, data)
       SELECT $1, e.local_id, e.ts, e.kind, e.session, e.account, e.data::jsonb
       FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
         WITH ORDINALITY AS e(local_id, ts, kind, session, account, data, n)
       ORDER BY e.n
       ON CONFLICT (box, local_id, ts) DO NOTHING`,
      [
        this.box,
        events.map((e) => e.localId),
        events.map((e) => e.ts),
        events.map((e) => storableText(e.kind)),
        events.map((e) => storableTextOrNull(e.session)),
        events.map((e) => storableTextOrNull(e.account)),
        events.map((e) => eventDataJson(e.data)),
      ],
    );
    return r.rowCount ?? 0;
  }
  async readEvents(q: SharedEventQuery): Promise<SharedEvent[]> {
    checkEventQuery(q);
    const { sql, args } = eventsQuery(q, "postgres");
    return (await this.q(sql, args)).rows.map(toSharedEvent);
  }
  async pruneEvents(before: number, maxRowsPerBox: number): Promise<number> {
    checkMaxRows(maxRowsPerBox);
    return this.tx(async (c) => {
      let n = (await c.query("DELETE FROM shared_events WHERE ts < $1", [before])).rowCount ?? 0;
      for (const r of (await c.query<Row>("SELECT DISTINCT box FROM shared_events")).rows) {
        const d = await c.query(
          "DELETE FROM shared_events WHERE box = $1 AND id <= (SELECT id FROM shared_events WHERE box = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
          [r.box, maxRowsPerBox],
        );
        n += d.rowCount ?? 0;
      }
      return n;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
