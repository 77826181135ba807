import { dirname, join, resolve } from "node:path";
import type { Config } from "./types.js";

/** The single source of the daemon's on-disk layout. */
export interface Paths {
  stateDir: string;
  spoolDir: string;
  controlSocket: string;
  checkpointDir: string;
  inboxDir: string;
  sharedProjectsDir: string;
}

export function pathsFor(c: Config): Paths {
  return {
    stateDir: c.state_dir,
    spoolDir: join(c.state_dir, "spool"),
    controlSocket: join(c.state_dir, "control.sock"),
    checkpointDir: c.checkpoint.dir,
    inboxDir: c.inbox.dir,
    sharedProjectsDir: c.pool.shared_projects_dir,
  };
}

/** Where results go: `outbox/` beside the inbox dir, so one parent holds both. */
export function outboxDirFor(inboxDir: string): string {
  return join(dirname(resolve(inboxDir)), "outbox");
}
