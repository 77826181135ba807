// Pure mapping between a box's local task rows (inbox/task-types.ts TaskRow, its record of what it runs)
// and the shared queue's tasks (store/shared/shared-types.ts SharedTask, the claim: who runs it, once).
// No I/O, no clock: shared-queue.ts does the calls.

import type { SharedTask, SharedTaskDraft } from "../store/shared/shared-types.js";
import type { TaskDraft, TaskRow, TaskState } from "./task-types.js";

/** Local `source` of a task claimed from another box: `box:<origin>:<its source there>`. */
const REMOTE = /^box:([^:]+):(.*)$/s;

/** The box a local row came from: the `<origin>` of a `box:<origin>:…` source, else this box. */
export function originOf(t: Pick<TaskRow, "source">, me: string): string {
  return REMOTE.exec(t.source)?.[1] ?? me;
}

/** What this box puts in the shared queue for a task enqueued here (its local row). */
export function toSharedDraft(t: TaskRow): SharedTaskDraft {
  return {
    id: t.id,
    project: t.project,
    prompt: t.prompt,
    priority: t.priority,
    pinBox: t.pinBox,
    payload: {
      source: t.source,
      contentHash: t.contentHash,
      account: t.account,
      model: t.model,
      worktree: t.worktree,
      base: t.base,
      timeoutMs: t.timeoutMs,
    },
  };
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * The local row a box inserts for a task it claimed from the shared queue: the same id, fields from the
 * payload (unknown or mistyped fields fall back to the defaults), source `box:<origin>:<source>` when the
 * task came from another box (the origin's own source when it came from this one).
 */
export function fromShared(t: SharedTask, me: string): { draft: TaskDraft; source: string; contentHash: string } {
  const p = t.payload;
  const source = str(p.source) ?? "api";
  return {
    draft: {
      id: t.id,
      prompt: t.prompt,
      project: t.project,
      priority: t.priority,
      account: str(p.account),
      model: str(p.model),
      worktree: p.worktree === true,
      base: str(p.base),
      timeoutMs: typeof p.timeoutMs === "number" ? p.timeoutMs : null,
      pinBox: t.pinBox,
    },
    source: t.originBox === me ? source : `box:${t.originBox}:${source}`,
    contentHash: str(p.contentHash) ?? "",
  };
}

export type SharedEnd =
  | { kind: "complete"; outcome: { state: "done"; result: string } | { state: "failed"; error: string } }
  | { kind: "cancel"; reason: string };

/** `timed_out` has no shared state of its own: it is stored as failed with this prefix on the error. */
const TIMED_OUT = "timed_out: ";

/** How an ended local task is recorded in the shared queue; null while it is queued or running. */
export function sharedEnd(t: Pick<TaskRow, "state" | "result" | "error">): SharedEnd | null {
  switch (t.state) {
    case "done":
      return { kind: "complete", outcome: { state: "done", result: t.result ?? "" } };
    case "failed":
      return { kind: "complete", outcome: { state: "failed", error: t.error ?? "failed" } };
    case "timed_out":
      return { kind: "complete", outcome: { state: "failed", error: `${TIMED_OUT}${t.error ?? "timed out"}` } };
    case "cancelled":
      return { kind: "cancel", reason: t.error ?? "cancelled" };
    default:
      return null;
  }
}

/** The local end of a task another box ran to its end (shared state done, failed or cancelled); null otherwise. */
export function localEnd(
  s: Pick<SharedTask, "state" | "result" | "error">,
): { state: Exclude<TaskState, "queued" | "running">; result: string | null; error: string | null } | null {
  switch (s.state) {
    case "done":
      return { state: "done", result: s.result ?? "", error: null };
    case "failed":
      if (s.error?.startsWith(TIMED_OUT))
        return { state: "timed_out", result: s.result, error: s.error.slice(TIMED_OUT.length) };
      return { state: "failed", result: s.result, error: s.error };
    case "cancelled":
      return { state: "cancelled", result: s.result, error: s.error };
    default:
      return null;
  }
}

/** How many more tasks this box may claim now: its pool's max less what it runs and what it claimed but has not started. */
export function claimBudget(max: number, running: number, claimedQueued: number): number {
  return Math.max(0, max - running - claimedQueued);
}
