// One dispatcher tick, decided: which queued task goes to which idle pool session, which sessions to
// reset, start and stop. Pure: the dispatcher passes a snapshot and `now`; sizing comes from decideScale.
import { decideScale, type ScaleSession } from "../pool/autoscale.js";
import type { PlanSession, StartSpec } from "../pool/pool.js";

export type { PlanSession, StartSpec };

export interface PlanTask {
  id: string;
  project: string;
  model: string | null;
  account: string | null;
}

export interface PlanInput {
  now: number;
  min: number;
  max: number;
  idleTimeoutMs: number;
  /** ready queued tasks, highest priority first, then oldest */
  tasks: PlanTask[];
  sessions: PlanSession[];
  /** project for sessions started only to reach `min` */
  defaultProject: string | null;
}

export interface Plan {
  assign: { task: string; session: string }[];
  clear: string[];
  start: StartSpec[];
  stop: string[];
  /** tasks no session can take yet */
  waiting: number;
  reasons: string[];
}

// An exited CLI is being restarted by the session service: still part of the pool, just not free.
const GONE = new Set(["failed", "stopped"]);
const free = (s: PlanSession) => s.state === "idle" && !s.hasTask && !s.op && !s.locked;
const fits = (s: PlanSession | StartSpec, t: PlanTask) => s.project === t.project && s.model === t.model;

export function planDispatch(input: PlanInput): Plan {
  const reasons: string[] = [];
  const available = input.sessions.filter((s) => free(s) && s.clean);
  const clear = input.sessions.filter((s) => free(s) && !s.clean).map((s) => s.name);
  // The most recently freed session first: the others stay idle and can time out.
  available.sort((a, b) => (b.idleSince ?? 0) - (a.idleSince ?? 0) || cmp(a.name, b.name));
  const assign: Plan["assign"] = [];
  const waiting: PlanTask[] = [];
  for (const t of input.tasks) {
    const i = pick(available, t);
    if (i < 0) {
      waiting.push(t);
      continue;
    }
    assign.push({ task: t.id, session: available[i]!.name });
    available.splice(i, 1);
  }
  // Sessions about to be free (starting, being reset) will take a waiting task of their own project.
  const soon = input.sessions.filter(
    (s) =>
      !GONE.has(s.state) &&
      !s.hasTask &&
      !s.locked &&
      (s.op === "starting" || s.op === "clearing" || s.state === "starting" || (free(s) && !s.clean)),
  );
  const unserved = waiting.filter((t) => {
    const i = soon.findIndex((s) => fits(s, t));
    if (i < 0) return true;
    soon.splice(i, 1);
    return false;
  });
  // Leftover free sessions can't serve what waits (other project or model): only idle for the scaler
  // when nothing waits, else they would be counted as absorbing the backlog.
  const leftover = new Set(available.map((s) => s.name));
  const scaleSessions: ScaleSession[] = input.sessions.map((s) => {
    const idle = leftover.has(s.name) && unserved.length === 0;
    return {
      name: s.name,
      state: GONE.has(s.state) ? s.state : idle ? "idle" : "busy",
      idleSince: s.idleSince,
      busy: !idle,
      starting: false,
    };
  });
  const d = decideScale({
    now: input.now,
    min: input.min,
    max: input.max,
    idleTimeoutMs: input.idleTimeoutMs,
    queued: unserved.length,
    sessions: scaleSessions,
  });
  reasons.push(...d.reasons);
  const start: StartSpec[] = [];
  for (let i = 0; i < d.start; i++) {
    const t = unserved[i];
    if (t) start.push({ project: t.project, model: t.model, account: t.account });
    else if (input.defaultProject) start.push({ project: input.defaultProject, model: null, account: null });
    else reasons.push("cannot start a session to reach min: pool.project is not set");
  }
  const stop = [...d.stop];
  // At max with work waiting for another project: free sessions that can't serve it make room.
  const stuck = unserved.length - start.length;
  if (stuck > 0 && leftover.size > 0) {
    const victims = available
      .filter((s) => !stop.includes(s.name))
      .sort((a, b) => (a.idleSince ?? 0) - (b.idleSince ?? 0))
      .slice(0, stuck);
    for (const v of victims) stop.push(v.name);
    if (victims.length)
      reasons.push(`pool full: stopping ${victims.map((v) => v.name).join(", ")} (another project waits)`);
  }
  return { assign, clear, start, stop, waiting: waiting.length, reasons };
}

/** Index of the session for `t`: same project and model, the task's preferred account first. */
function pick(sessions: PlanSession[], t: PlanTask): number {
  let best = -1;
  for (let i = 0; i < sessions.length; i++) {
    const s = sessions[i]!;
    if (!fits(s, t)) continue;
    if (t.account && s.account === t.account) return i;
    if (best < 0) best = i;
  }
  return best;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
