import { diffConfig, type ConfigDiff } from "./config/diff.js";
import type { Config } from "./config/types.js";
import type { SessionService } from "./sessions/session-service.js";
import type { SessionSpec } from "./sessions/types.js";
import { errorMessage } from "./util/errors.js";
import type { Logger } from "./util/log.js";

/** What a reload needs from the daemon: small on purpose, so the order of steps is readable here. */
export interface ReloadTarget {
  current(): Config;
  adopt(next: Config): void;
  prepareHomes(): void;
  applyTunables(next: Config): void;
  sessions: SessionService;
  specFor(name: string): SessionSpec | undefined;
  event(kind: string, data: Record<string, unknown>): void;
  log: Logger;
}

/**
 * Applies a valid new config to a running daemon: accounts added, disabled or re-homed, sessions added
 * or removed (a removed session is stopped only after its running turn ends), thresholds, intervals
 * and limits changed. Keys that need a restart are reported and keep their old value.
 */
export async function applyReload(t: ReloadTarget, nextIn: Config): Promise<ConfigDiff> {
  const prev = t.current();
  const diff = diffConfig(prev, nextIn);
  // Keys that can't change live keep their running value, so what runs and what we report agree.
  const next: Config = {
    ...nextIn,
    state_dir: prev.state_dir,
    tmux: prev.tmux,
    sessions: { ...nextIn.sessions, shared_projects_dir: prev.sessions.shared_projects_dir },
    checkpoint: { ...nextIn.checkpoint, dir: prev.checkpoint.dir },
    inbox: { ...nextIn.inbox, dir: prev.inbox.dir },
    mcp_http: { ...nextIn.mcp_http, listen: prev.mcp_http.listen, bearer_token_env: prev.mcp_http.bearer_token_env },
  };
  t.adopt(next);
  t.prepareHomes();
  t.applyTunables(next);
  for (const name of diff.removedSessions) void stopAfterTurn(t, name);
  for (const name of [...diff.addedSessions, ...diff.changedSessions]) {
    const spec = t.specFor(name);
    if (!spec) continue;
    try {
      if (diff.changedSessions.includes(name)) await restartWhenIdle(t, spec);
      else await t.sessions.ensure(spec);
    } catch (e) {
      t.log.error({ session: name, err: errorMessage(e) }, "reload: could not start session");
    }
  }
  if (diff.needsRestart.length)
    t.log.warn({ keys: diff.needsRestart }, "reload: these keys take effect at the next restart");
  t.event("daemon.reloaded", { ...diff });
  t.log.info({ ...diff }, "config reloaded");
  return diff;
}

async function waitTurnEnd(t: ReloadTarget, name: string): Promise<void> {
  const row = t.sessions.get(name);
  if (row?.state !== "busy") return;
  await t.sessions.waitForSignal(
    name,
    (s) => s.signal.kind === "turn_done" || s.signal.kind === "turn_failed",
    30 * 60_000,
  );
}

async function stopAfterTurn(t: ReloadTarget, name: string): Promise<void> {
  try {
    t.sessions.specs.delete(name); // the sweeper stops restarting it right away
    await waitTurnEnd(t, name);
    await t.sessions.remove(name, "removed from config");
  } catch (e) {
    t.log.error({ session: name, err: errorMessage(e) }, "reload: could not stop session");
  }
}

async function restartWhenIdle(t: ReloadTarget, spec: SessionSpec): Promise<void> {
  await waitTurnEnd(t, spec.name);
  const row = t.sessions.get(spec.name);
  t.sessions.specs.set(spec.name, spec);
  if (row && row.project !== spec.project) {
    await t.sessions.remove(spec.name, "project changed");
  }
  await t.sessions.ensure(spec);
  if (row && row.project === spec.project)
    await t.sessions.restart(spec.name, "settings changed in config", spec.account ?? undefined);
}
