// Generic deadline poller for tests: no fixed sleeps in callers.

/** Resolves after `ms` milliseconds. Only for poll intervals, never as a wait for a condition. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `fn` every `intervalMs` until it returns a value that is neither `undefined`, `null`
 * nor `false`, and resolves with that value. Rejects with an error naming `label` (and the last
 * error thrown by `fn`, if any) once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  label: string,
  intervalMs = 50,
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why =
        lastError instanceof Error
          ? `: last error: ${lastError.message}`
          : lastError !== undefined
            ? `: last error: ${String(lastError)}`
            : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${why}`);
    }
    await delay(Math.max(1, Math.min(intervalMs, deadline - Date.now())));
  }
}
