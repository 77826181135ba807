// Who drives a session's CLI right now (issue 15 point 2). One operation at a time types into a pane,
// restarts or moves it: the others see who holds it and wait, queue or give way. Contention is a value,
// not an exception: `tryLock` says who holds the session; `withLock` runs an operation under it.

/** The operations that hold a session while they drive its CLI. */
export const SESSION_OPS = [
  /** sessions/swap.ts: a swap to another account (or a fresh CLI on the same one) */
  "swap",
  /** quota/limit-reactor.ts: checking that a StopFailure ended the session's own turn */
  "limit_check",
  /** quota/limit-reactor.ts: resending a prompt a server throttle refused */
  "throttle_retry",
  /** sessions/park-resume.ts (from the limit reactor's tick): resuming a parked session */
  "resume",
  /** sessions/continue-turn.ts: continuing a turn cut by a crash */
  "continue",
  /** control: a prompt sent by a person or an agent */
  "send",
  /** control: a slash command */
  "command",
  /** control: a restart of the CLI */
  "restart",
  /** inbox/dispatcher.ts: typing a task's prompt into a pool session, until it is submitted */
  "dispatch",
  /** pool/pool.ts: interrupting a pool session's task (cancel, timeout) */
  "interrupt",
  /** pool/pool.ts: `/clear` between tasks */
  "reset",
  /** inbox/task-waits.ts: answering a permission dialog */
  "answer",
] as const;
export type SessionOp = (typeof SESSION_OPS)[number];

/** A hold: `release` ends it (idempotent; it never releases a later holder's). */
export type LockResult = { ok: true; release: () => void } | { ok: false; heldBy: SessionOp };

export class SessionLocks {
  private readonly held = new Map<string, { op: SessionOp; token: symbol }>();

  /** Holds `name` for `op` when nobody does; otherwise says who does. */
  tryLock(name: string, op: SessionOp): LockResult {
    const cur = this.held.get(name);
    if (cur) return { ok: false, heldBy: cur.op };
    const token = Symbol(op);
    this.held.set(name, { op, token });
    return {
      ok: true,
      release: () => {
        if (this.held.get(name)?.token === token) this.held.delete(name);
      },
    };
  }

  /** Runs `fn` holding `name` for `op` (released however it ends), or says who holds it instead. */
  async withLock<T>(
    name: string,
    op: SessionOp,
    fn: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; heldBy: SessionOp }> {
    const h = this.tryLock(name, op);
    if (!h.ok) return h;
    try {
      return { ok: true, value: await fn() };
    } finally {
      h.release();
    }
  }

  /** The operation holding `name`, if any. */
  lockedBy(name: string): SessionOp | undefined {
    return this.held.get(name)?.op;
  }
}

/** The refusal a caller outside the daemon sees (control plane: HTTP 409 `session_busy`). */
export function busyReason(name: string, heldBy: SessionOp): string {
  return `session ${name} is busy: ${heldBy} in progress`;
}
