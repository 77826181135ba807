// A CLI that keeps dying is restarted with backoff, then left in `failed` with an event, not forever.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeHarness, REPO, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("crash loop", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      binary: join(REPO, "test/fixtures/crashing-cli.sh"),
      config: {
        sessions: {
          restart_backoff: "100ms",
          restart_backoff_max: "400ms",
          crash_loop_restarts: 3,
          crash_loop_window: "1m",
        },
      },
    });
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("restarts with growing backoff, then marks the session failed with an event", async () => {
    const row = await waitFor(
      () => (d.sessions.get("dev")?.state === "failed" ? d.sessions.get("dev") : null),
      60_000,
      "failed",
    );
    assert.match(row.stateReason ?? "", /crash loop/);
    const events = d.store.tailEvents(200);
    const exits = events.filter((e) => e.kind === "session.exited" && e.session === "dev");
    assert.equal(exits.length, 3, "three restarts before giving up");
    const delays = exits.map((e) => e.data.restartInMs as number);
    assert.deepEqual(delays, [100, 200, 400], "exponential backoff, capped");
    assert.ok(events.some((e) => e.kind === "session.failed" && e.session === "dev" && e.data.reason === "crash loop"));
    // and it stays failed: no further launches
    const launches = events.filter((e) => e.kind === "session.launch").length;
    await new Promise((r) => setTimeout(r, 1500)); // several sweeps (300 ms) must pass without a relaunch
    assert.equal(d.store.tailEvents(500).filter((e) => e.kind === "session.launch").length, launches);
    assert.equal(d.sessions.get("dev")!.state, "failed");
    // an operator restart clears it
    await d.api.restart({ session: "dev" });
    assert.equal(d.store.tailEvents(500).filter((e) => e.kind === "session.launch").length, launches + 1);
  });
});
