// The loud line about pool sessions that run every tool call without asking (pool.permission_mode
// bypassPermissions, issue 18 point 4): doctor prints it, the daemon logs it at start and on reload.
import type { Config } from "../config/types.js";
import { fail, ok, warn, type Check } from "./doctor-report.js";

/** The warning for a config whose pool runs with bypassPermissions, or null. */
export function bypassWarning(c: Config): string | null {
  if (c.pool.permission_mode !== "bypassPermissions") return null;
  return (
    "WARNING: pool sessions run with --permission-mode bypassPermissions: every tool call of every pool task (shell commands, " +
    "file writes, network) runs WITHOUT ASKING. Each task works in its own git worktree (pool.worktree), but the commands " +
    "still run as this user with this user's files, network and credentials. Only do this on a box you can restore."
  );
}

/**
 * doctor's check of pool.permission_mode: ok with the mode; a warning (the line above) for
 * bypassPermissions; a failure when the daemon runs as root without IS_SANDBOX in claude.env, as the CLI then
 * refuses the mode at start ("--dangerously-skip-permissions cannot be used with root/sudo privileges",
 * verified 2.1.197: docs/notes/permission-dialog.md) and every pool session would crash-loop.
 */
export function checkPoolPermissionMode(c: Config, uid: number | null = process.getuid?.() ?? null): Check {
  const mode = c.pool.permission_mode;
  if (!mode)
    return ok("pool permission mode", `claude.permission_mode (${c.claude.permission_mode ?? "the CLI's default"})`);
  const w = bypassWarning(c);
  if (!w) return ok("pool permission mode", mode);
  if (uid === 0 && !c.claude.env.IS_SANDBOX) {
    return fail(
      "pool permission mode",
      `${w} The daemon runs as root, and the CLI refuses bypassPermissions for root unless IS_SANDBOX=1`,
      'run the daemon as an ordinary user, or (in a disposable container) set claude.env.IS_SANDBOX: "1"',
    );
  }
  return warn(
    "pool permission mode",
    w,
    "use pool.permission_mode: acceptEdits or default unless the box is disposable",
  );
}
