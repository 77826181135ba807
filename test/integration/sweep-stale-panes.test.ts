// The sweep's pane list is a snapshot (issue 16, soak seed 643560): a pool session created while the list
// was being read is missing from it, and the old sweep restarted it as "tmux session missing", killing the
// CLI that had just taken its task (the answer lost, the task run again). Real daemon, real tmux, stub
// CLI: the test holds one pane list while the pool creates a session, then lets the sweep go on with it.
// The same for a swap's launch: its pane read dead (the old CLI gone) after the launch was prepared but before
// its respawn ran (soak seed 161803, 2026-12-01: the new CLI respawned 1 s after it took the continue note).
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

describe("a swap's pane read dead just before its respawn", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, binary: STUB_CLAUDE });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
  });
  after(async () => h.cleanup());

  it("is not restarted by that sweep: the new CLI keeps its turn, the note answered once", async () => {
    const tmux = d.tmux;
    const list = tmux.listPanes.bind(tmux);
    const respawn = tmux.respawn.bind(tmux);
    const gate = { open: () => {} };
    let armed = false;
    let held = false;
    let sweepsAfter = 0;
    let opened = false;
    const fromSweep = () => new Error().stack?.includes("sweepOnce") ?? false;
    // The first sweep to read the panes once the swap has prepared its launch (the old CLI gone, the pane
    // dead) gets that list only after the swap is over.
    tmux.listPanes = async (): Promise<PaneInfo[]> => {
      if (!fromSweep()) return list();
      if (opened) sweepsAfter++;
      const panes = await list();
      if (armed && !held) {
        held = true;
        await new Promise<void>((r) => (gate.open = r));
      }
      return panes;
    };
    tmux.respawn = async (name, spec) => {
      if (name === "dev" && !armed) {
        armed = true;
        await waitFor(() => held, 20_000, "a sweep read the dead pane");
      }
      return respawn(name, spec);
    };
    try {
      await d.sessions.prompts.send("dev", "first: say ORIOLE", { confirmTimeoutMs: 20_000 });
      await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered === true, 20_000, "ORIOLE answered");
      const a = h.accountTokens.a!;
      h.api.setCap(a, h.api.usedTurns(a), Math.floor(Date.now() / 1000) + 3600);
      const launchesBefore = d.store.tailEvents(500).filter((e) => e.kind === "session.launch").length;
      assert.ok((await d.sessions.prompts.send("dev", "second: say HERON", { confirmTimeoutMs: 20_000 })).ok);
      await waitFor(() => d.store.lastSwap("dev")?.outcome === "ok", 60_000, "swapped to b, the hold let go");
      assert.ok(held, "the sweep read the pane dead");
      const seen = (await list()).find((p) => p.session === "dev")!;
      assert.equal(seen.dead, false, "the new CLI runs");
      opened = true;
      gate.open();
      await waitFor(() => sweepsAfter >= 2, 20_000, "two more sweeps: the held one is over");
      await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered === true, 30_000, "answered on b");
      const events = d.store.tailEvents(500).filter((e) => e.session === "dev");
      assert.deepEqual(
        events.filter((e) => e.kind === "session.exited").map((e) => e.data),
        [],
        "never taken for dead",
      );
      assert.equal(
        events.filter((e) => e.kind === "session.launch").length,
        launchesBefore + 1,
        "the swap's launch only",
      );
      assert.equal((await list()).find((p) => p.session === "dev")!.pid, seen.pid, "the same CLI");
      assert.equal(
        h.api.turns().filter((t) => t.status === 200 && t.userText.includes("HERON")).length,
        1,
        "answered once",
      );
    } finally {
      tmux.listPanes = list;
      tmux.respawn = respawn;
      gate.open();
    }
  });
});
