// Versioned schema of the shared store, one list for both backends: entry N is the same change written for
// SQLite and for PostgreSQL, so both stay at the same version and the same tables, columns and meanings.
// Each entry runs once, in order, in a transaction; the table `shared_schema` (one row) records the version
// (not SQLite's PRAGMA user_version, which is the local store's: src/store/migrations.ts). A database at a
// version above this list's length is refused (a newer claude-failover wrote it).
//
// Times are epoch milliseconds (INTEGER / BIGINT). JSON is TEXT in SQLite and JSONB in PostgreSQL.

export interface SharedMigration {
  sqlite: string;
  postgres: string;
}

export const SHARED_MIGRATIONS: SharedMigration[] = [
  // 1: account marks, usage readings per box, box leases, the task queue
  {
    sqlite: `
    CREATE TABLE shared_account_states (
      account TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      until INTEGER,
      reason TEXT,
      box TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE TABLE shared_usage (
      account TEXT NOT NULL,
      box TEXT NOT NULL,
      figures TEXT NOT NULL,
      at INTEGER NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (account, box)
    );
    CREATE TABLE box_leases (
      box TEXT PRIMARY KEY,
      since INTEGER NOT NULL,
      heartbeat_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      info TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE shared_tasks (
      id TEXT PRIMARY KEY,
      origin_box TEXT NOT NULL,
      pin_box TEXT,
      project TEXT NOT NULL,
      prompt TEXT NOT NULL,
      priority INTEGER NOT NULL DEFAULT 0,
      payload TEXT NOT NULL DEFAULT '{}',
      state TEXT NOT NULL,
      box TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      not_before INTEGER,
      result TEXT,
      error TEXT,
      seq INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      claimed_at INTEGER,
      ended_at INTEGER,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX shared_tasks_queue ON shared_tasks(state, priority DESC, seq);
    CREATE INDEX shared_tasks_box ON shared_tasks(box, state);
    `,
    postgres: `
    CREATE TABLE shared_account_states (
      account TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      until BIGINT,
      reason TEXT,
      box TEXT NOT NULL,
      at BIGINT NOT NULL
    );
    CREATE TABLE shared_usage (
      account TEXT NOT NULL,
      box TEXT NOT NULL,
      figures JSONB NOT NULL,
      at BIGINT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (account, box)
    );
    CREATE TABLE box_leases (
      box TEXT PRIMARY KEY,
      since BIGINT NOT NULL,
      heartbeat_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      info JSONB NOT NULL DEFAULT '{}'
    );
    CREATE TABLE shared_tasks (
      id TEXT PRIMARY KEY,
      origin_box TEXT NOT NULL,
      pin_box TEXT,
      project TEXT NOT NULL,
      prompt TEXT NOT NULL,
      priority INTEGER NOT NULL DEFAULT 0,
      payload JSONB NOT NULL DEFAULT '{}',
      state TEXT NOT NULL,
      box TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      not_before BIGINT,
      result TEXT,
      error TEXT,
      seq BIGINT GENERATED ALWAYS AS IDENTITY,
      created_at BIGINT NOT NULL,
      claimed_at BIGINT,
      ended_at BIGINT,
      updated_at BIGINT NOT NULL
    );
    CREATE INDEX shared_tasks_queue ON shared_tasks(state, priority DESC, seq);
    CREATE INDEX shared_tasks_box ON shared_tasks(box, state);
    `,
  },
  // 2: planned-move reservations (issue 19, planning together)
  {
    sqlite: `
    CREATE TABLE shared_reservations (
      id TEXT PRIMARY KEY,
      account TEXT NOT NULL,
      box TEXT NOT NULL,
      session TEXT NOT NULL,
      sessions INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX shared_reservations_account ON shared_reservations(account, expires_at);
    `,
    postgres: `
    CREATE TABLE shared_reservations (
      id TEXT PRIMARY KEY,
      account TEXT NOT NULL,
      box TEXT NOT NULL,
      session TEXT NOT NULL,
      sessions INTEGER NOT NULL DEFAULT 1,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    );
    CREATE INDEX shared_reservations_account ON shared_reservations(account, expires_at);
    `,
  },
  // 3: events, each box's own log mirrored with the box's name (issue 19: "events (with the box name)")
  {
    sqlite: `
    CREATE TABLE shared_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      box TEXT NOT NULL,
      local_id INTEGER,
      ts INTEGER NOT NULL,
      kind TEXT NOT NULL,
      session TEXT,
      account TEXT,
      data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX shared_events_local ON shared_events(box, local_id, ts);
    CREATE INDEX shared_events_box ON shared_events(box, id);
    CREATE INDEX shared_events_ts ON shared_events(ts);
    `,
    postgres: `
    CREATE TABLE shared_events (
      id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      box TEXT NOT NULL,
      local_id BIGINT,
      ts BIGINT NOT NULL,
      kind TEXT NOT NULL,
      session TEXT,
      account TEXT,
      data JSONB NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX shared_events_local ON shared_events(box, local_id, ts);
    CREATE INDEX shared_events_box ON shared_events(box, id);
    CREATE INDEX shared_events_ts ON shared_events(ts);
    `,
  },
];

/** The schema version this build writes. */
export const SHARED_SCHEMA_VERSION = SHARED_MIGRATIONS.length;
