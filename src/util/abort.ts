// Timeouts for outgoing requests that really fire.

/**
 * A signal that aborts when `parent` does (if given) or after `ms` (reason: a DOMException named
 * `TimeoutError`, as AbortSignal.timeout gives), held by a real timer until `done()` is called.
 * Not `AbortSignal.timeout(ms)` (alone or in `AbortSignal.any`): Node holds a timeout signal only weakly
 * from its timer, and after a garbage collection a request could go on waiting (CI on Node 20.20: a POST to
 * a target that never answers waited for undici's own 300 s headers timeout; nodejs/node#55428 reports the
 * same kind of lost abort after GC). test/integration/notify-deliver.test.ts forces collections to check.
 */
export function attemptSignal(parent: AbortSignal | null, ms: number): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(parent?.reason);
  const timer = setTimeout(() => ac.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")), ms);
  if (parent?.aborted) ac.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
