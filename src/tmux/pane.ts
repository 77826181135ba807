// The pane of a supervised session, as the services that read it or type into it see it (issue 15 point 2):
// what the screen shows, text typed or pasted, a key pressed from a fixed list, whether the pane is there.
// Creating, respawning and killing tmux sessions is not here: that is the session service's (and the swap's
// launch through it). `tmuxPane` is the one implementation, over `Tmux`; the daemon builds it once.
// It lives in tmux/ so that every folder that needs it (checkpoint/, sessions/, quota/, inbox/, control/) may import it.

import type { Tmux } from "./tmux.js";

/**
 * The keys a service may press. A closed list, so no key name can come from user text: text goes
 * through `sendLiteral` or `paste`, which tmux never interprets.
 */
export type PaneKey = "Enter" | "Escape" | "C-c" | "C-u" | "BSpace" | "Home" | "DC" | "End";

/** A session's pane as tmux lists it. */
export interface PaneStatus {
  /** the program in it has exited (the pane is kept: remain-on-exit) */
  dead: boolean;
  /** the pane's process (the CLI, through its launcher's exec); null when tmux did not say */
  pid: number | null;
}

/** Each method takes the session's name (an exact tmux target, never format-expanded). */
export interface Pane {
  /**
   * The pane's text: the visible screen, wrapped lines joined; with `scrollbackLines` > 0 also up to that
   * many lines of history above it. Rejects (tmux_failed) when the session or the server is gone.
   */
  capture(name: string, scrollbackLines?: number): Promise<string>;
  /** Types single-line text literally (`send-keys -l`: no key-name lookup). Rejects when the pane is gone. */
  sendLiteral(name: string, text: string): Promise<void>;
  /** Pastes text as a bracketed paste (through a buffer loaded from stdin): newlines don't submit, nothing is interpreted. */
  paste(name: string, text: string): Promise<void>;
  /** Presses keys from the fixed list, in order. Rejects when the pane is gone. */
  sendKeys(name: string, ...keys: PaneKey[]): Promise<void>;
  /** The session's pane; null when there is no tmux session of that name (or no server). */
  status(name: string): Promise<PaneStatus | null>;
}

/** The Pane over a real tmux server (one `Tmux`, so its call count stays the daemon's). */
export function tmuxPane(tmux: Tmux): Pane {
  return {
    capture: (name, scrollbackLines = 0) => tmux.capture(name, scrollbackLines),
    sendLiteral: (name, text) => tmux.sendLiteral(name, text),
    paste: (name, text) => tmux.paste(name, text),
    sendKeys: (name, ...keys) => tmux.sendKeys(name, ...keys),
    status: async (name) => {
      const p = (await tmux.listPanes()).find((x) => x.session === name);
      return p ? { dead: p.dead, pid: p.pid } : null;
    },
  };
}
