// Finishing an interrupted swap holds the session ('continue', TurnContinuation.finish) while its CLI starts,
// so the sweep leaves it alone meanwhile. A CLI that dies before its SessionStart then (here: it refuses to
// resume a transcript with an unreadable line, STUB_CLAUDE_REFUSE_DAMAGED) must not be failed for the start
// timeout when the wait ends: its pane is dead, and the sweep's restart (a refused resume starts a fresh
// conversation) brings it back once the hold is let go. Real daemon, real tmux, the stub CLI.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";
import { TurnContinuation } from "../../src/sessions/continue-turn.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

/** A daemon on the stub CLI that refuses to resume a damaged transcript, with this start timeout. */
async function startDaemon(startTimeout: string): Promise<{ h: Harness; d: Daemon }> {
  const h = await makeHarness({
    accounts: 1,
    binary: STUB_CLAUDE,
    config: { sessions: { start_timeout: startTimeout, restart_backoff: "500ms", restart_backoff_max: "2s" } },
  });
  (h.configObject.claude as { env: Record<string, string> }).env.STUB_CLAUDE_REFUSE_DAMAGED = "1";
  h.writeConfig();
  const d = await h.start();
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
  return { h, d };
}

/**
 * One turn answered, then a line the stub's resume refuses put into its transcript (the daemon's check keeps
 * it), and an interrupted swap's finish started: it respawns the CLI, which dies before its SessionStart.
 */
async function finishOverDamagedTranscript(d: Daemon): Promise<{ old: string | null; finish: Promise<unknown> }> {
  assert.ok((await d.sessions.prompts.send("dev", "first: remember KESTREL", { confirmTimeoutMs: 20_000 })).ok);
  await waitFor(
    () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
    20_000,
    "answered",
  );
  const old = d.sessions.get("dev")!.claudeSessionId;
  const path = d.sessions.get("dev")!.transcriptPath!;
  const lines = readFileSync(path, "utf8").split("\n");
  lines.splice(1, 0, "\0".repeat(64));
  writeFileSync(path, lines.join("\n"));
  const rec = new TurnContinuation(
    { store: d.store, sessions: d.sessions, pane: d.pane, clock: systemClock, log: silentLogger() },
    { swapConfig: () => d.loadedConfig().swap },
  );
  const finish = rec.finish({ session: "dev", resend: "second: after the swap", startedAt: Date.now(), respawn: true });
  return { old, finish };
}

describe("a CLI that dies at start while a continuation holds the session", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await startDaemon("3s")));
  after(async () => h.cleanup());

  it("is restarted by the sweep once the hold is let go, not failed for the start timeout", async () => {
    const { old, finish } = await finishOverDamagedTranscript(d);
    await finish;
    assert.equal(d.sessions.lockedBy("dev"), undefined, "let go");
    const row = await waitFor(
      () => {
        const r = d.sessions.get("dev");
        return r?.state === "idle" || r?.state === "failed" ? r : null;
      },
      30_000,
      "dev idle again (or failed)",
    );
    assert.equal(row.state, "idle", `not failed: ${row.stateReason}`);
    assert.notEqual(row.claudeSessionId, old, "the refused resume started a fresh conversation");
  });
});

// The same with a start timeout of the default's length: the hold ends once the CLI is seen dead (two looks a
// second apart), not when the timeout runs out; the session was down that long before (CI's short chaos, s40).
describe("a CLI that dies at start while held, with a long start timeout", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await startDaemon("90s")));
  after(async () => h.cleanup());

  it("lets go once the pane is dead, and the sweep brings the session back long before the timeout", async () => {
    const { finish } = await finishOverDamagedTranscript(d);
    let done = false;
    const settled = finish.finally(() => (done = true));
    try {
      // 30 s is a third of the start timeout: waiting for the timeout would miss it by a minute.
      await waitFor(() => done, 30_000, "the hold let go before the start timeout");
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle again");
    } finally {
      await settled;
    }
  });
});
