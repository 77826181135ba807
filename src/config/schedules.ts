// `schedules:` (issue 18 point 5): recurring pool tasks. The shape of one entry, and the checks that need the
// rest of the config (the default project, inbox.allowed_roots). What a run does is src/schedules/.
import { sep } from "node:path";
import { z } from "zod";
import { checkPromptText } from "../claude/prompt-text.js";
import { PRIORITY_MAX, PRIORITY_MIN, TIMEOUT_MAX_MS, TIMEOUT_MIN_MS } from "./task-limits.js";
import { canonicalTimezone, cronProblem } from "../util/cron.js";
import { absPath, describe, duration, int, matching } from "./fields.js";

/** A schedule's name is part of its runs' task ids (`sched-<name>-<time>`), so it is kept to plain characters. */
export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const CATCH_UP = ["none", "latest"] as const;
/** `{{date}}` (the run's date in the schedule's zone, YYYY-MM-DD) and `{{name}}` (the schedule's name). */
export const PLACEHOLDERS = ["date", "name"] as const;
const PLACEHOLDER_RE = /\{\{\s*([^}]*?)\s*\}\}/g;
/** A prompt is a few paragraphs; inbox.max_file_bytes still applies to each run's task. */
const PROMPT_MAX_CHARS = 100_000;

export interface ScheduleConfig {
  name: string;
  /** a croner expression (util/cron.ts CRON_MODE), as written */
  cron: string;
  /** canonical IANA name; undefined = the daemon's local time */
  timezone?: string | undefined;
  /** absolute; undefined = pool.project (required then) */
  project?: string | undefined;
  /** the task's prompt, with {{date}} and {{name}} filled in at each run */
  prompt: string;
  /** undefined = pool.worktree */
  worktree?: boolean | undefined;
  /** ms; undefined = pool.task_timeout */
  timeout?: number | undefined;
  priority: number;
  /** runs whose time passed while the daemon was down: none = skipped, latest = the latest one runs once */
  catch_up: (typeof CATCH_UP)[number];
}

export function scheduleSchema(home: string) {
  return z.strictObject({
    name: matching(SCHEDULE_NAME, "must be 1-64 letters, digits, '_' or '-', starting with a letter or digit"),
    cron: z.string().superRefine((expr, ctx) => {
      const problem = cronProblem({ cron: expr });
      if (problem)
        ctx.addIssue({
          code: "custom",
          message: `not a cron expression (5 fields, or 6 with seconds first): ${problem}; got ${describe(expr)}`,
        });
    }),
    timezone: z
      .string()
      .transform((tz, ctx) => {
        const canonical = canonicalTimezone(tz);
        if (canonical) return canonical;
        ctx.addIssue({
          code: "custom",
          message: `not a time zone name (IANA, like Europe/Berlin or UTC), got ${describe(tz)}`,
        });
        return z.NEVER;
      })
      .optional(),
    project: absPath(home).optional(),
    prompt: z
      .string()
      .max(PROMPT_MAX_CHARS, { error: `must be at most ${PROMPT_MAX_CHARS} characters` })
      .superRefine((p, ctx) => {
        const problem = promptProblem(p);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    worktree: z.boolean().optional(),
    timeout: duration(TIMEOUT_MIN_MS)
      .refine((ms) => ms <= TIMEOUT_MAX_MS, { error: "must be at most 7d" })
      .optional(),
    priority: int(PRIORITY_MIN, PRIORITY_MAX).default(0),
    catch_up: z.enum(CATCH_UP).default("latest"),
  });
}

/** The prompt with its placeholders filled in. */
export function fillPrompt(prompt: string, values: { date: string; name: string }): string {
  return prompt.replace(PLACEHOLDER_RE, (whole, key: string) =>
    key === "date" || key === "name" ? values[key] : whole,
  );
}

function promptProblem(p: string): string | null {
  const unknown = [...p.matchAll(PLACEHOLDER_RE)]
    .map((m) => m[1]!)
    .filter((k) => !(PLACEHOLDERS as readonly string[]).includes(k));
  if (unknown.length)
    return `unknown placeholder {{${unknown[0]}}} (known: ${PLACEHOLDERS.map((k) => `{{${k}}}`).join(", ")})`;
  const checked = checkPromptText(fillPrompt(p, { date: "2026-01-01", name: "name" }));
  return checked.ok ? null : checked.reason;
}

export interface ScheduleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Each schedule's project (its own, else pool.project) must be given, lie inside
 * inbox.allowed_roots (compared as written here; by real path again at each run), and, when `isDir` is
 * given (loading a file, not parsing text in a test), be a directory. With `worktreeRequired` (the pool runs
 * bypassPermissions) a schedule's `worktree: false` is an error: each of its runs would be refused.
 */
export function scheduleIssues(
  schedules: readonly ScheduleConfig[],
  defaults: { project?: string | undefined; allowedRoots: readonly string[]; worktreeRequired?: boolean },
  isDir?: (p: string) => boolean,
): ScheduleIssue[] {
  const issues: ScheduleIssue[] = [];
  schedules.forEach((s, i) => {
    if (defaults.worktreeRequired && s.worktree === false) {
      issues.push({
        path: ["schedules", i, "worktree"],
        message:
          "false is refused: pool.permission_mode is bypassPermissions, so pool tasks run only in a git worktree of their own",
      });
    }
    const project = s.project ?? defaults.project;
    const path = ["schedules", i, "project"];
    if (!project) {
      issues.push({ path, message: "is required: none given and pool.project is not set" });
      return;
    }
    const own = s.project ? "" : " (pool.project)";
    if (!defaults.allowedRoots.some((r) => project === r || project.startsWith(r.endsWith(sep) ? r : r + sep))) {
      issues.push({
        path,
        message: `${project}${own} is not inside inbox.allowed_roots (${defaults.allowedRoots.join(", ") || "none"}); add it, or its folder, there`,
      });
      return;
    }
    if (isDir && !isDir(project))
      issues.push({ path, message: `${project}${own} does not exist or is not a directory` });
  });
  return issues;
}
