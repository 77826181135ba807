// A daemon that starts and finds a live, idle CLI launched after its session's last prompt, which was
// never answered: an earlier CLI ended mid-turn and the daemon that restarted it died before continuing
// (chaos seed 708355). The new daemon continues the cut turn; with a conversation that never got the
// prompt, by sending the prompt itself. Real tmux, real SQLite, the stub CLI against the stand-in.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";

describe("adopting a CLI whose session owes a cut turn", { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ accounts: 1, binary: STUB_CLAUDE });
  });
  after(async () => h.cleanup());

  it("sends the cut prompt once the new daemon has adopted the CLI", async () => {
    const first = await h.start();
    await waitFor(() => first.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
    const stateDir = first.paths.stateDir;
    await first.stop(); // the tmux session and its CLI stay
    // What the dead daemons left: a prompt submitted to a CLI that is gone, before the one now running started.
    const db = openDb(stateDir);
    const store = new Store(db);
    const row = store.getSession("dev")!;
    store.updateSession(
      "dev",
      {
        lastPrompt: "cut turn: say KESTREL",
        lastPromptAt: (row.launchedAt ?? Date.now()) - 5000,
        lastPromptAnswered: false,
        state: "idle",
      },
      Date.now(),
    );
    db.close();
    const second = await h.start();
    const req = await h.api.waitForRequest((x) => x.isTurn && x.userText === "cut turn: say KESTREL", 30_000);
    assert.equal(req.status, 200);
    await waitFor(() => second.sessions.get("dev")?.lastPromptAnswered === true, 20_000, "answered");
    assert.equal(h.api.requests.filter((x) => x.isTurn && x.userText.includes("KESTREL")).length, 1, "sent once");
    assert.ok(second.store.tailEvents(50, { session: "dev", kindPrefix: "session.adopted" }).length >= 1);
    await second.stop();
  });

  it("a row lost and restored from its checkpoint keeps the time of the last move (the anti-thrash dwell)", async () => {
    const d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
    await d.checkpoints.take("dev", "test");
    const stateDir = d.paths.stateDir;
    await d.stop();
    const db = openDb(stateDir);
    const store = new Store(db);
    const movedAt = Date.now() - 10_000;
    const id = store.insertSwap(
      { session: "dev", from: "b", to: "a", reason: "quota_threshold", urgent: false, resend: null },
      movedAt - 3000,
    );
    store.finishSwap(id, "ok", null, movedAt);
    store.deleteSession("dev");
    db.close();
    const again = await h.start();
    await waitFor(
      () => again.store.tailEvents(50, { session: "dev", kindPrefix: "session.restored_from_checkpoint" }).length > 0,
      30_000,
      "restored",
    );
    assert.equal(again.sessions.get("dev")?.lastMoveAt, movedAt);
    await again.stop();
  });

  it("a turn that ended while the daemon was down and the row was lost: its hooks apply to the restored row", async () => {
    const d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
    await d.checkpoints.take("dev", "test");
    const { stateDir, spoolDir } = d.paths;
    await d.stop(); // the tmux session and its CLI stay
    // Typed by someone attached while no daemon runs: the CLI answers and its hooks spool UserPromptSubmit and
    // Stop for the next daemon (chaos seed 271828: a Stop spooled while the row was lost was dropped as an orphan).
    const text = "typed while down: say PLOVER";
    h.tmux("send-keys", "-t", "=dev:", "-l", "--", text);
    await waitFor(() => h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes(text), 10_000, "typed text shown");
    h.tmux("send-keys", "-t", "=dev:", "Enter");
    await h.api.waitForRequest((x) => x.isTurn && x.userText === text, 20_000);
    await waitFor(() => readdirSync(spoolDir).some((f) => f.endsWith(".Stop.json")), 20_000, "Stop spooled");
    const db = openDb(stateDir);
    new Store(db).deleteSession("dev");
    db.close();
    const again = await h.start();
    await waitFor(
      () => again.sessions.get("dev")?.lastPrompt === text && again.sessions.get("dev")?.lastPromptAnswered === true,
      20_000,
      "the spooled turn applied to the restored row",
    );
    assert.equal(again.store.tailEvents(50, { session: "dev", kindPrefix: "hook.orphan" }).length, 0, "no orphans");
    assert.ok(
      again.store.tailEvents(50, { session: "dev", kindPrefix: "session.restored_from_checkpoint" }).length > 0,
    );
    assert.equal(h.api.requests.filter((x) => x.isTurn && x.userText.includes("PLOVER")).length, 1, "answered once");
    await again.stop();
  });

  it("a prompt refused after the last good checkpoint, the row lost: found in the transcript and sent again", async () => {
    // chaos seed 271828 (2026-12-01): refused 1 s after the last good checkpoint (the newer one torn), the
    // row deleted; the restored row knew nothing of the prompt and the session sat idle with it owed.
    const d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
    const { path: kept } = await d.checkpoints.take("dev", "test");
    const token = h.accountTokens.a!;
    h.api.setCap(token, h.api.usedTurns(token), Math.floor(Date.now() / 1000) + 3600);
    const text = "refused after the checkpoint: say SWIFT";
    assert.ok((await d.sessions.prompts.send("dev", text, { confirmTimeoutMs: 20_000 })).ok);
    await waitFor(() => d.sessions.get("dev")?.failedPrompt === text, 20_000, "refused");
    await waitFor(
      () => h.api.requests.some((x) => x.isTurn && x.userText === text && x.status === 429),
      20_000,
      "the stand-in refused it",
    );
    const { stateDir } = d.paths;
    await d.stop(); // the tmux session and its CLI stay
    // Only the checkpoint from before the prompt is left (newer ones lost), and the row is gone.
    for (const f of readdirSync(dirname(kept))) if (join(dirname(kept), f) !== kept) rmSync(join(dirname(kept), f));
    const db = openDb(stateDir);
    new Store(db).deleteSession("dev");
    db.close();
    h.api.clearCap(token);
    const again = await h.start();
    await waitFor(
      () => h.api.requests.some((x) => x.isTurn && x.status === 200 && x.userText.includes("SWIFT")),
      30_000,
      "the owed prompt answered",
    );
    assert.equal(
      again.store.tailEvents(50, { session: "dev", kindPrefix: "session.prompt_found_in_transcript" }).length,
      1,
    );
    await waitFor(() => again.sessions.get("dev")?.lastPromptAnswered === true, 20_000, "its Stop recorded");
    assert.equal(
      h.api.requests
        .filter((x) => x.isTurn && x.status === 200 && x.allUserTexts.join("\n").split("SWIFT").length > 1)
        .filter((x) => x.userText.includes("SWIFT")).length,
      1,
      "answered once",
    );
    await again.stop();
  });
});
