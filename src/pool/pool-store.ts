import type { Db } from "../store/db.js";

/** A pool session as the pool records it (table `pool_sessions`, beside its row in `sessions`). */
export interface PoolSessionRow {
  name: string;
  project: string;
  model: string | null;
  /** false once a task ran in its conversation, true again after a confirmed /clear */
  clean: boolean;
  createdAt: number;
}

type Row = Record<string, unknown>;

/** The pool's own table, `pool_sessions`: which sessions are the pool's, their project and model, clean or not. */
export class PoolStore {
  constructor(private readonly db: Db) {}

  /** Every pool session, by name. */
  list(): PoolSessionRow[] {
    return (this.db.prepare("SELECT * FROM pool_sessions ORDER BY name").all() as Row[]).map((r) => ({
      name: r.name as string,
      project: r.project as string,
      model: (r.model as string | null) ?? null,
      clean: Boolean(r.clean),
      createdAt: r.created_at as number,
    }));
  }

  /** Records a session (a new one, or a name reused), created at `now` (epoch ms). */
  put(s: Omit<PoolSessionRow, "createdAt">, now: number): void {
    this.db
      .prepare(
        "INSERT INTO pool_sessions (name, project, model, clean, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET project = excluded.project, model = excluded.model, clean = excluded.clean, created_at = excluded.created_at",
      )
      .run(s.name, s.project, s.model, s.clean ? 1 : 0, now);
  }

  setClean(name: string, clean: boolean): void {
    this.db.prepare("UPDATE pool_sessions SET clean = ? WHERE name = ?").run(clean ? 1 : 0, name);
  }

  delete(name: string): void {
    this.db.prepare("DELETE FROM pool_sessions WHERE name = ?").run(name);
  }
}
