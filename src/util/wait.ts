// Deadline polling on a Clock (confirmations in swaps, start-up checks): the service's own clock, so a
// manual clock drives it in tests; one-shot commands pass systemClock.
import type { Clock } from "./clock.js";

/**
 * Calls `fn` every `intervalMs` (default 50) of `clock` time until it returns a truthy value, which it
 * resolves with; resolves undefined once `timeoutMs` passed or `signal` aborted.
 */
export async function pollUntil<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { clock: Clock; timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T | undefined> {
  const { clock } = opts;
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
