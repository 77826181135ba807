// The pure mapping between local task rows and shared-queue tasks (inbox/shared-task-map.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  claimBudget,
  fromShared,
  localEnd,
  originOf,
  sharedEnd,
  toSharedDraft,
} from "../../src/inbox/shared-task-map.js";
import type { TaskRow } from "../../src/inbox/task-types.js";
import type { SharedTask } from "../../src/store/shared/shared-types.js";

const row = (over: Partial<TaskRow> = {}): TaskRow => ({
  id: "t-1",
  contentHash: "h",
  source: "file:a.md",
  project: "/p",
  priority: 2,
  account: "acc1",
  model: "opus",
  prompt: "do it",
  state: "queued",
  session: null,
  accountUsed: null,
  attempts: 0,
  result: null,
  resultPath: null,
  error: null,
  notBefore: null,
  createdAt: 5,
  startedAt: null,
  submittedAt: null,
  endedAt: null,
  updatedAt: 5,
  seq: 1,
  intakeFile: null,
  worktree: true,
  base: "main",
  timeoutMs: 60_000,
  workdir: null,
  branch: null,
  baseCommit: null,
  worktreeInfo: null,
  pinBox: null,
  ...over,
});

const shared = (over: Partial<SharedTask> = {}): SharedTask => ({
  ...toSharedDraft(row()),
  originBox: "box-a",
  state: "running",
  box: "box-b",
  attempts: 1,
  notBefore: null,
  result: null,
  error: null,
  seq: 1,
  createdAt: 5,
  claimedAt: 9,
  endedAt: null,
  updatedAt: 9,
  ...over,
});

describe("shared task map", () => {
  it("a task from another box keeps its fields and gets source box:<origin>:<source>; one from this box keeps its source", () => {
    const f = fromShared(shared(), "box-b");
    assert.deepEqual(f.draft, {
      id: "t-1",
      prompt: "do it",
      project: "/p",
      priority: 2,
      account: "acc1",
      model: "opus",
      worktree: true,
      base: "main",
      timeoutMs: 60_000,
      pinBox: null,
    });
    assert.equal(f.source, "box:box-a:file:a.md");
    assert.equal(f.contentHash, "h");
    assert.equal(originOf({ source: f.source }, "box-b"), "box-a");
    assert.equal(fromShared(shared(), "box-a").source, "file:a.md");
    assert.equal(originOf({ source: "file:a.md" }, "box-b"), "box-b");
    assert.equal(originOf({ source: "schedule:nightly" }, "box-b"), "box-b");
  });

  it("a task's pin (box:) goes into the shared queue's pinBox and comes back on the box that claims it", () => {
    const d = toSharedDraft(row({ pinBox: "box-b" }));
    assert.equal(d.pinBox, "box-b");
    assert.equal(toSharedDraft(row()).pinBox, null);
    assert.equal(fromShared({ ...shared(), pinBox: "box-b" }, "box-b").draft.pinBox, "box-b");
  });

  it("a payload with missing or mistyped fields falls back to the defaults", () => {
    const f = fromShared(shared({ payload: { account: 3, worktree: "yes", timeoutMs: "1m" } }), "box-b");
    assert.deepEqual(
      [f.draft.account, f.draft.model, f.draft.worktree, f.draft.base, f.draft.timeoutMs, f.source, f.contentHash],
      [null, null, false, null, null, "box:box-a:api", ""],
    );
  });

  it("local ends map to shared ends and back (timed_out through a failed with a prefix)", () => {
    assert.equal(sharedEnd(row({ state: "queued" })), null);
    assert.equal(sharedEnd(row({ state: "running" })), null);
    assert.deepEqual(sharedEnd(row({ state: "done", result: "R" })), {
      kind: "complete",
      outcome: { state: "done", result: "R" },
    });
    assert.deepEqual(sharedEnd(row({ state: "failed", error: "boom" })), {
      kind: "complete",
      outcome: { state: "failed", error: "boom" },
    });
    assert.deepEqual(sharedEnd(row({ state: "cancelled", error: "by op" })), { kind: "cancel", reason: "by op" });
    const to = sharedEnd(row({ state: "timed_out", error: "timed out after 1m", result: "so far" }));
    assert.deepEqual(to, { kind: "complete", outcome: { state: "failed", error: "timed_out: timed out after 1m" } });
    assert.deepEqual(localEnd({ state: "failed", error: "timed_out: timed out after 1m", result: null }), {
      state: "timed_out",
      result: null,
      error: "timed out after 1m",
    });
    assert.deepEqual(localEnd({ state: "failed", error: "boom", result: null }), {
      state: "failed",
      result: null,
      error: "boom",
    });
    assert.deepEqual(localEnd({ state: "done", result: "R", error: null }), {
      state: "done",
      result: "R",
      error: null,
    });
    assert.deepEqual(localEnd({ state: "cancelled", result: null, error: "x" }), {
      state: "cancelled",
      result: null,
      error: "x",
    });
    assert.equal(localEnd({ state: "running", result: null, error: null }), null);
    assert.equal(localEnd({ state: "queued", result: null, error: null }), null);
  });

  it("claims only up to the pool's free room", () => {
    assert.equal(claimBudget(3, 0, 0), 3);
    assert.equal(claimBudget(3, 1, 1), 1);
    assert.equal(claimBudget(1, 1, 0), 0);
    assert.equal(claimBudget(1, 2, 0), 0);
  });
});
