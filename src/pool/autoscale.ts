// Sizing of the autonomous pool: how many sessions to start for the backlog and
// which idle ones to stop. Pure: the dispatcher passes `now` and a snapshot.

export interface ScaleSession {
  name: string;
  state: string;
  /** When the session last became idle (epoch ms); null while not idle. */
  idleSince: number | null;
  busy: boolean;
  starting: boolean;
}

export interface ScaleInput {
  now: number;
  min: number;
  max: number;
  idleTimeoutMs: number;
  /** Tasks waiting for a session. */
  queued: number;
  sessions: ScaleSession[];
}

export interface ScaleDecision {
  start: number;
  stop: string[];
  reasons: string[];
}

// Sessions in these states are gone or going: they neither count toward the
// pool size nor can take a task.
const GONE = new Set(["exited", "failed", "stopping", "stopped"]);

const isLive = (s: ScaleSession): boolean => !GONE.has(s.state);
const isStarting = (s: ScaleSession): boolean => s.starting || s.state === "starting";
// Only a session that is idle and not mid-start can take a task right now.
const isIdle = (s: ScaleSession): boolean => !s.busy && !isStarting(s) && s.state === "idle";

/** Decides how many sessions to start and which idle ones to stop. */
export function decideScale(input: ScaleInput): ScaleDecision {
  const reasons: string[] = [];
  const min = Math.max(0, input.min);
  // A max below min would make the pool flap between the two bounds.
  const max = Math.max(min, input.max);
  if (max !== input.max) reasons.push(`max ${input.max} < min ${min}: using ${max}`);
  const live = input.sessions.filter(isLive);
  const current = live.length;
  const start = startCount(input.queued, live, min, max, reasons);
  const stop = start > 0 ? [] : stopList(input, live, min, reasons);
  if (start === 0 && stop.length === 0) reasons.push(`steady: ${current} session(s), ${input.queued} queued`);
  return { start, stop, reasons };
}

function startCount(queued: number, live: ScaleSession[], min: number, max: number, reasons: string[]): number {
  const current = live.length;
  const idle = live.filter(isIdle).length;
  const starting = live.filter(isStarting).length;
  const toMin = Math.max(0, min - current);
  // Tasks beyond what idle and already-starting sessions will absorb.
  const backlog = Math.max(0, queued - idle - starting);
  const room = Math.max(0, max - current);
  const forBacklog = Math.min(room, backlog);
  const start = Math.max(toMin, forBacklog);
  if (toMin > 0) reasons.push(`below min: ${current} < ${min}`);
  if (forBacklog > 0) reasons.push(`backlog: ${queued} queued, ${idle} idle, ${starting} starting`);
  if (backlog > forBacklog) reasons.push(`at max ${max}: ${backlog - forBacklog} task(s) wait for a free session`);
  return start;
}

function stopList(input: ScaleInput, live: ScaleSession[], min: number, reasons: string[]): string[] {
  const expired = live
    .filter((s) => isIdle(s) && s.idleSince !== null && input.now - s.idleSince > input.idleTimeoutMs)
    .sort((l, r) => (l.idleSince ?? 0) - (r.idleSince ?? 0) || (l.name < r.name ? -1 : l.name > r.name ? 1 : 0));
  if (expired.length === 0) return [];
  // Work is waiting: an idle session is about to be given a task, not stopped.
  if (input.queued > 0) {
    reasons.push(`${expired.length} idle past timeout kept: ${input.queued} queued`);
    return [];
  }
  const spare = Math.max(0, live.length - min);
  const stop = expired.slice(0, spare).map((s) => s.name);
  if (stop.length > 0)
    reasons.push(`idle past ${Math.round(input.idleTimeoutMs / 1000)}s: stopping ${stop.join(", ")}`);
  if (expired.length > stop.length)
    reasons.push(`${expired.length - stop.length} idle past timeout kept to hold min ${min}`);
  return stop;
}
