// A turn that ended without its Stop reaching the daemon: the hook could not spool it (a disk full for longer
// than its HOOK_RETRY_S of retries; docs/reliability.md "A full disk") or the CLI's hook timeout cut it. Left
// alone, the session would show `busy` until its next prompt and a pool task would never finish. The sweep
// reads a busy session's pane anyway (its dialogs); this decides, purely, when what it sees is enough to
// take the turn as ended: the CLI idle at its input box, nothing from its hooks, for long enough, and the
// transcript holding an answer to that very prompt.
import { HOOK_TIMEOUT_S } from "./hook-script.js";

/**
 * How long (ms) the pane must show the CLI idle, with no hook event, before a busy session's turn is taken as
 * ended: beyond the CLI's timeout for our hook (HOOK_TIMEOUT_S, within which the hook retries a full disk), so
 * a Stop that is only late is never overtaken.
 */
export const LOST_STOP_MS = (HOOK_TIMEOUT_S + 15) * 1000;

export interface LostStopInput {
  now: number;
  /** the row: its state and the prompt it runs */
  rowState: string;
  lastPrompt: string | null;
  lastPromptAnswered: boolean;
  /** when the pane was first seen idle (no spinner, no dialog, no limit message) since then, or null */
  idleSince: number | null;
  /** when a hook event of this session was last applied (or the prompt submitted), ms */
  lastHookAt: number;
  /** the transcript's last prompt and whether an assistant line follows it; null without a readable one */
  transcript: { lastUserPrompt: string | null; answered: boolean } | null;
}

/** The part of lostStop that needs no transcript: a busy turn, idle and unheard from for long enough (pure). */
export function lostStopDue(i: Omit<LostStopInput, "transcript">): boolean {
  if (i.rowState !== "busy" || !i.lastPrompt || i.lastPromptAnswered || i.idleSince === null) return false;
  return i.now - i.idleSince >= LOST_STOP_MS && i.now - i.lastHookAt >= LOST_STOP_MS;
}

/** Whether the busy session's running turn is to be taken as ended without its Stop (pure). */
export function lostStop(i: LostStopInput): boolean {
  if (!lostStopDue(i)) return false;
  return !!i.transcript && i.transcript.lastUserPrompt === i.lastPrompt && i.transcript.answered;
}
