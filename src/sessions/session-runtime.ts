// What the daemon knows of one session in memory only (issue 15 point 2): one record per session, owned by
// SessionService, created on first use and dropped when the session is removed. The store row is what
// survives a restart; this is what does not (timers, launch bookkeeping, the running prompt's id).
import type { Timer } from "../util/clock.js";

/** A CLI's launch: when, whether its SessionStart has come since, and the conversation it was to resume. */
export interface LaunchRecord {
  at: number;
  started: boolean;
  /** the conversation id passed to --resume (null: a new conversation) */
  resumeOf: string | null;
}

export interface SessionRuntime {
  /** when the sweep restarted its CLI, within sessions.crash_loop_window (the crash-loop count) */
  restartTimes: number[];
  /** the restart pending or under way (kept until the CLI is respawned: a second would kill its CLI) */
  restartTimer: Timer | null;
  /** a launch is in flight (start: prepareLaunch up to the tmux command's end) */
  launching: boolean;
  /** the service's launch count at its latest launch: the sweep skips a session launched since its pane list */
  launchSeq: number;
  /** its CLI's latest launch (start timeout, a refused resume) */
  launch: LaunchRecord | null;
  /** a conversation id its CLI refused to resume: the next start is a new conversation */
  refusedResume: string | null;
  /** the prompt_id of its last UserPromptSubmit: a StopFailure with another one is a helper's */
  promptId: string | null;
  /** when its last hook event was applied (ms), or null before the first since the daemon started */
  lastHookAt: number | null;
  /** a busy session: when the sweep first saw its pane idle since its last hook event (lost-stop.ts), or null */
  idleSince: number | null;
  /** its row was restored with a prompt found in the transcript (promptSinceCheckpoint): the adoption continues it */
  continueDue: boolean;
}

function fresh(): SessionRuntime {
  return {
    restartTimes: [],
    restartTimer: null,
    launching: false,
    launchSeq: 0,
    launch: null,
    refusedResume: null,
    promptId: null,
    lastHookAt: null,
    idleSince: null,
    continueDue: false,
  };
}

/** The records by session name. */
export class SessionRuntimes {
  private readonly all = new Map<string, SessionRuntime>();

  /** `name`'s record, created on first use. */
  of(name: string): SessionRuntime {
    let r = this.all.get(name);
    if (!r) {
      r = fresh();
      this.all.set(name, r);
    }
    return r;
  }

  /** `name`'s record if it has one (reads that must not create one). */
  peek(name: string): SessionRuntime | undefined {
    return this.all.get(name);
  }

  /** Forgets `name` (removed), cancelling its pending restart. */
  drop(name: string): void {
    this.all.get(name)?.restartTimer?.cancel();
    this.all.delete(name);
  }

  /** Every pending restart forgotten (shutdown: its abort signal cancels them). */
  clearTimers(): void {
    for (const r of this.all.values()) r.restartTimer = null;
  }

  get size(): number {
    return this.all.size;
  }
}
