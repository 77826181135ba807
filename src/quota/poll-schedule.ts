// When to poll each account next: pure, `now` passed in.

export interface PollParams {
  baseMs: number;
  minMs: number;
  maxMs: number;
  window5hThreshold: number;
  windowWeekThreshold: number;
  hysteresis: number;
}

/**
 * The usage endpoint is rate-limited per IP: poll quickly only where it matters. Near a threshold
 * (within twice the hysteresis margin) → the minimum interval; nothing running on the account → the
 * maximum; otherwise the configured interval.
 */
export function nextInterval(p: PollParams, live: boolean, fiveHour: number | null, weekly: number | null): number {
  if (!live) return p.maxMs;
  const near =
    (fiveHour !== null && fiveHour >= p.window5hThreshold - 2 * p.hysteresis) ||
    (weekly !== null && weekly >= p.windowWeekThreshold - 2 * p.hysteresis);
  return near ? p.minMs : p.baseMs;
}

/** Exponential backoff after a failure, bounded by the maximum interval. */
export function nextBackoff(p: PollParams, previousMs: number): number {
  return Math.min(p.maxMs, previousMs > 0 ? previousMs * 2 : p.minMs);
}

/** Which due account to poll first: those with live sessions, then the longest overdue. */
export function pickDue<T extends { name: string; dueAt: number; live: boolean }>(items: T[], now: number): T | undefined {
  return items
    .filter((i) => i.dueAt <= now)
    .sort((a, b) => Number(b.live) - Number(a.live) || a.dueAt - b.dueAt || a.name.localeCompare(b.name))[0];
}
