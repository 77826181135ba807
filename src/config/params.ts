/**
 * The one place where config keys become service parameters. Pure: a `Config` in, plain parameter
 * objects out (durations stay in ms, utilizations in 0..1, as the config loader already gives them).
 * The daemon builds its services with these and, on a reload (SIGHUP), hands each service the result
 * of the same function applied to the new config, so start and reload can never map a key differently.
 *
 * The result types are the services' own (PollParams, PolicyParams, SwapTuning, SessionTuning,
 * DispatchSettings, HttpOptions): this file does not import them, so config/ (which every folder imports)
 * depends on no service folder; the compiler checks each result where the daemon passes it to its service.
 */
import { pathsFor } from "./paths.js";
import type { Config } from "./types.js";

/** Utilization one moved session is assumed to add to its target's 5-hour window while planning a tick. */
export const LOAD_PER_SESSION = 0.05;

/** quota.* → the usage poller's schedule (poll-schedule.ts). */
export function pollParams(c: Config) {
  return {
    baseMs: c.quota.poll_interval,
    minMs: c.quota.poll_interval_min,
    maxMs: c.quota.poll_interval_max,
    window5hThreshold: c.quota.window_5h_threshold,
    windowWeekThreshold: c.quota.window_week_threshold,
    hysteresis: c.quota.hysteresis,
    requestGapMs: c.quota.usage_request_gap,
  };
}

/** quota.* → the pure policy's parameters (account choice and the quota monitor's plan). */
export function policyParams(c: Config) {
  return {
    window5hThreshold: c.quota.window_5h_threshold,
    windowWeekThreshold: c.quota.window_week_threshold,
    hysteresis: c.quota.hysteresis,
    minDwellMs: c.quota.min_dwell,
    staleAfterMs: c.quota.stale_after,
    reactivateCooldownMs: c.quota.reactivate_cooldown,
    loadPerSession: LOAD_PER_SESSION,
    minRunwayMs: c.quota.min_runway,
  };
}

/** Local message caps per account (`accounts[].limits`; 0 = no cap), by account name. */
export interface AccountLimits {
  hourly_msgs: number;
  weekly_msgs: number;
}
export function accountLimits(c: Config): Map<string, AccountLimits> {
  return new Map(c.accounts.map((a) => [a.name, a.limits]));
}

/** swap.* → the swap's timeouts and continue note. */
export function swapTuning(c: Config) {
  return {
    gracefulMs: c.swap.graceful_timeout,
    exitMs: c.swap.exit_timeout,
    confirmMs: c.swap.confirm_timeout,
    continueNote: c.swap.continue_note,
  };
}

/**
 * store.lease_ttl → the box's lease (boxes/box-sync.ts): its TTL, and a heartbeat every third of it (at
 * most 10 s), so two heartbeats can be missed before the lease lapses. ms.
 */
export function leaseParams(c: Config): { leaseTtlMs: number; heartbeatMs: number } {
  const ttl = c.store.lease_ttl;
  return { leaseTtlMs: ttl, heartbeatMs: Math.min(10_000, Math.floor(ttl / 3)) };
}

/** retention.events, events_max_rows → the shared events table's bounds (boxes/shared-events.ts), per box. ms, rows. */
export function sharedEventsRetention(c: Config): { maxAgeMs: number; maxRows: number } {
  return { maxAgeMs: c.retention.events, maxRows: c.retention.events_max_rows };
}

/** sessions.* → restart backoff, crash-loop detection and the start timeout. */
export function sessionTuning(c: Config) {
  return {
    restartBackoffMs: c.sessions.restart_backoff,
    restartBackoffMaxMs: c.sessions.restart_backoff_max,
    crashLoopRestarts: c.sessions.crash_loop_restarts,
    crashLoopWindowMs: c.sessions.crash_loop_window,
    startTimeoutMs: c.sessions.start_timeout,
  };
}

/** quota.reactivate_cooldown → the limit reactor (ms an exhausted account waits after its reset). */
export function limitParams(c: Config): { cooldownMs: number } {
  return { cooldownMs: c.quota.reactivate_cooldown };
}

/** pool.*, swap.confirm_timeout → the dispatcher's settings. */
export function dispatchSettings(c: Config) {
  const a = c.pool;
  return {
    min: a.min,
    max: a.max,
    idleTimeoutMs: a.idle_timeout,
    defaultProject: a.project ?? null,
    retry: { maxAttempts: a.max_attempts, backoffMs: a.retry_backoff, backoffMaxMs: a.retry_backoff_max },
    confirmTimeoutMs: c.swap.confirm_timeout,
    outboxDir: pathsFor(c).outboxDir,
    taskTimeoutMs: a.task_timeout ?? null,
    worktreeDir: pathsFor(c).worktreeDir,
    worktreePrefix: a.worktree_prefix,
    keepWorktrees: a.keep_worktrees,
  };
}

/**
 * mcp_http.* → the control servers' limits (what a reload may change; host, port and token are fixed at
 * start: listen and bearer_token_env need a restart).
 */
export function httpLimits(c: Config) {
  return {
    maxBody: c.mcp_http.max_body,
    ratePerMinute: c.mcp_http.rate_limit_per_minute,
    enableTrigger: c.mcp_http.enable_trigger,
    authFailures: c.mcp_http.auth_failures_per_minute,
    maxConnections: c.mcp_http.max_connections,
  };
}

/** checkpoint.* → the checkpoint service (how many to keep, scrollback lines, period in ms). */
export function checkpointParams(c: Config): { keep: number; scrollbackLines: number; intervalMs: number } {
  return { keep: c.checkpoint.keep, scrollbackLines: c.checkpoint.scrollback_lines, intervalMs: c.checkpoint.interval };
}
