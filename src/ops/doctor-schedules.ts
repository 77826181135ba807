// doctor's look at `schedules:` (issue 18 point 5): would each schedule's next run be queued, and when is it?
// The config check already knows the keys are well formed; this asks what only the machine knows, the very
// checks each run's task gets (inbox/task-validation.ts): the project there and allowed by its real path, a
// git work tree for a worktree task, a worktree when the pool bypasses permissions.
import { homedir } from "node:os";
import { fillPrompt } from "../config/schedules.js";
import type { Config } from "../config/types.js";
import { validateTask } from "../inbox/task-file.js";
import { taskValidation } from "../inbox/task-validation.js";
import { cronTimes, dateIn } from "../util/cron.js";
import { fail, ok, warn, type Check } from "./doctor-report.js";

/** One check per schedule: ok with its next run and project; fail with the reason its runs would be refused. */
export function checkSchedules(c: Config, now: number, home = homedir()): Check[] {
  const ctx = taskValidation(c, home);
  return c.schedules.map((s) => {
    const name = `schedule ${s.name}`;
    const next = cronTimes(s).next(now);
    const v = validateTask(
      {
        prompt: fillPrompt(s.prompt, { date: dateIn(next ?? now, s.timezone), name: s.name }),
        project: s.project,
        priority: s.priority,
        worktree: s.worktree,
      },
      ctx,
    );
    if (!v.ok) {
      return fail(
        name,
        `its runs would not be queued: ${v.reason}`,
        "fix the schedule's project or worktree (or pool.project, inbox.allowed_roots) in the config, then reload",
      );
    }
    const where = `project ${v.value.project}${v.value.worktree ? ", each run in its own worktree" : ""}`;
    if (next === null)
      return warn(name, `${s.cron} matches no time ahead: it will never run (${where})`, "fix its cron, or remove it");
    return ok(name, `next run ${new Date(next).toISOString()} (${s.cron}, ${s.timezone ?? "local time"}), ${where}`);
  });
}
