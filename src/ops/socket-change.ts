// When `tmux.socket` changed between two runs of the daemon, its sessions still run on the old tmux
// server: left there, the new server would get a second live `claude --resume` of each conversation.
// The daemon remembers the socket it used (state_dir/tmux-socket); at start, before it adopts or
// creates sessions, it ends its own sessions on the old server, each after its running turn.
import { readFileSync } from "node:fs";
import type { Tmux } from "../tmux/tmux.js";
import { writeFileAtomic } from "../util/fs-atomic.js";
import { systemClock } from "../util/clock.js";
import { pollUntil } from "../util/wait.js";

/**
 * The socket the daemon used last ("" = tmux's default server), or null when it never recorded one. `file`:
 * config/paths.ts tmuxSocketRecord.
 */
export function recordedSocket(file: string): string | null {
  try {
    const v = (JSON.parse(readFileSync(file, "utf8")) as { socket?: unknown }).socket;
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}

export function recordSocket(file: string, socket: string): void {
  writeFileAtomic(file, `${JSON.stringify({ socket })}\n`, 0o600);
}

export interface SocketMoveDeps {
  /** A Tmux on the old socket. */
  old: Tmux;
  /** Names of this daemon's sessions (its store's rows): only those are ended, other daemons' are left alone. */
  ours: Set<string>;
  /** Whether a session's turn is still running (its row is `busy`). */
  busy: (name: string) => boolean;
  /** How long to wait for a running turn before ending it anyway (ms). */
  turnTimeoutMs: number;
  event: (kind: string, session: string, data: Record<string, unknown>) => void;
}

/**
 * Ends this daemon's sessions on the old server (owner-marked, named in `ours`), each once its turn has
 * ended (or the timeout passed), and returns their names. The conversations continue on the new server
 * when the daemon creates their sessions there (`--resume`). An old server that is gone ends nothing.
 */
export async function endSessionsOnOldServer(d: SocketMoveDeps): Promise<string[]> {
  const panes = await d.old.listPanes().catch(() => []);
  const names = [...new Set(panes.filter((p) => p.owned && d.ours.has(p.session)).map((p) => p.session))];
  await Promise.all(
    names.map(async (name) => {
      const waited = await pollUntil(() => !d.busy(name), {
        clock: systemClock,
        timeoutMs: d.turnTimeoutMs,
        intervalMs: 200,
      });
      await d.old.killSession(name);
      d.event("session.moved_from_old_tmux_server", name, { turnEnded: !!waited });
    }),
  );
  return names;
}
