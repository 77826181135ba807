// The validated configuration as the rest of the daemon sees it.
// Key names stay exactly as written in config.yaml (snake_case) so a key in
// the docs, in an error message and in code is the same string. Every
// default is filled in, durations are milliseconds, paths are absolute.

import type { NotifyConfig } from "./notify-config.js";
import type { ScheduleConfig } from "./schedules.js";
import type { BoxConfig, StoreConfig } from "./store-config.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface AccountConfig {
  name: string;
  /** Absolute path; the CLI runs with HOME set to it. */
  home: string;
  /** Lower is preferred. */
  priority: number;
  /** Soft caps counted locally; 0 disables the cap. */
  limits: { hourly_msgs: number; weekly_msgs: number };
  /** true: the daemon prepares the home; false: it only reads the credentials. */
  managed: boolean;
  /** Paths relative to the real home, symlinked into a managed account home. */
  link_files: string[];
  disabled: boolean;
  /** This account's thresholds (0..1), overriding quota.window_5h_threshold / window_week_threshold; undefined = the global one. */
  window_5h_threshold?: number;
  window_week_threshold?: number;
}

export interface DedicatedSessionConfig {
  /** tmux session name. */
  name: string;
  /** Absolute path of the working directory. */
  project: string;
  /** Preferred account name (exists in accounts[]); undefined = any. */
  account?: string;
  /** Extra CLI arguments for this session only. */
  args: string[];
}

/** `pool:`, the pool's settings (pool sessions run tasks; named prefix + number). */
export interface PoolConfig {
  prefix: string;
  min: number;
  max: number;
  idle_timeout: number;
  /** Default project for tasks that name none; undefined = tasks must name one. */
  project?: string;
  /** Attempts a task gets before it fails (transient StopFailure, prompt not taken, lost turn). */
  max_attempts: number;
  /** Delay before the second attempt; doubles per attempt, capped at retry_backoff_max. */
  retry_backoff: number;
  retry_backoff_max: number;
  /** Default for a task without `worktree:`: run it in a git worktree of its project. */
  worktree: boolean;
  /** Worktree branches are `<worktree_prefix>/<task id>`. */
  worktree_prefix: string;
  /** Default time limit of a task (ms); undefined = none. */
  task_timeout?: number;
  /** --permission-mode for pool sessions, over claude.permission_mode; bypassPermissions only with worktree true. */
  permission_mode?: "default" | "acceptEdits" | "plan" | "bypassPermissions";
  /** keep a worktree task's folder after it ended (the branch is always kept) */
  keep_worktrees: boolean;
}

export interface Config {
  state_dir: string;
  tmux: { socket: string };
  /** permission_mode: passed as --permission-mode at every launch; null leaves it to the CLI */
  claude: { binary: string; args: string[]; env: Record<string, string>; permission_mode: string | null };
  accounts: AccountConfig[];
  /** the sessions the config names, kept running on their projects (deprecated name: pool.dedicated) */
  dedicated: DedicatedSessionConfig[];
  /** deprecated name: pool.autonomous (its keys were one level down) */
  pool: PoolConfig;
  sessions: {
    /** where every account's conversations are shared (deprecated name: pool.shared_projects_dir) */
    shared_projects_dir: string;
    restart_backoff: number;
    restart_backoff_max: number;
    crash_loop_restarts: number;
    crash_loop_window: number;
    start_timeout: number;
  };
  quota: {
    poll_interval: number;
    poll_interval_min: number;
    poll_interval_max: number;
    window_5h_threshold: number;
    window_week_threshold: number;
    hysteresis: number;
    min_dwell: number;
    stale_after: number;
    reactivate_cooldown: number;
    /** A move's target must last this long (ms) at its burn plus the moved sessions' before a threshold; 0 = off. */
    min_runway: number;
    /** http(s) URL without a trailing slash. */
    usage_api_base: string;
    request_timeout: number;
    /** Minimum ms between two usage-endpoint requests from this box (any account; the limit is per IP). */
    usage_request_gap: number;
    /** An account whose status-line figures are younger than this (ms) is not polled. */
    feed_fresh_for: number;
  };
  swap: {
    graceful_timeout: number;
    exit_timeout: number;
    confirm_timeout: number;
    continue_note: string;
  };
  checkpoint: { dir: string; interval: number; keep: number; scrollback_lines: number };
  mcp_http: {
    /** "host:port" (IPv6 hosts in brackets); see parseListen(). */
    listen: string;
    allow_remote: boolean;
    /** Name of the environment variable holding the bearer token. */
    bearer_token_env: string;
    enable_trigger: boolean;
    max_body: number;
    /** 0 = unlimited. */
    rate_limit_per_minute: number;
    /** Failed authentications per peer per minute before 429; 0 = unlimited. */
    auth_failures_per_minute: number;
    max_connections: number;
  };
  /** allowed_roots: absolute paths; a task's project must be inside one (default: the configured projects' parents) */
  inbox: { dir: string; max_file_bytes: number; stable_time: number; allowed_roots: string[] };
  /** Ages in ms; max_files per directory (spool/bad, inbox processed/ and rejected/, outbox). */
  retention: {
    events: number;
    events_max_rows: number;
    prompts: number;
    spool_bad: number;
    inbox_done: number;
    outbox: number;
    max_files: number;
  };
  /** notifications (config/notify-config.ts): durations in ms, targets with `${VAR}` already substituted (and the names in referenced_env) */
  notify: NotifyConfig;
  /** recurring pool tasks (config/schedules.ts, src/schedules/); names unique */
  schedules: ScheduleConfig[];
  /** where the shared things live (config/store-config.ts, src/store/shared/); issue 19 */
  store: StoreConfig;
  /** this box in the shared store */
  box: BoxConfig;
  log: { level: LogLevel };
}

/** One problem found in a config file. line is 1-based; 0 = the whole file. */
export interface ConfigIssue {
  file: string;
  line: number;
  /** Dotted key path, e.g. "quota.window_5h_threshold" or "accounts[1].name"; "" = none. */
  path: string;
  message: string;
}

/** warnings: deprecated key names read (config/legacy-keys.ts), each at its file and line; the config loads as if renamed. */
export type ConfigResult = { ok: true; config: Config; warnings: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

/** What parsing needs from the outside world, passed in so it stays pure. */
export interface ConfigContext {
  env: NodeJS.ProcessEnv;
  /** The user's real home directory (for "~" and default locations). */
  home: string;
  /** Is this path a directory? Given when a file is loaded (schedules' projects are checked then); absent = not checked. */
  isDir?: (path: string) => boolean;
  /** This machine's host name (box.name's default); absent: os.hostname(). */
  hostname?: string;
}
