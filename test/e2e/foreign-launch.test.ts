// Hook events carry the launch of the CLI that wrote them (issue 12): events of a CLI this daemon did not
// launch (a copy left on an old tmux server, one started by hand with our environment), written after the
// current launch started, are logged and not applied; the current launch's are, and so are a previous
// launch's written before the current one started (an old CLI's last events, drained late).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("hook events of another launch", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 1 });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  const spool = (ts: number, launch: string | null, event: string, payload: Record<string, unknown>) => {
    const name = `${BigInt(ts) * 1_000_000n}.${Math.floor(Math.random() * 1e6)}.dev.a${launch ? `.${launch}` : ""}.${event}.json`;
    writeFileSync(join(d.paths.spoolDir, name), JSON.stringify(payload));
  };

  it("the real CLI's events carry the current launch id", () => {
    const row = d.sessions.get("dev")!;
    assert.match(row.launchId ?? "", /^[0-9a-f]{12}$/);
    const start = d.store.tailEvents(100).find((e) => e.kind === "hook.SessionStart");
    assert.ok(start, "SessionStart applied");
    assert.equal(start.data.launch, row.launchId, "the hook's spool name carried CLAUDE_FAILOVER_LAUNCH");
    assert.equal(d.store.tailEvents(100).filter((e) => e.kind === "hook.foreign_launch").length, 0);
  });

  it("drops another launch's event written after the current launch started, and logs it", async () => {
    const row = d.sessions.get("dev")!;
    spool(Date.now(), "ffffffffffff", "SessionEnd", { session_id: row.claudeSessionId, reason: "other" });
    const ev = await waitFor(
      () => d.store.tailEvents(50).find((e) => e.kind === "hook.foreign_launch"),
      10_000,
      "foreign event logged",
    );
    assert.deepEqual([ev.data.event, ev.data.launch, ev.data.current], ["SessionEnd", "ffffffffffff", row.launchId]);
    assert.equal(d.sessions.get("dev")!.state, "idle", "not applied: the session did not end");
  });

  it("applies a previous launch's event written before the current launch started", async () => {
    const row = d.sessions.get("dev")!;
    spool(row.launchedAt! - 1000, "eeeeeeeeeeee", "Notification", {
      session_id: row.claudeSessionId,
      notification_type: "idle_prompt",
    });
    await waitFor(
      () => d.store.tailEvents(50).some((e) => e.kind === "hook.Notification"),
      10_000,
      "old launch's event applied",
    );
    assert.equal(d.store.tailEvents(50).filter((e) => e.kind === "hook.foreign_launch").length, 1);
  });
});
