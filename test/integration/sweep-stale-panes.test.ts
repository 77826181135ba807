// The sweep's pane list is a snapshot (issue 16, soak seed 643560): a pool session created while the list
// was being read is missing from it, and the old sweep restarted it as "tmux session missing", killing the
// CLI that had just taken its task (the answer lost, the task run again). Real daemon, real tmux, stub
// CLI: the test holds one pane list while the pool creates a session, then lets the sweep go on with it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import type { PaneInfo } from "../../src/tmux/tmux.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

describe("a session launched while the sweep read the pane list", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      binary: STUB_CLAUDE,
      dedicated: [],
      config: { pool: { max: 1, min: 0 } },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    h.writeConfig();
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("is not restarted as missing: its task is answered once, by its first CLI", async () => {
    const tmux = d.tmux; // the one the session service lists panes with
    const list = tmux.listPanes.bind(tmux);
    const gate = { open: () => {} };
    let held = false;
    let arm = true;
    // The next pane list is read now, and handed to its caller only once the pool has created its session.
    tmux.listPanes = async (): Promise<PaneInfo[]> => {
      const panes = await list();
      if (arm) {
        arm = false;
        held = true;
        await new Promise<void>((r) => (gate.open = r));
      }
      return panes;
    };
    try {
      await waitFor(() => held, 10_000, "a pane list held");
      assert.ok(!(await list()).some((p) => p.session === "auto-01"));
      await d.api.enqueue({ prompt: "SLOW:1500 stale-snapshot task", id: "stale-1" });
      await waitFor(
        () =>
          d.inbox.tasks.get("stale-1")?.state === "running" &&
          d.sessions.get("auto-01")?.lastPrompt?.includes("stale-snapshot"),
        30_000,
        "the task submitted on auto-01",
      );
      gate.open();
      await waitFor(() => d.inbox.tasks.get("stale-1")?.state === "done", 30_000, "task done");
    } finally {
      tmux.listPanes = list;
      gate.open();
    }
    const events = d.store.tailEvents(500).filter((e) => e.session === "auto-01");
    assert.deepEqual(
      events.filter((e) => e.kind === "session.exited").map((e) => e.data),
      [],
      "never taken for missing or dead",
    );
    assert.equal(events.filter((e) => e.kind === "session.launch").length, 1, "launched once");
    assert.equal(d.inbox.tasks.get("stale-1")!.attempts, 1);
    assert.equal(
      h.api.turns().filter((t) => t.status === 200 && t.userText.includes("stale-snapshot")).length,
      1,
      "answered once",
    );
  });
});
