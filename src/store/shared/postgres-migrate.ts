// The shared schema's migrations on PostgreSQL: the same versions as on SQLite (shared-migrations.ts),
// recorded in the one-row table `shared_schema`. Each version runs in its own transaction holding a
// transaction-level advisory lock, so boxes starting at the same time apply each version once (PostgreSQL's
// DDL is transactional: a failed version leaves nothing behind).

import type pg from "pg";
import { CfError } from "../../util/errors.js";
import { SHARED_MIGRATIONS } from "./shared-migrations.js";

/** An arbitrary constant naming "claude-failover's schema migration" among advisory locks. */
const MIGRATION_LOCK = 0x63665f6d; // "cf_m"

/**
 * Brings the database (the role's search_path schema) to SHARED_SCHEMA_VERSION. Throws CfError
 * `db_too_new` when it is at a newer version; connection errors are thrown as they come (the caller wraps them).
 * Returns the version.
 */
export async function migrateSharedPostgres(pool: pg.Pool): Promise<number> {
  for (;;) {
    const c = await pool.connect();
    let applied = false;
    let broken = false;
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await c.query("CREATE TABLE IF NOT EXISTS shared_schema (version INTEGER NOT NULL)");
      let v = (await c.query<{ version: number }>("SELECT version FROM shared_schema")).rows[0]?.version;
      if (v === undefined) {
        await c.query("INSERT INTO shared_schema (version) VALUES (0)");
        v = 0;
      }
      if (v > SHARED_MIGRATIONS.length) {
        throw new CfError(
          "db_too_new",
          `the shared store in PostgreSQL is at schema version ${v}, newer than this claude-failover knows (${SHARED_MIGRATIONS.length}): run the newer version on every box`,
        );
      }
      if (v < SHARED_MIGRATIONS.length) {
        await c.query(SHARED_MIGRATIONS[v]!.postgres);
        await c.query("UPDATE shared_schema SET version = $1", [v + 1]);
        applied = true;
      }
      await c.query("COMMIT");
      if (!applied) return v;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }
}
