// The checks every task gets, wherever it comes from (a dropped file, an enqueue request, a schedule's run,
// doctor's look at the schedules), built from the config in one place so they can't disagree.
import { statSync } from "node:fs";
import type { Config } from "../config/types.js";
import { checkAllowedProject } from "./allowed-roots.js";
import type { ValidateContext } from "./task-file.js";
import { notAGitRepo } from "./worktree.js";

/** validateTask's context for config `c`; `home` is the daemon user's home (never an allowed project). */
export function taskValidation(c: Config, home: string): ValidateContext {
  return {
    defaultProject: c.pool.project ?? null,
    accounts: c.accounts.map((a) => a.name),
    projectExists: (p) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    },
    projectRefused: (p) => refusedProject(c, home, p),
    defaultWorktree: c.pool.worktree,
    worktreeRequired: c.pool.permission_mode === "bypassPermissions",
    notGit: (p) => notAGitRepo(p),
    boxes: { me: c.box.name, shared: c.store.backend === "postgres" },
  };
}

/** Why `project` may not be a task's project (outside inbox.allowed_roots by real path, `/`, the home), or null. */
export function refusedProject(c: Config, home: string, project: string): string | null {
  const r = checkAllowedProject(project, c.inbox.allowed_roots, home);
  return r.ok ? null : r.reason;
}
