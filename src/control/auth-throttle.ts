// Failed-authentication throttling per peer. Pure given `now`: the HTTP server records each bad or
// missing token and asks before checking one. After `maxFailures` failures within `windowMs` the peer
// is refused (429 with Retry-After) until its oldest failure in the window ages out, whatever it sends:
// letting a correct token through while refusing wrong ones would leave guessing unthrottled.

export interface AuthThrottleOptions {
  /** failures allowed within the window before the peer is refused; 0 = never refused */
  maxFailures: number;
  windowMs: number;
  /** peers remembered at most (oldest forgotten first), so a flood of addresses cannot grow memory */
  maxPeers?: number;
}

export type ThrottleCheck = { ok: true } | { ok: false; retryAfterMs: number };

export class AuthThrottle {
  private failures = new Map<string, number[]>();
  constructor(private opts: AuthThrottleOptions) {}

  setMaxFailures(maxFailures: number): void {
    this.opts = { ...this.opts, maxFailures };
  }

  /** Whether `peer` may try to authenticate now. */
  check(peer: string, now: number): ThrottleCheck {
    if (this.opts.maxFailures <= 0) return { ok: true };
    const list = this.recent(peer, now);
    if (list.length < this.opts.maxFailures) return { ok: true };
    return { ok: false, retryAfterMs: Math.max(1, list[0]! + this.opts.windowMs - now) };
  }

  /** Records one failed attempt (only attempts that were allowed are recorded, so a block ends). */
  fail(peer: string, now: number): void {
    if (this.opts.maxFailures <= 0) return;
    const list = this.recent(peer, now);
    list.push(now);
    this.failures.delete(peer); // re-insert: Map order is the eviction order
    this.failures.set(peer, list.slice(-this.opts.maxFailures));
    const cap = this.opts.maxPeers ?? 10_000;
    while (this.failures.size > cap) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Takes back one failure recorded at `at` (an attempt reserved with `fail` before it was checked, that succeeded). */
  release(peer: string, at: number): void {
    const list = this.failures.get(peer);
    const i = list?.lastIndexOf(at) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  private recent(peer: string, now: number): number[] {
    const list = (this.failures.get(peer) ?? []).filter((t) => t > now - this.opts.windowMs);
    if (list.length) this.failures.set(peer, list);
    else this.failures.delete(peer);
    return list;
  }
}
