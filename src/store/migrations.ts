// Versioned schema: each entry runs once, in order, inside a transaction; PRAGMA user_version records progress.
export const MIGRATIONS: string[] = [
  // 1: core tables
  `
  CREATE TABLE accounts (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'active',
    state_until INTEGER,
    state_reason TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    account TEXT,
    claude_session_id TEXT,
    transcript_path TEXT,
    state TEXT NOT NULL,
    state_reason TEXT,
    last_prompt TEXT,
    last_prompt_at INTEGER,
    last_prompt_answered INTEGER NOT NULL DEFAULT 0,
    failed_prompt TEXT,
    last_activity INTEGER,
    last_move_at INTEGER,
    parked_until INTEGER,
    restarts INTEGER NOT NULL DEFAULT 0,
    started INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    session TEXT,
    account TEXT,
    data TEXT
  );
  CREATE INDEX events_ts ON events(ts);
  CREATE TABLE prompts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    session TEXT NOT NULL,
    account TEXT NOT NULL
  );
  CREATE INDEX prompts_account_ts ON prompts(account, ts);
  CREATE TABLE swaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    from_account TEXT,
    to_account TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    step TEXT NOT NULL DEFAULT 'locked',
    outcome TEXT,
    error TEXT,
    steps TEXT NOT NULL DEFAULT '[]',
    resend TEXT
  );
  CREATE INDEX swaps_session ON swaps(session, id);
  `,
  // 2: usage figures per account (last-known-good) and the spool apply cursor
  `
  CREATE TABLE usage (
    account TEXT PRIMARY KEY,
    figures TEXT NOT NULL,
    fetched_at INTEGER,
    source TEXT NOT NULL,
    error TEXT,
    error_at INTEGER,
    next_poll_at INTEGER,
    backoff_ms INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 3: tasks for the inbox and the autonomous pool
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    project TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    account TEXT,
    model TEXT,
    prompt TEXT NOT NULL,
    state TEXT NOT NULL,
    session TEXT,
    account_used TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    result_path TEXT,
    error TEXT,
    not_before INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    seq INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX tasks_hash ON tasks(content_hash);
  CREATE INDEX tasks_state ON tasks(state, priority, seq);
  `,
  // 4: inbox intake and the pool. The same content may be queued again later (a cron job's daily file), so
  // the content hash is no longer unique: idempotence is on the id, or on (intake_file, hash) while the
  // file has not left the inbox. Pool sessions remember their project, model and whether they are clean.
  `
  DROP INDEX tasks_hash;
  CREATE INDEX tasks_hash ON tasks(content_hash);
  ALTER TABLE tasks ADD COLUMN intake_file TEXT;
  ALTER TABLE tasks ADD COLUMN submitted_at INTEGER;
  ALTER TABLE tasks ADD COLUMN updated_at INTEGER;
  CREATE INDEX tasks_session ON tasks(session, state);
  CREATE TABLE pool_sessions (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    model TEXT,
    clean INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
  );
  `,
  // 5: usage readings over time, per account and window, for burn rates and forecasts (quota/forecast.ts).
  // window: five_hour, seven_day, seven_day_<model>; source: usage_api or statusline; at = the reading's time.
  `
  CREATE TABLE usage_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    window TEXT NOT NULL,
    utilization REAL NOT NULL,
    resets_at INTEGER
  );
  CREATE INDEX usage_samples_account_window_at ON usage_samples(account, window, at);
  `,
  // 6: the credentials file an account was revoked with ("size:mtime:sha256" of .credentials.json, NULL =
  // none there), so the very same file does not bring the account back: only a changed one does.
  `
  ALTER TABLE accounts ADD COLUMN revoked_creds TEXT;
  `,
  // 7: which launch of a session's CLI is the current one (CLAUDE_FAILOVER_LAUNCH, carried in each hook
  // event's spool name) and when it started: events of another launch written after it are not ours.
  `
  ALTER TABLE sessions ADD COLUMN launch_id TEXT;
  ALTER TABLE sessions ADD COLUMN launched_at INTEGER;
  `,
  // 8: pool tasks in git worktrees, with timeouts (issue 18): whether the task runs in a worktree, from
  // which base ref, its time limit; the worktree folder, branch and start commit once made; what the task
  // did on its branch (JSON: branch, base, commits, diffStat, uncommitted) once it ended.
  `
  ALTER TABLE tasks ADD COLUMN worktree INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN base TEXT;
  ALTER TABLE tasks ADD COLUMN timeout_ms INTEGER;
  ALTER TABLE tasks ADD COLUMN workdir TEXT;
  ALTER TABLE tasks ADD COLUMN branch TEXT;
  ALTER TABLE tasks ADD COLUMN base_commit TEXT;
  ALTER TABLE tasks ADD COLUMN worktree_info TEXT;
  `,
  // 9: schedules (issue 18 point 5): per schedule name, the cron (and time zone) its cursor was taken for, when
  // the daemon first saw it that way (times before are never run), and the last run decided: its scheduled time,
  // task id, outcome (queued, duplicate, skipped, refused) and error. A run's task id is derived from the name
  // and the scheduled time, and the task row and this row are written in one transaction.
  `
  CREATE TABLE schedule_runs (
    name TEXT PRIMARY KEY,
    cron_key TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    last_at INTEGER,
    last_task TEXT,
    last_outcome TEXT,
    last_error TEXT,
    updated_at INTEGER NOT NULL
  );
  `,
  // 10: a task pinned to one box (`box:` in its file or enqueue request, issue 19): only that box's shared
  // queue claims it. NULL = any box.
  `
  ALTER TABLE tasks ADD COLUMN pin_box TEXT;
  `,
  // 11: hook events applied, by spool file name, written in the transaction that applies one: a file the
  // daemon applied but had not yet removed when it died (SIGKILL) is skipped when the spool is drained again
  // at the next start, instead of applied twice (chaos seed 424242: a Stop recorded twice). Pruned after a day.
  `
  CREATE TABLE spool_applied (
    file TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  );
  `,
];
