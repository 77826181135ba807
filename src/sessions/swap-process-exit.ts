// When has the swapped-out CLI ended? Read from /proc, without spawning anything: tmux marks the pane dead
// (`#{pane_dead}`, and its `pane-died` hook) 120–170 ms after the CLI process has exited (measured on tmux
// 3.3a with CLI 2.1.197 and 2.1.332, docs/notes/swap-exit.md), and each `list-panes` to ask costs a tmux
// client process on a loaded box. A process that has exited is a zombie until tmux reaps it, then gone.
import { readFileSync } from "node:fs";

export interface ProcStat {
  /** the state letter: R, S, D, Z (exited, not reaped yet), X (dead), … */
  state: string;
  /** field 22: when the process started, in clock ticks since boot; tells a reused pid apart */
  startTime: number;
}

/**
 * Pure: the state and start time from the text of `/proc/<pid>/stat`. The command name (field 2) is in
 * parentheses and may itself hold spaces and `)`, so the fields are counted from the last `)`. null when
 * the text is not such a line.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  const state = rest[0];
  const startTime = Number(rest[19]);
  if (!state || !/^[A-Za-z]$/.test(state) || !Number.isSafeInteger(startTime)) return null;
  return { state, startTime };
}

function readStat(pid: number): ProcStat | "gone" | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH"
      ? "gone"
      : null;
  }
}

/**
 * The start time of a live process, to pass to processEnded; null when /proc can't tell (not Linux, no
 * such process, an unreadable entry): the caller then watches tmux's pane state instead.
 */
export function processStart(pid: number): number | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  const s = readStat(pid);
  return s && s !== "gone" && s.state !== "Z" && s.state !== "X" ? s.startTime : null;
}

/**
 * Whether process `pid`, which was started at `startTime` (processStart), has exited: a zombie, gone, or
 * another process now holds the pid. false while it runs, and when its entry can't be read.
 */
export function processEnded(pid: number, startTime: number): boolean {
  const s = readStat(pid);
  if (s === "gone") return true;
  if (s === null) return false;
  return s.state === "Z" || s.state === "X" || s.startTime !== startTime;
}
