// A token bucket per key (the bearer token's hash), refilled continuously. Pure given `now`.
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private perMinute: number) {}

  setRate(perMinute: number): void {
    this.perMinute = perMinute;
  }

  /** true if `n` calls (a JSON-RPC batch counts each of its calls) may go ahead. 0 per minute = unlimited. */
  take(key: string, now: number, n = 1): boolean {
    if (this.perMinute <= 0) return true;
    const cap = this.perMinute;
    const b = this.buckets.get(key) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 60_000) * cap);
    b.at = now;
    if (b.tokens < n) {
      this.buckets.set(key, b);
      return false;
    }
    b.tokens -= n;
    this.buckets.set(key, b);
    return true;
  }
}
