// The daemon-wide signals: what a hook event means beyond its row patch (sessions/apply-event.ts makes them from
// hook events; SessionService hands them on) for the session service, the prompt sender, the limit reactor,
// the dispatcher and the pool.

/** What an event means beyond the row patch; the session service acts on these. */
export type Signal =
  | { kind: "session_start"; source: string; claudeSessionId: string }
  | { kind: "prompt_submitted"; prompt: string; account: string }
  | { kind: "turn_done"; message: string | null }
  | {
      kind: "turn_failed";
      error: string;
      message: string | null;
      prompt: string | null;
      /** the account the failing CLI ran on (its hook event's), which a swap may have moved the row off since */
      account?: string;
    }
  | { kind: "session_end"; reason: string | null }
  /** a tool-permission dialog opened (PermissionRequest hook): the tool call in one line (permission-dialog.ts toolSummary) */
  | { kind: "permission_request"; tool: string | null; summary: string | null };

/** A Signal of one session, with the hook event's time (ms since the epoch). */
export interface SessionSignal {
  session: string;
  ts: number;
  signal: Signal;
}
