import Database from "better-sqlite3";
import { chmodSync, existsSync } from "node:fs";
import { CfError, isCfError } from "../util/errors.js";
import { ensurePrivateDir } from "../util/fs-atomic.js";

/** The page cache of the daemon's database, in KiB (PRAGMA cache_size takes it negated). */
export const CACHE_KIB = 2000;
import { stateLayout } from "../config/paths.js";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

/** SQLite result codes that mean "this file is not a healthy database" (not: busy, locked, permissions). */
const CORRUPT_CODES = new Set([
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_CORRUPT_VTAB",
  "SQLITE_CORRUPT_SEQUENCE",
  "SQLITE_CORRUPT_INDEX",
]);

/**
 * Opens (creating if needed) the state database with WAL and runs pending migrations.
 * Refuses, with a CfError the daemon turns into exit code 2 (so systemd does not restart it in a loop):
 * - `db_too_new`: PRAGMA user_version is above the latest migration this build knows (a newer
 *   claude-failover wrote it; running on it could misread or damage its data);
 * - `db_corrupt`: SQLite says the file is not a database or is damaged, or `PRAGMA quick_check` finds
 *   a problem. Both messages name the file and what to do.
 */
export function openDb(stateDir: string): Db {
  ensurePrivateDir(stateDir);
  const path = stateLayout(stateDir).stateDb;
  const fresh = !existsSync(path);
  let db: Db | null = null;
  try {
    db = new Database(path);
    if (fresh) chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    // SQLite's own default page cache (2 MiB), not better-sqlite3's build default of 16 MiB
    // (deps/defines.gypi SQLITE_DEFAULT_CACHE_SIZE=-16000): the daemon's queries are small and its events
    // log grows all the time, so a 16 MiB cache filled over the first 30-40 minutes of a run and showed as a
    // rising RSS (docs/reliability.md, "RSS").
    db.pragma(`cache_size = -${CACHE_KIB}`);
    if (!fresh) checkHealthy(db, path);
    migrate(db, path);
    return db;
  } catch (e) {
    db?.close();
    if (isCfError(e)) throw e;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CORRUPT_CODES.has(code)) throw corrupt(path, `${code}: ${(e as Error).message}`, e);
    throw e;
  }
}

function corrupt(path: string, what: string, cause?: unknown): CfError {
  return new CfError(
    "db_corrupt",
    `state database ${path} is damaged (${what}); stop here rather than lose more: move it aside (the daemon then starts with an empty one) or restore a backup (docs/operations.md)`,
    { cause },
  );
}

/** `quick_check` reads every page (fast on a state db of a few MB) and reports the first problems. */
function checkHealthy(db: Db, path: string): void {
  const rows = db.pragma("quick_check(5)") as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((m) => m !== "ok");
  if (problems.length) throw corrupt(path, `quick_check: ${problems.join("; ")}`);
}

/** Runs the migrations past PRAGMA user_version; a version above the last one known is refused. */
export function migrate(db: Db, path = "state database"): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new CfError(
      "db_too_new",
      `${path} has schema version ${current}, newer than this claude-failover knows (${MIGRATIONS.length}): a newer version wrote it; run that version, or restore a backup taken before the upgrade`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
