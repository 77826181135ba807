// Bounds of a task's `priority:` and `timeout:`, the same for a task file (inbox/task-file.ts) and a
// schedule entry (config/schedules.ts), so a schedule can never queue a task the inbox would refuse.

/** A task's `timeout:` bounds (ms): at least a second, at most a week. */
export const TIMEOUT_MIN_MS = 1000;
export const TIMEOUT_MAX_MS = 7 * 86_400_000;
/** A task's `priority:` bounds (integers, inclusive). */
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
