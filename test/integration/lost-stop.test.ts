// A turn whose Stop never reached the daemon: the hook could not spool it (its spool on a full disk, its retries
// run out) while the CLI's answer did reach the transcript. The session must not stay `busy` for ever: once its
// CLI has sat idle at the input box with no hook event for LOST_STOP_MS (the daemon's clock moved on here) and
// the transcript answers the prompt, the turn is taken as ended. A turn still running is never taken so.
// Real tmux, real SQLite, the real hook script on a real full tmpfs (root), the stub CLI against the stand-in.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeHarness, OffsetClock, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { TestTmpfs } from "../support/tmpfs.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { LOST_STOP_MS } from "../../src/sessions/lost-stop.js";
import type { Daemon } from "../../src/daemon.js";

// The hook gives up after 1 s of retries instead of HOOK_RETRY_S (the variable the script honours).
process.env.CLAUDE_FAILOVER_HOOK_RETRY_S = "1";

describe("a turn whose Stop was lost", { timeout: 120_000 }, () => {
  let h: Harness;
  let disk: TestTmpfs;
  let d: Daemon | null = null;
  const clock = new OffsetClock();
  before(async () => {
    h = await makeHarness({ accounts: 1, binary: STUB_CLAUDE });
    // Only the spool on the small disk: the transcript is written, the hook's event is not.
    disk = TestTmpfs.mount("cf-loststop-", "256k", join(h.root, "state", "spool"));
  });
  after(async () => {
    await d?.stop();
    disk.dispose();
    await h.cleanup();
  });

  /** Moves the daemon's clock on in steps while the sweep (every 2 s) looks, until `done` or the deadline. */
  const advanceUntil = (done: () => boolean, label: string) =>
    waitFor(
      () => {
        if (done()) return true;
        clock.advance(5000);
        return false;
      },
      40_000,
      label,
      400,
    );

  it("is taken as ended once the CLI sat idle with no hook event and the transcript answers it", async (t) => {
    if (!disk.dir) return t.skip(disk.skipped!);
    d = await h.start({ clock });
    const daemon = d;
    await waitFor(() => daemon.sessions.get("dev")?.state === "idle", 30_000, "dev idle");

    // A running turn is left alone however long: the pane shows it busy (the stand-in answers after 6 s).
    const slow = "SLOW:6000 a long turn: say PIPIT";
    const sent = await daemon.sessions.prompts.send("dev", slow, { confirmTimeoutMs: 20_000 });
    assert.ok(sent.ok, JSON.stringify(sent));
    for (let i = 0; i < 6; i++) {
      clock.advance(LOST_STOP_MS / 4);
      await new Promise((r) => setTimeout(r, 500)); // a sweep (every 2 s) sees the busy pane each few steps
    }
    assert.equal(daemon.sessions.get("dev")?.state, "busy", "not taken as ended while it runs");
    await waitFor(() => daemon.sessions.get("dev")?.lastPromptAnswered === true, 20_000, "its own Stop");
    assert.equal(daemon.store.tailEvents(50, { session: "dev", kindPrefix: "session.stop_inferred" }).length, 0);

    // The next turn's Stop can't be spooled: the disk under the spool is full when the answer comes.
    const text = "SLOW:1500 lost stop: say WREN";
    assert.ok((await daemon.sessions.prompts.send("dev", text, { confirmTimeoutMs: 20_000 })).ok);
    disk.fill();
    await h.api.waitForRequest((x) => x.isTurn && x.userText === text, 20_000);
    await waitFor(
      () => h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes("ANSWER: SLOW:1500 lost stop"),
      20_000,
      "answer shown",
    );
    await waitFor(
      () => !h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes("esc to interrupt"),
      20_000,
      "CLI idle",
    );
    disk.free();
    assert.equal(daemon.sessions.get("dev")?.state, "busy", "the Stop never came");

    await advanceUntil(() => daemon.sessions.get("dev")?.state === "idle", "the turn taken as ended");
    const row = daemon.sessions.get("dev")!;
    assert.equal(row.lastPrompt, text);
    assert.equal(row.lastPromptAnswered, true);
    assert.equal(daemon.store.tailEvents(50, { session: "dev", kindPrefix: "session.stop_inferred" }).length, 1);

    // Applied as its Stop would have been: the turn_done listeners (a pool task's end) heard it.
    const stop = daemon.store.tailEvents(1, { session: "dev", kindPrefix: "hook.Stop" })[0]?.data as
      { inferred?: boolean; last_assistant_message?: string } | undefined;
    assert.equal(stop?.inferred, true);
    assert.match(
      stop?.last_assistant_message ?? "",
      /ANSWER: SLOW:1500 lost stop: say WREN/,
      "the answer from the transcript",
    );
  });
});
