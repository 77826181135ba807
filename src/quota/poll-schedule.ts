// When to ask the usage endpoint, and what its answers mean for the whole box: pure, `now` passed in.
//
// The endpoint is the BACKSTOP: the CLIs' status-line feed is the primary source of figures, so an
// account with a fresh feed is not polled at all. The endpoint is rate-limited per IP (about one call
// a minute is what public reports call safe), can block for about an hour, and refuses any client
// that does not present itself as the CLI (429 with `retry-after: 0`, for ever). See
// docs/notes/usage-endpoint.md.

export interface PollParams {
  baseMs: number;
  minMs: number;
  maxMs: number;
  window5hThreshold: number;
  windowWeekThreshold: number;
  hysteresis: number;
  /** Minimum time between two requests from this box, whatever the account (the limit is per IP). */
  requestGapMs: number;
}

/** A 429 with `retry-after: 0` this many times in a row means the endpoint refuses this client. */
export const REFUSED_AFTER = 3;
/** The longest retry-after honoured (a bad header must not switch the backstop off for days). */
export const MAX_BLOCK_MS = 6 * 3_600_000;
export const REFUSED_TEXT = "the usage endpoint refuses this client (429 with retry-after: 0, repeatedly)";

/** Utilization moved by at least this much between two readings: something spends on the account. */
const CHANGE_EPSILON = 0.005;

/**
 * The interval after a good reading. Near a threshold (within twice the hysteresis margin) → the
 * minimum; figures moving since the last reading (the account is used somewhere: the web app, another
 * machine, a CLI whose feed went quiet) → the configured interval; otherwise → the maximum.
 */
export function nextInterval(p: PollParams, fiveHour: number | null, weekly: number | null, changed: boolean): number {
  const near =
    (fiveHour !== null && fiveHour >= p.window5hThreshold - 2 * p.hysteresis) ||
    (weekly !== null && weekly >= p.windowWeekThreshold - 2 * p.hysteresis);
  if (near) return p.minMs;
  return changed ? p.baseMs : p.maxMs;
}

/** Whether two readings' utilizations (0..1, null = unknown) differ enough to call the account in use. */
export function usageChanged(before: (number | null)[], after: (number | null)[]): boolean {
  return after.some((a, i) => {
    const b = before[i] ?? null;
    return a !== null && b !== null && Math.abs(a - b) >= CHANGE_EPSILON;
  });
}

/** Exponential backoff after a failure, bounded by the maximum interval. */
export function nextBackoff(p: PollParams, previousMs: number): number {
  return Math.min(p.maxMs, previousMs > 0 ? previousMs * 2 : p.minMs);
}

/**
 * Due accounts in the order to ask them: the longest overdue first (so none starves when the budget
 * is short), then those near a threshold. Near-threshold accounts get their larger share by falling
 * due more often (poll_interval_min).
 */
export function pickDue<T extends { name: string; dueAt: number; urgent: boolean }>(items: T[], now: number): T[] {
  return items
    .filter((i) => i.dueAt <= now)
    .sort((a, b) => a.dueAt - b.dueAt || Number(b.urgent) - Number(a.urgent) || a.name.localeCompare(b.name));
}

/** May a request go out now, given the last one and any block the endpoint asked for? */
export function budgetAllows(p: PollParams, now: number, lastRequestAt: number | null, notBefore: number): boolean {
  return now >= notBefore && (lastRequestAt === null || now - lastRequestAt >= p.requestGapMs);
}

/** The box-wide view of how the endpoint treats us. */
export interface EndpointState {
  /** 429s with `retry-after: 0` in a row (any account). */
  zeroRetryStreak: number;
  /** Since when the endpoint is taken to refuse this client; null when not. */
  refusedSince: number | null;
  /** No request before this (a retry-after, a backoff, the refused probe interval). */
  notBefore: number;
  /** The backoff used last for a retry-after-less failure of the box (ms), 0 after a success. */
  backoffMs: number;
}

export const INITIAL_ENDPOINT: EndpointState = { zeroRetryStreak: 0, refusedSince: null, notBefore: 0, backoffMs: 0 };

export type EndpointAnswer = { kind: "ok" } | { kind: "rate_limited"; retryAfterMs: number | null } | { kind: "other" };

/**
 * The next box-wide state after one answer. A success clears everything. A 429 with `retry-after: 0`
 * is the refusal of an unknown client: backed off exponentially (never a tight loop) and, at the
 * REFUSED_AFTER-th in a row, taken as "refuses this client" and probed only every maxMs from then on.
 * A 429 with a retry-after is honoured for every account (capped at MAX_BLOCK_MS); without one, backoff.
 * Any other answer (401, 5xx, no answer) ends the streak but not a refusal: only a success or a real
 * retry-after does.
 * `entered` is true on the answer that turned the state to refused (to log it once).
 */
export function nextEndpointState(
  p: PollParams,
  s: EndpointState,
  a: EndpointAnswer,
  now: number,
): { state: EndpointState; entered: boolean; waitMs: number } {
  if (a.kind === "ok") return { state: INITIAL_ENDPOINT, entered: false, waitMs: 0 };
  if (a.kind === "other") return { state: { ...s, zeroRetryStreak: 0 }, entered: false, waitMs: 0 };
  if (a.retryAfterMs === 0) {
    const streak = s.zeroRetryStreak + 1;
    const refused = s.refusedSince !== null || streak >= REFUSED_AFTER;
    const waitMs = refused ? p.maxMs : nextBackoff(p, s.backoffMs);
    return {
      state: {
        zeroRetryStreak: streak,
        refusedSince: s.refusedSince ?? (refused ? now : null),
        notBefore: now + waitMs,
        backoffMs: waitMs,
      },
      entered: refused && s.refusedSince === null,
      waitMs,
    };
  }
  // A real retry-after means the endpoint took us for a client it serves: no longer refused.
  if (a.retryAfterMs !== null) {
    const waitMs = Math.min(a.retryAfterMs, MAX_BLOCK_MS);
    return {
      state: { ...s, zeroRetryStreak: 0, refusedSince: null, notBefore: Math.max(s.notBefore, now + waitMs) },
      entered: false,
      waitMs,
    };
  }
  const waitMs = nextBackoff(p, s.backoffMs);
  return {
    state: { ...s, zeroRetryStreak: 0, notBefore: Math.max(s.notBefore, now + waitMs), backoffMs: waitMs },
    entered: false,
    waitMs,
  };
}

/**
 * An account's status-line figures are fresh: its row was written by the feed (source "statusline")
 * less than `freshMs` ago. Such an account is not polled.
 */
export function feedIsFresh(
  row: { source: string; fetchedAt: number | null } | undefined,
  now: number,
  freshMs: number,
): boolean {
  return !!row && row.source === "statusline" && row.fetchedAt !== null && now - row.fetchedAt < freshMs;
}
