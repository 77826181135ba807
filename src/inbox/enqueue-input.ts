// What a caller gives to enqueue a task (MCP task_enqueue, POST /trigger/enqueue, the CLI's enqueue): the
// inbox's own input, checked at the control plane's edge with this schema.
import { z } from "zod";

/** An enqueue request: a task file's fields (inbox/task-file.ts) as JSON. */
export const EnqueueInputSchema = z.strictObject({
  prompt: z.string().min(1).max(1_000_000),
  project: z.string().min(1).max(4096).optional(),
  priority: z.number().int().min(-1000).max(1000).optional(),
  account: z.string().min(1).max(32).optional(),
  model: z.string().min(1).max(100).optional(),
  id: z.string().min(1).max(128).optional(),
  /** run in a git worktree of the project (default pool.worktree) */
  worktree: z.boolean().optional(),
  /** the ref the worktree's branch starts from (default the project's HEAD) */
  base: z.string().min(1).max(200).optional(),
  /** time limit, a duration like 30s or 1h (default pool.task_timeout) */
  timeout: z.string().min(1).max(32).optional(),
  /** only this box may run it (issue 19; a box name, checked by inbox/task-file.ts) */
  box: z.string().min(1).max(63).optional(),
});
export type EnqueueInput = z.infer<typeof EnqueueInputSchema>;
