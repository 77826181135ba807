import Database from "better-sqlite3";
import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ensurePrivateDir } from "../util/fs-atomic.js";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

// Opens (creating if needed) the state database with WAL and runs pending migrations.
export function openDb(stateDir: string): Db {
  ensurePrivateDir(stateDir);
  const path = join(stateDir, "state.db");
  const fresh = !existsSync(path);
  const db = new Database(path);
  if (fresh) chmodSync(path, 0o600);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
