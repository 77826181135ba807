// A session's state and the operations that move it (issue 15 point 2). Pure: one table says, for each
// operation that writes a session row's `state`, which states it may start from, which it leaves as they
// are, and which state it produces. SessionService computes every state it writes through `transition`;
// apply-event.ts does the same for the CLI's hook events. docs/architecture.md, "Session states".
import type { SessionRow, SessionState } from "../store/types.js";

/** Every state a session row can be in (store/types.ts SessionState), in the order the docs show them. */
export const SESSION_STATES = [
  "starting",
  "idle",
  "busy",
  "waiting",
  "limited",
  "exited",
  "failed",
  "parked",
  "swapping",
  "stopped",
] as const satisfies readonly SessionState[];

// Compile-time: every SessionState is listed above (tsc fails here otherwise).
type Unlisted = Exclude<SessionState, (typeof SESSION_STATES)[number]>;
export const ALL_STATES_LISTED: [Unlisted] extends [never] ? true : never = true;

/** The state a new row starts in (SessionService.ensure). */
export const INITIAL_STATE: SessionState = "starting";

const ALL = SESSION_STATES;
/** States the daemon owns: the CLI's own hook events leave them as they are (the swap/park logic moves out of them). */
const STICKY = ["swapping", "parked", "stopped"] as const satisfies readonly SessionState[];
const except = (...out: SessionState[]): SessionState[] => ALL.filter((s) => !out.includes(s));

interface Rule {
  /** the state the operation produces */
  to: SessionState;
  /** the states it may start from */
  from: readonly SessionState[];
  /** states it leaves as they are (state and reason not written); neither here nor in `from`: not expected */
  keep?: readonly SessionState[];
  /** who does it, and when */
  what: string;
}

/**
 * The table. Hook operations (`hook_*`) cover every state (kept or moved); a daemon operation from a state
 * outside its `from` is not expected: SessionService records it (event session.transition_unexpected) and
 * still writes the operation's state, as before the table, so no session is left stuck by a missing entry.
 */
export const TRANSITIONS = {
  // sessions/session-service.ts
  launch: { to: "starting", from: ALL, what: "start(): a CLI launched (create, respawn, restart, resume)" },
  adopt: {
    to: "idle",
    from: ["starting", "swapping", "exited", "stopped"],
    keep: ["idle", "busy", "waiting", "limited"],
    what: "ensure(): a live CLI of ours found at start (parked and failed sessions are left before)",
  },
  conflict: { to: "failed", from: ALL, what: "ensure(): a tmux session of that name that is not ours" },
  cli_missing: { to: "failed", from: ALL, what: "start(): no Claude Code CLI to run" },
  start_timeout: { to: "failed", from: ["starting"], what: "no SessionStart within sessions.start_timeout" },
  exit_seen: {
    to: "exited",
    from: except("failed", "parked", "stopped"),
    what: "sweep: the CLI's pane is dead or gone; a restart is scheduled",
  },
  crash_loop: {
    to: "failed",
    from: except("failed", "parked", "stopped"),
    what: "sweep: too many restarts in sessions.crash_loop_window",
  },
  park: { to: "parked", from: ALL, what: "no usable account: held until the earliest reset" },
  remove: { to: "stopped", from: ALL, what: "remove(): config removal, pool shrink" },
  // pool/pool.ts, inbox/task-waits.ts
  pool_reuse: { to: "starting", from: ALL, what: "pool: a pool session's name started again, a new conversation" },
  interrupted: { to: "idle", from: ["busy", "waiting"], what: "pool: a task's turn cut by Escape (cancel, timeout)" },
  dialog_allowed: { to: "busy", from: ["waiting"], what: "task answer yes: the turn goes on" },
  dialog_denied: { to: "idle", from: ["idle", "busy", "waiting"], what: "task answer no: the turn ended at the call" },
  // sessions/swap.ts, sessions/continue-turn.ts
  swap_begin: { to: "swapping", from: except("stopped"), what: "swap: locked, the move begins" },
  swap_launch: { to: "swapping", from: ["swapping", "starting"], what: "swap: the new (or rollback) CLI launched" },
  swap_finished: {
    to: "idle",
    from: ["swapping", "starting"],
    what: "swap: done, nothing owed or the resend answered",
  },
  swap_finished_busy: { to: "busy", from: ["swapping", "starting"], what: "swap: done, the resent prompt's turn runs" },
  swap_rolled_back: { to: "idle", from: ["swapping", "starting"], what: "swap: back on the old account" },
  swap_recover: { to: "starting", from: ["swapping"], what: "start after a crash: an interrupted swap's session" },
  // quota/limit-reactor.ts, sessions/park-resume.ts
  limit_seen: { to: "limited", from: ["busy"], what: "limit reactor: limit text in a silent busy pane" },
  limit_replay: {
    to: "limited",
    from: except("failed", "swapping", "stopped"),
    what: "limit reactor: a refusal queued while the session was held, acted on",
  },
  resume_in_place: { to: "idle", from: ["parked"], what: "park-resume: a parked session's account is back" },
  resume_relaunch: { to: "starting", from: ["parked"], what: "park-resume: a parked session restarts elsewhere" },
  // sessions/apply-event.ts: the CLI's hook events
  hook_start: { to: "idle", from: except(...STICKY), keep: STICKY, what: "SessionStart" },
  hook_prompt: {
    to: "busy",
    from: except("swapping", "stopped"),
    keep: ["swapping", "stopped"],
    what: "UserPromptSubmit (a parked session that took a prompt works on it)",
  },
  hook_stop: { to: "idle", from: except(...STICKY), keep: STICKY, what: "Stop" },
  hook_limit: { to: "limited", from: except(...STICKY), keep: STICKY, what: "StopFailure rate_limit (usage limit)" },
  hook_refused: {
    to: "idle",
    from: except(...STICKY),
    keep: STICKY,
    what: "StopFailure of another kind, or a server throttle",
  },
  hook_dialog: {
    to: "waiting",
    from: except(...STICKY),
    keep: STICKY,
    what: "PermissionRequest, Notification permission_prompt or elicitation_dialog",
  },
  hook_idle_prompt: {
    to: "idle",
    from: except("busy", ...STICKY),
    keep: ["busy", ...STICKY],
    what: "Notification idle_prompt",
  },
  hook_end: { to: "exited", from: except(...STICKY), keep: STICKY, what: "SessionEnd" },
} as const satisfies Record<string, Rule>;

export type StateOp = keyof typeof TRANSITIONS;
export const STATE_OPS = Object.keys(TRANSITIONS) as StateOp[];

/**
 * What `op` does to a session in state `from`. `ok` with `changes: false`: the op leaves the state and its
 * reason as they are. Not `ok`: the op is not expected from `from`; `to` is the state it names (pure).
 */
export type Transition =
  { ok: true; to: SessionState; changes: boolean } | { ok: false; to: SessionState; reason: string };

export function transition(from: SessionState, op: StateOp): Transition {
  const rule: Rule = TRANSITIONS[op];
  if (rule.keep?.includes(from)) return { ok: true, to: from, changes: false };
  if (rule.from.includes(from)) return { ok: true, to: rule.to, changes: true };
  return { ok: false, to: rule.to, reason: `${op} is not expected from ${from} (${rule.what})` };
}

/** A change to a session row other than its state (which moves only by an operation: stateChange). */
export type RowPatch = Omit<Partial<SessionRow>, "state">;

/**
 * The row change `op` makes, with `patch`, to a row in state `from`: `patch` and the table's state; when the
 * op keeps the state, `patch` without its `stateReason` (the reason belongs to the state). `t` says whether
 * the table expects it (not: the op's own state is in the change all the same).
 */
export function stateChange(
  from: SessionState,
  op: StateOp,
  patch: RowPatch = {},
): { change: Partial<SessionRow>; t: Transition } {
  const t = transition(from, op);
  if (t.ok && !t.changes) {
    const { stateReason: _reason, ...rest } = patch;
    return { change: rest, t };
  }
  return { change: { ...patch, state: t.to }, t };
}
