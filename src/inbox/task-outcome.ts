// What a failed turn means for its task. Pure.

/** StopFailure errors worth another attempt: the service, not the task, had a problem. */
const TRANSIENT = new Set([
  "server_error",
  "unknown",
  "overloaded",
  "overloaded_error",
  "api_error",
  "timeout",
  "network_error",
  "connection_error",
]);

export type FailureAction =
  /** the limit reactor swaps (or restarts) the session and resends the prompt: the task keeps running */
  { kind: "wait_for_swap" } | { kind: "retry"; notBefore: number; reason: string } | { kind: "fail"; reason: string };

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
}

/** The delay before attempt `attempts + 1`: backoff doubling per attempt made, capped. */
export function retryDelay(attempts: number, p: RetryPolicy): number {
  return Math.min(p.backoffMs * 2 ** Math.max(0, attempts - 1), p.backoffMaxMs);
}

export function onTurnFailed(
  error: string,
  message: string | null,
  attempts: number,
  now: number,
  p: RetryPolicy,
): FailureAction {
  // The limit reactor handles both: a limit or throttle resends the prompt (after a swap, or on the same
  // account); a rejected token restarts the CLI, then moves the session off a revoked account.
  if (error === "rate_limit" || error === "authentication_failed") return { kind: "wait_for_swap" };
  const reason = `${error}${message ? `: ${message}` : ""}`;
  if (!TRANSIENT.has(error)) return { kind: "fail", reason };
  if (attempts >= p.maxAttempts) return { kind: "fail", reason: `${reason} (gave up after ${attempts} attempts)` };
  return { kind: "retry", notBefore: now + retryDelay(attempts, p), reason };
}

/** A prompt could not be handed over (not confirmed): retried like a transient failure. */
export function onSendFailed(reason: string, attempts: number, now: number, p: RetryPolicy): FailureAction {
  if (attempts >= p.maxAttempts) return { kind: "fail", reason: `${reason} (gave up after ${attempts} attempts)` };
  return { kind: "retry", notBefore: now + retryDelay(attempts, p), reason };
}

/** The hook's prompt and ours, compared as the CLI may reflow whitespace of a paste. */
export function samePrompt(a: string | null, b: string): boolean {
  if (a === null) return false;
  const squash = (s: string) => s.replace(/\s+/g, "");
  return squash(a) === squash(b);
}
