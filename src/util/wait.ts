// Deadline polling for production code paths (confirmations in swaps, start-up checks).
export async function pollUntil<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) return undefined;
    await delay(Math.min(interval, Math.max(1, deadline - Date.now())), opts.signal);
  }
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", done);
      clearTimeout(t);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
