// What `status` says about a session waiting for a person (issue 12, point 7) and why a session is down.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sessionReason, sessionState } from "../../src/cli/format.js";
import { dialogLabel, type PaneDialog } from "../../src/sessions/pane-classify.js";

describe("dialogLabel", () => {
  const cases: Array<[PaneDialog, string]> = [
    ["trust_folder", "trust dialog"],
    ["permission", "permission dialog"],
    ["rate_limit_options", "rate-limit dialog"],
  ];
  for (const [d, label] of cases) it(`${d} → ${label}`, () => assert.equal(dialogLabel(d), label));
});

describe("status: state and reason columns", () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    [
      "starting at the trust dialog",
      { state: "starting", stateReason: "waiting: trust dialog (answer it: claude-failover attach a)" },
      "starting (waiting: trust dialog)",
      "waiting: trust dialog (answer it: claude-failover attach a)",
    ],
    ["starting, nothing shown yet", { state: "starting", stateReason: "no tmux session" }, "starting", ""],
    [
      "waiting at a permission prompt (Notification hook)",
      { state: "waiting", stateReason: "permission_prompt" },
      "waiting: permission dialog",
      "",
    ],
    ["idle, locked by a swap", { state: "idle", stateReason: "adopted", busyWith: "swap" }, "idle (swap)", ""],
    [
      "failed: no CLI",
      { state: "failed", stateReason: "Claude Code CLI not found: `claude` is not on PATH; fix: install it" },
      "failed",
      "Claude Code CLI not found: `claude` is not on PATH; fix: install it",
    ],
    [
      "exited with its last lines",
      { state: "exited", stateReason: "CLI exited (status 1); last lines: boom" },
      "exited",
      "CLI exited (status 1); last lines: boom",
    ],
  ];
  for (const [label, row, state, reason] of cases) {
    it(label, () => {
      assert.equal(sessionState(row), state);
      assert.equal(sessionReason(row), reason);
    });
  }
});
