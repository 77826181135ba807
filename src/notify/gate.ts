// Whether a notification goes out to a target now: deduplication and a per-target rate limit, and the
// retry schedule of a failed delivery. Pure decisions over explicit state; `now` is always a parameter.

export interface GateParams {
  /** ms within which the same notification (dedup key) goes to a target once */
  dedupWindowMs: number;
  /** notifications per target per minute at most; 0 = unlimited. A burst of that many, refilled evenly. */
  ratePerMinute: number;
}

export type Admit = { ok: true } | { ok: false; why: "duplicate" | "rate_limited" };

/** Seen keys stay this many at most per gate (older ones go first); a flood cannot grow memory. */
export const MAX_SEEN = 2000;

/**
 * One gate per target. `admit` records what it lets through: a duplicate within the window is refused,
 * then the token bucket (capacity `ratePerMinute`, refilled at `ratePerMinute` per 60 s) must hold one.
 * A notification refused for the rate is not remembered as seen (it was never sent).
 */
export class NotifyGate {
  private readonly seen = new Map<string, number>();
  private tokens: number;
  private at: number | null = null;

  constructor(private params: GateParams) {
    this.tokens = params.ratePerMinute;
  }

  configure(p: GateParams): void {
    this.params = p;
    this.tokens = Math.min(this.tokens, p.ratePerMinute);
  }

  admit(key: string, now: number): Admit {
    const last = this.seen.get(key);
    if (last !== undefined && now - last < this.params.dedupWindowMs) return { ok: false, why: "duplicate" };
    const rate = this.params.ratePerMinute;
    if (rate > 0) {
      if (this.at !== null) this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 60_000) * rate);
      this.at = now;
      if (this.tokens < 1 - 1e-9) return { ok: false, why: "rate_limited" }; // 1e-9: float noise of the refill
      this.tokens -= 1;
    }
    this.seen.delete(key); // re-inserted last: the Map's order is then oldest first
    this.seen.set(key, now);
    for (const [k, t] of this.seen) {
      if (this.seen.size <= MAX_SEEN && now - t < this.params.dedupWindowMs) break;
      this.seen.delete(k);
    }
    return { ok: true };
  }
}

/** Waits before attempt 2, 3, … of one delivery (ms); after the last, the delivery has failed. */
export const RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000] as const;

/** The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed with a retryable error; null: give up. */
export function retryDelay(attempt: number, delays: readonly number[] = RETRY_DELAYS_MS): number | null {
  return attempt >= 1 && attempt <= delays.length ? delays[attempt - 1]! : null;
}

/** Whether an HTTP status is worth another attempt: 408, 425, 429 and 5xx; any other 4xx will not change. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
