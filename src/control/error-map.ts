// The one mapping from a fault to what a control-plane caller sees, shared by the HTTP routes
// (/trigger/* and the reads) and the MCP tools. A caller gets a stable code, the right HTTP status
// and a message that is safe to show; anything internal (tmux stderr, file paths, stack traces,
// unexpected exceptions) goes to the daemon's log only.
import { redactText } from "../util/log.js";
import { errorMessage, isCfError } from "../util/errors.js";

export interface PublicError {
  status: number;
  code: string;
  message: string;
  /** true when the caller got a generic message and the detail belongs in the log */
  internal: boolean;
}

/** Expected outcomes: their message describes the caller's own request, so it is shown (scrubbed). */
const CALLER_ERRORS: Record<string, number> = {
  bad_request: 400,
  invalid_input: 400,
  body_too_large: 413,
  forbidden: 403,
  no_such_session: 404,
  no_such_account: 404,
  no_such_task: 404,
  no_such_target: 404,
  session_busy: 409,
  conflict: 409,
  no_target: 409,
  unavailable: 503,
};

/** Faults of the daemon or its environment: a fixed message, the detail only in the log. */
const INTERNAL_ERRORS: Record<string, { status: number; message: string }> = {
  tmux_failed: { status: 502, message: "a tmux command failed; see the daemon log" },
  resend_failed: { status: 500, message: "the prompt could not be sent again after the swap; see the daemon log" },
  confirm_failed: { status: 500, message: "the CLI did not confirm its restart; see the daemon log" },
};

/** Maps any thrown value to what a caller may see. `secrets` (the bearer token) never appear in it. */
export function publicError(e: unknown, secrets: string[] = []): PublicError {
  if (isCfError(e)) {
    const status = CALLER_ERRORS[e.code];
    if (status !== undefined) return { status, code: e.code, message: sanitize(e.message, secrets), internal: false };
    const known = INTERNAL_ERRORS[e.code];
    if (known) return { status: known.status, code: e.code, message: known.message, internal: true };
  }
  return { status: 500, code: "internal", message: "internal error; see the daemon log", internal: true };
}

/** The log line for a fault (detail included, secrets scrubbed but paths kept: the log is the operator's). */
export function faultDetail(e: unknown, secrets: string[] = []): string {
  let s = errorMessage(e);
  for (const secret of secrets) if (secret) s = s.split(secret).join("[redacted]");
  return redactText(s);
}

/**
 * A free-text reason (a swap's outcome, a refusal) made fit for an answer: tmux stderr cut off after
 * "tmux <cmd> failed", then scrubbed like any message.
 */
export function publicReason(reason: string, secrets: string[] = []): string {
  return sanitize(reason.replace(/(tmux [\w-]+ failed):[^;]*/g, "$1"), secrets);
}

/** No secrets, no tokens, no file system paths, one bounded line. */
export function sanitize(message: string, secrets: string[]): string {
  let s = message;
  for (const secret of secrets) if (secret) s = s.split(secret).join("[redacted]");
  s = redactText(s);
  s = s.replace(/(^|[\s'"`(=:,[])(?:~|\.{0,2})\/[^\s'"`),;:\]]+/g, "$1[path]");
  s = s.replace(/\s+/g, " ").trim();
  return s.length > 500 ? `${s.slice(0, 500)}…` : s;
}
