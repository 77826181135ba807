import { dirname, join, resolve } from "node:path";
import type { Config } from "./types.js";

/**
 * The single source of the daemon's on-disk layout: every file and folder the daemon keeps under
 * `state_dir` is named here, and the modules that write one take its path from here (the composition root
 * passes it in). Only a module's own inside is its own: the spool's `bad/` files, a checkpoint's name, the
 * launcher's `env-*` folders, the status-line folder's `feed/` and `user/`.
 */
export interface StateLayout {
  stateDir: string;
  /** the SQLite state (store/db.ts openDb opens it by this name) */
  stateDb: string;
  /** one daemon per state dir (ops/instance-lock.ts): the lock file and the holder's PID */
  lockFile: string;
  pidFile: string;
  /** hook events the CLIs' hooks write, drained in name order (sessions/spool.ts) */
  spoolDir: string;
  /** spool files that could not be read, kept for a while (store/retention.ts prunes them) */
  spoolBadDir: string;
  /** the operator's control socket (0600) */
  controlSocket: string;
  /** our hook script and the --settings file every CLI is launched with (sessions/hook-script.ts) */
  hookFiles: { script: string; settings: string };
  /** our statusLine script and its feed (claude/status-line-files.ts) */
  statusLineDir: string;
  /** the launcher and claude.env's env files (sessions/launch-env.ts) */
  launchDir: string;
  /** when each login happened (accounts/login-ledger.ts) */
  loginLedger: string;
  /** the tmux socket the daemon used last (ops/socket-change.ts) */
  tmuxSocketRecord: string;
  /** task worktrees (inbox/worktree.ts) */
  worktreeDir: string;
  /** where the folders the config may move go when it doesn't (sessions.shared_projects_dir, checkpoint.dir, inbox.dir) */
  defaults: { sharedProjectsDir: string; checkpointDir: string; inboxDir: string };
}

export interface Paths extends StateLayout {
  checkpointDir: string;
  inboxDir: string;
  /** task files taken (inbox/intake.ts moves them here; store/retention.ts prunes them) */
  inboxProcessedDir: string;
  /** task files refused, each with its reason beside it (same) */
  inboxRejectedDir: string;
  outboxDir: string;
  sharedProjectsDir: string;
}

/** The layout of one state dir (absolute): what `pathsFor` gives for everything not set elsewhere in the config. */
export function stateLayout(stateDir: string): StateLayout {
  const spoolDir = join(stateDir, "spool");
  return {
    stateDir,
    stateDb: join(stateDir, "state.db"),
    lockFile: join(stateDir, "daemon.lock"),
    pidFile: join(stateDir, "daemon.pid"),
    spoolDir,
    spoolBadDir: join(spoolDir, "bad"),
    controlSocket: join(stateDir, "control.sock"),
    hookFiles: { script: join(stateDir, "hook.sh"), settings: join(stateDir, "hooks-settings.json") },
    statusLineDir: join(stateDir, "statusline"),
    launchDir: join(stateDir, "launch"),
    loginLedger: join(stateDir, "logins.json"),
    tmuxSocketRecord: join(stateDir, "tmux-socket"),
    worktreeDir: join(stateDir, "worktrees"),
    defaults: {
      sharedProjectsDir: join(stateDir, "shared", "projects"),
      checkpointDir: join(stateDir, "checkpoints"),
      inboxDir: join(stateDir, "inbox"),
    },
  };
}

/** Every path of the layout, with the folders the config may move (checkpoint.dir, inbox.dir, ...). */
export function pathsFor(c: Config): Paths {
  return {
    ...stateLayout(c.state_dir),
    checkpointDir: c.checkpoint.dir,
    inboxDir: c.inbox.dir,
    ...inboxDirsFor(c.inbox.dir),
    outboxDir: outboxDirFor(c.inbox.dir),
    sharedProjectsDir: c.sessions.shared_projects_dir,
  };
}

/** The inbox's own folders for task files it took and refused: `processed/` and `rejected/` inside it. */
export function inboxDirsFor(inboxDir: string): { inboxProcessedDir: string; inboxRejectedDir: string } {
  return { inboxProcessedDir: join(inboxDir, "processed"), inboxRejectedDir: join(inboxDir, "rejected") };
}

/** Where results go: `outbox/` beside the inbox dir, so one parent holds both. */
export function outboxDirFor(inboxDir: string): string {
  return join(dirname(resolve(inboxDir)), "outbox");
}
