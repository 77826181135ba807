import type { Config } from "./types.js";

/** What a reload changes, worked out purely from the old and new config. */
export interface ConfigDiff {
  addedSessions: string[];
  removedSessions: string[];
  /** same name, different project/account/args: restarted on the new settings once idle */
  changedSessions: string[];
  addedAccounts: string[];
  removedAccounts: string[];
  /** home moved: sessions on it pick up the new HOME at their next launch */
  rehomedAccounts: string[];
  /** schedules by name (schedules/schedule-service.ts applies them: changed = any key; a new cron or zone starts its count afresh) */
  addedSchedules: string[];
  removedSchedules: string[];
  changedSchedules: string[];
  /** keys that only take effect at the next start (the daemon keeps running on the old value) */
  needsRestart: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffConfig(prev: Config, next: Config): ConfigDiff {
  const prevS = new Map(prev.dedicated.map((d) => [d.name, d]));
  const nextS = new Map(next.dedicated.map((d) => [d.name, d]));
  const prevA = new Map(prev.accounts.map((a) => [a.name, a]));
  const nextA = new Map(next.accounts.map((a) => [a.name, a]));
  const prevSch = new Map(prev.schedules.map((s) => [s.name, s]));
  const nextSch = new Map(next.schedules.map((s) => [s.name, s]));
  const needsRestart: string[] = [];
  if (prev.state_dir !== next.state_dir) needsRestart.push("state_dir");
  if (prev.tmux.socket !== next.tmux.socket) needsRestart.push("tmux.socket");
  if (prev.mcp_http.listen !== next.mcp_http.listen) needsRestart.push("mcp_http.listen");
  if (prev.mcp_http.bearer_token_env !== next.mcp_http.bearer_token_env) needsRestart.push("mcp_http.bearer_token_env");
  if (prev.sessions.shared_projects_dir !== next.sessions.shared_projects_dir)
    needsRestart.push("sessions.shared_projects_dir");
  if (prev.checkpoint.dir !== next.checkpoint.dir) needsRestart.push("checkpoint.dir");
  if (prev.inbox.dir !== next.inbox.dir) needsRestart.push("inbox.dir");
  if (!same(prev.store, next.store)) needsRestart.push("store");
  if (prev.box.name !== next.box.name) needsRestart.push("box.name");
  return {
    addedSessions: [...nextS.keys()].filter((n) => !prevS.has(n)),
    removedSessions: [...prevS.keys()].filter((n) => !nextS.has(n)),
    changedSessions: [...nextS.keys()].filter((n) => prevS.has(n) && !same(prevS.get(n), nextS.get(n))),
    addedAccounts: [...nextA.keys()].filter((n) => !prevA.has(n)),
    removedAccounts: [...prevA.keys()].filter((n) => !nextA.has(n)),
    rehomedAccounts: [...nextA.keys()].filter((n) => prevA.has(n) && prevA.get(n)!.home !== nextA.get(n)!.home),
    addedSchedules: [...nextSch.keys()].filter((n) => !prevSch.has(n)),
    removedSchedules: [...prevSch.keys()].filter((n) => !nextSch.has(n)),
    changedSchedules: [...nextSch.keys()].filter((n) => prevSch.has(n) && !same(prevSch.get(n), nextSch.get(n))),
    needsRestart,
  };
}
