// Tasks as the inbox, the dispatcher and the control plane see them (camelCase, independent of columns).

/**
 * queued → running → done | failed | timed_out | cancelled; a retried or re-queued task goes back to queued;
 * a queued task may also be cancelled (or fail, e.g. its worktree could not be made).
 */
export type TaskState = "queued" | "running" | "done" | "failed" | "timed_out" | "cancelled";
export const TASK_STATES: readonly TaskState[] = ["queued", "running", "done", "failed", "timed_out", "cancelled"];

/** What a worktree task did on its branch (inbox/worktree.ts WorktreeSummary), recorded when it ended. */
export interface WorktreeInfo {
  branch: string;
  base: string;
  commits: string[];
  diffStat: string;
  uncommitted: string[];
  /** the worktree folder, when pool.keep_worktrees kept it; null once removed */
  kept: string | null;
  /** why the summary or the removal failed, if it did */
  error?: string;
}

/** What a task file or an enqueue request asks for, validated. */
export interface TaskDraft {
  /** the caller's id, if it gave one (idempotent on it) */
  id: string | null;
  prompt: string;
  /** absolute */
  project: string;
  priority: number;
  /** preferred account */
  account: string | null;
  model: string | null;
  /** run in a git worktree of the project (the front matter's `worktree:`, else pool.worktree) */
  worktree?: boolean;
  /** the ref the worktree's branch starts from; null = the project's HEAD */
  base?: string | null;
  /** the task's own time limit (ms); null = pool.task_timeout */
  timeoutMs?: number | null;
  /** only this box may run it (`box:`, issue 19); null or omitted = any box */
  pinBox?: string | null;
}

export interface TaskRow {
  id: string;
  contentHash: string;
  /** where it came from: `file:<name>`, `cli`, `api`, `schedule:<name>` (a run of a schedule: schedules/) */
  source: string;
  project: string;
  priority: number;
  account: string | null;
  model: string | null;
  prompt: string;
  state: TaskState;
  session: string | null;
  accountUsed: string | null;
  attempts: number;
  result: string | null;
  resultPath: string | null;
  error: string | null;
  /** a retried task waits until then */
  notBefore: number | null;
  createdAt: number;
  /** when it was last handed to a session */
  startedAt: number | null;
  /** when that session confirmed the prompt (UserPromptSubmit) */
  submittedAt: number | null;
  endedAt: number | null;
  updatedAt: number | null;
  /** insertion order: "oldest first" among equal priorities */
  seq: number;
  /** the inbox file name while the file has not been moved out yet */
  intakeFile: string | null;
  worktree: boolean;
  base: string | null;
  timeoutMs: number | null;
  /** the worktree folder once made (the project its pool session runs in); null once removed */
  workdir: string | null;
  branch: string | null;
  baseCommit: string | null;
  /** JSON of a WorktreeInfo, once the worktree task ended */
  worktreeInfo: string | null;
  /** only this box may run it (`box:` in the task file or the enqueue request); null = any box */
  pinBox: string | null;
}

/** A running task whose turn waits on a permission dialog (task-waits.ts), as views show it. */
export interface WaitView {
  question: string;
  tool: string | null;
  since: number;
}

/**
 * The list view: everything but the (possibly large) result; the prompt clipped. A running task with a
 * wait shows state `waiting` and `waiting: {question, tool, since}` (null otherwise); the store still says running.
 */
export function taskView(t: TaskRow, wait?: WaitView | null) {
  const waiting =
    t.state === "running" && wait ? { question: wait.question, tool: wait.tool, since: wait.since } : null;
  return {
    id: t.id,
    state: waiting ? ("waiting" as const) : t.state,
    waiting,
    priority: t.priority,
    project: t.project,
    account: t.account,
    model: t.model,
    session: t.session,
    accountUsed: t.accountUsed,
    attempts: t.attempts,
    source: t.source,
    prompt: t.prompt.length > 200 ? `${t.prompt.slice(0, 200)}…` : t.prompt,
    createdAt: t.createdAt,
    startedAt: t.startedAt,
    submittedAt: t.submittedAt,
    endedAt: t.endedAt,
    notBefore: t.notBefore,
    resultPath: t.resultPath,
    error: t.error,
    worktree: t.worktree,
    base: t.base,
    timeoutMs: t.timeoutMs,
    workdir: t.workdir,
    branch: t.branch,
    /** the one box that may run it (`box:`); null = any */
    pinBox: t.pinBox,
  };
}

/** The single-task view: the list view plus the whole prompt and result. */
export function taskDetail(t: TaskRow, wait?: WaitView | null) {
  let info: WorktreeInfo | null;
  try {
    info = t.worktreeInfo ? (JSON.parse(t.worktreeInfo) as WorktreeInfo) : null;
  } catch {
    info = null;
  }
  return { ...taskView(t, wait), prompt: t.prompt, result: t.result, worktreeResult: info };
}
