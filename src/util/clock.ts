// The clock seam (issue 15 point 5): every time read, wait and timer of the daemon's services goes through a
// Clock, so unit tests drive time by hand (ManualClock) and `Daemon.stop` cancels timers instead of polling.
// This file and tmux/exec.ts (a real child's kill timer) are the only places in the services that touch the
// host's timers (test/unit/time-seam.test.ts keeps it so).

/** A timer to cancel (idempotent; a no-op once it fired or its signal aborted). */
export interface Timer {
  cancel(): void;
}

/**
 * Time for the services: the wall clock (`systemClock`) or a hand-driven one (`ManualClock`). Every wait
 * and timer takes an optional AbortSignal: an aborted signal cancels it (a sleep then resolves at once).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` (≤ 0: on the next turn) of this clock's time, or as soon as `signal` aborts. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms` unless cancelled (or `signal` aborts) first. */
  after(ms: number, fn: () => void, signal?: AbortSignal): Timer;
  /** Calls `fn` every `ms` (> 0; the first call `ms` from now) until cancelled or `signal` aborts. */
  every(ms: number, fn: () => void, signal?: AbortSignal): Timer;
}

const NOOP: Timer = { cancel: () => {} };

/** Ties a timer to a signal: aborting cancels it. Returns the timer whose cancel also drops the listener. */
function bind(signal: AbortSignal | undefined, stop: () => void): Timer {
  if (!signal) return { cancel: stop };
  const onAbort = () => stop();
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    cancel: () => {
      signal.removeEventListener("abort", onAbort);
      stop();
    },
  };
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.after(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The host's clock: Date.now and Node's timers (kept referenced, as setTimeout/setInterval are). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return sleepWith(systemClock, ms, signal);
  },
  after(ms, fn, signal) {
    if (signal?.aborted) return NOOP;
    let t: NodeJS.Timeout | null = null;
    const timer = bind(signal, () => {
      if (t) clearTimeout(t);
      t = null;
    });
    t = setTimeout(
      () => {
        timer.cancel();
        fn();
      },
      Math.max(0, ms),
    );
    return timer;
  },
  every(ms, fn, signal) {
    if (!(ms > 0)) throw new RangeError(`every: period must be > 0 ms, got ${ms}`);
    if (signal?.aborted) return NOOP;
    const t = setInterval(fn, ms);
    return bind(signal, () => clearInterval(t));
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  /** null: one-shot */
  period: number | null;
  /** cancels it and drops its signal's listener */
  cancel: () => void;
}

/**
 * A clock for tests: time moves only when the test says. Timers fire in time order (equal times: in the
 * order they were set) while time is advanced, each with `now()` at its due time.
 * - `advance(ms)` (synchronous) fires the due callbacks; what awaits a sleep continues after it returns.
 * - `await advanceAsync(ms)` fires each due timer and lets the promise chains it resumed settle (a few
 *   turns of the event loop: enough for fakes, not for real I/O) before the next: a loop of sleeps
 *   (pollUntil) runs step by step as it would in real time.
 * - `await advanceUntil(cond, maxMs, label)` jumps from timer to timer until `cond` holds.
 * Nothing here sleeps in real time.
 */
export class ManualClock implements Clock {
  private readonly timers: Pending[] = [];
  private seq = 0;

  /** `settleTurns`: event-loop turns (setImmediate) advanceAsync lets pass after each firing. */
  constructor(
    private t: number,
    private readonly settleTurns = 1,
  ) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  after(ms: number, fn: () => void, signal?: AbortSignal): Timer {
    return this.add(Math.max(0, ms), fn, null, signal);
  }

  every(ms: number, fn: () => void, signal?: AbortSignal): Timer {
    if (!(ms > 0)) throw new RangeError(`every: period must be > 0 ms, got ${ms}`);
    return this.add(ms, fn, ms, signal);
  }

  /** Live timers (sleeps included). */
  pending(): number {
    return this.timers.length;
  }

  /** When the next timer is due, or null with none. */
  nextAt(): number | null {
    return this.next()?.at ?? null;
  }

  /** Moves time on by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const target = this.t + Math.max(0, ms);
    for (let p = this.due(target); p; p = this.due(target)) this.fire(p);
    this.t = target;
  }

  /** Sets the time: forward as advance() does; backward only moves `now()` (timers keep their due times). */
  set(t: number): void {
    if (t >= this.t) this.advance(t - this.t);
    else this.t = t;
  }

  /** Lets pending promise chains run: `settleTurns` turns of the event loop. */
  async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Moves time on by `ms`, firing each due timer at its time and settling after each. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + Math.max(0, ms);
    await this.settle();
    for (let p = this.due(target); p; p = this.due(target)) {
      this.fire(p);
      await this.settle();
    }
    this.t = target;
    await this.settle();
  }

  /**
   * Advances from timer to timer (by `idleStepMs` when none is set) until `cond` holds; resolves with its
   * value. Before each step it lets the event loop turn up to `quietTurns` times, checking `cond` after
   * each, so time does not move while the work can go on without it. Rejects naming `label` once `maxMs`
   * of clock time passed without it.
   */
  async advanceUntil<T>(
    cond: () => T | Promise<T>,
    maxMs: number,
    label: string,
    opts: { idleStepMs?: number; quietTurns?: number } = {},
  ): Promise<Exclude<T, undefined | null | false>> {
    const deadline = this.t + maxMs;
    const quiet = Math.max(1, opts.quietTurns ?? 5);
    for (;;) {
      for (let i = 0; i < quiet; i++) {
        await this.settle();
        const v = await cond();
        if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
      }
      if (this.t >= deadline) throw new Error(`manual clock: ${label} not reached within ${maxMs} ms`);
      const next = this.nextAt();
      const step = next === null ? (opts.idleStepMs ?? 10) : Math.max(0, next - this.t);
      await this.advanceAsync(Math.min(step, deadline - this.t));
    }
  }

  /** Drives the clock (advanceUntil) until `p` settles; resolves or rejects as it does. */
  async drive<T>(p: Promise<T>, maxMs = 60_000, label = "the operation"): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.advanceUntil(() => settled, maxMs, label);
    return p;
  }

  private add(ms: number, fn: () => void, period: number | null, signal?: AbortSignal): Timer {
    if (signal?.aborted) return NOOP;
    const p: Pending = { at: this.t + ms, seq: this.seq++, fn, period, cancel: () => {} };
    const timer = bind(signal, () => this.remove(p));
    p.cancel = () => timer.cancel();
    this.timers.push(p);
    return timer;
  }

  private remove(p: Pending): void {
    const i = this.timers.indexOf(p);
    if (i >= 0) this.timers.splice(i, 1);
  }

  private next(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.timers) if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    return best;
  }

  private due(target: number): Pending | undefined {
    const p = this.next();
    return p && p.at <= target ? p : undefined;
  }

  private fire(p: Pending): void {
    this.t = Math.max(this.t, p.at);
    if (p.period === null) p.cancel();
    else {
      p.at += p.period;
      p.seq = this.seq++;
    }
    p.fn();
  }
}
