// Deadline polling for production code paths (confirmations in swaps, start-up checks), on a Clock.
import { systemClock, type Clock } from "./clock.js";

/**
 * Calls `fn` every `intervalMs` (default 50) of `clock` time until it returns a truthy value, which it
 * resolves with; resolves undefined once `timeoutMs` passed or `signal` aborted. `clock` defaults to the
 * wall clock (one-shot CLI commands); a service passes its own.
 */
export async function pollUntil<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; clock?: Clock },
): Promise<T | undefined> {
  const clock = opts.clock ?? systemClock;
  const deadline = clock.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const v = await fn();
    if (v) return v;
    if (clock.now() >= deadline) return undefined;
    await clock.sleep(Math.min(interval, Math.max(1, deadline - clock.now())), opts.signal);
  }
}

/** Resolves after `ms` of `clock` time (default: the wall clock), or at once when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return clock.sleep(ms, signal);
}
