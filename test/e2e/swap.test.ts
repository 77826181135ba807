// Account swaps end to end: real CLI, real tmux, stand-in API with per-token caps.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, type Harness } from "../support/harness.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("swap on a hard limit", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("moves the session to B with the same conversation and answers the failed prompt there", async () => {
    await typePrompt(h, "first question");
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      30_000,
      "first answered",
    );
    const id = d.sessions.get("dev")!.claudeSessionId;
    // A is now at its cap, resetting in 2 h 17 min (not a round hour: the limit text must be read, not guessed).
    const resetSec = Math.floor(Date.now() / 1000) + 2 * 3600 + 17 * 60;
    h.api.setCap(h.accountTokens.a!, h.api.usedTurns(h.accountTokens.a!), resetSec);
    await typePrompt(h, "second question");
    const answered = await waitFor(
      // The failed prompt stays in the transcript; the swap sends a continue note after it, not the prompt again.
      // (Either merged into its user message, or — when /exit made it into the transcript first — after the
      // CLI's "No response requested.": docs/notes/claude-cli-observed.md §7.)
      () =>
        h.api
          .turns()
          .find(
            (t) =>
              t.allUserTexts.join("\n").includes("second question") &&
              t.token === h.accountTokens.b &&
              t.status === 200,
          ),
      60_000,
      "failed prompt answered on B",
    );
    assert.ok(answered.allUserTexts.includes("first question"), "earlier conversation carried to B");
    assert.ok(
      h.api.turns().some((t) => t.userText === "second question" && t.token === h.accountTokens.a && t.status === 429),
      "A refused it first",
    );
    await waitFor(
      () => d.sessions.get("dev")?.state === "idle" && d.sessions.get("dev")?.lastPromptAnswered,
      30_000,
      "idle on B",
    );
    const row = d.sessions.get("dev")!;
    assert.equal(row.account, "b");
    assert.equal(row.claudeSessionId, id, "same claude session id");
    assert.equal(d.accounts.row("a").state, "exhausted");
    // Exhausted until the reset the CLI printed ("… · resets 5:18pm (UTC)": to the minute), whatever the CLI
    // version's wording ("session limit" on 2.1.197, "5-hour limit" on 2.1.332), not now + reactivate_cooldown.
    const until = d.accounts.row("a").stateUntil!;
    assert.ok(
      Math.abs(until - resetSec * 1000) <= 60_000,
      `exhausted until ${new Date(until).toISOString()}, reset ${new Date(resetSec * 1000).toISOString()}`,
    );
    const hard = d.store.tailEvents(300).find((e) => e.kind === "quota.hard_limit" && e.session === "dev")!;
    assert.equal(hard.data.parsed, true, JSON.stringify(hard.data));
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.outcome, "ok");
    assert.deepEqual(
      sw.steps.map((s) => s.step),
      ["locked", "checkpointed", "turn_ended", "exited", "respawned", "confirmed", "resent"],
    );
    // The model reads the resent prompt once (issue 13 point 10): the swap sent the continue note after it.
    const all = answered.allUserTexts.join("\n");
    assert.equal(all.split("second question").length - 1, 1, `prompt once in ${JSON.stringify(answered.allUserTexts)}`);
    assert.ok(answered.userText.includes("Continue where you left off"), answered.userText);
    assert.equal(
      h.api
        .turns()
        .filter((t) => t.userText.includes("second question") && t.status === 200 && t.token === h.accountTokens.a)
        .length,
      0,
    );
    assert.ok(d.store.tailEvents(300).some((e) => e.kind === "swap.resend_as_note" && e.session === "dev"));
    // The refused prompt was the transcript's open turn at the swap's launch: each of the CLI's lines names one
    // the file holds (parentUuid), so the launch's check found no lost turn and cut nothing.
    assert.deepEqual(
      d.store
        .tailEvents(300)
        .filter((e) => e.kind === "session.transcript_answer_lost")
        .map((e) => e.data),
      [],
    );
    // The note rode on the launch (`--resume <id> -- <note>`), not typed after the start (issue 13 point 3).
    assert.equal(sw.steps.find((s) => s.step === "resent")?.note, "carried at launch");
    const st = JSON.parse((await h.cli("status", "--json")).out) as {
      sessions: { name: string; lastSwap: { from: string; to: string; outcome: string; durationMs: number } }[];
      accounts: { name: string; state: string; stateUntil: number }[];
    };
    const dev = st.sessions.find((s) => s.name === "dev")!;
    assert.equal(dev.lastSwap.from, "a");
    assert.equal(dev.lastSwap.to, "b");
    assert.equal(dev.lastSwap.outcome, "ok");
    assert.ok(dev.lastSwap.durationMs > 0);
    assert.ok(st.accounts.find((a) => a.name === "a")!.stateUntil > Date.now());
  });

  it("refuses a second swap of a session that is already swapping", async () => {
    const first = d.swaps.swap({ session: "dev", to: "a", reason: "test", urgent: false, hard: false });
    const second = await d.swaps.swap({ session: "dev", reason: "test", urgent: false, hard: false });
    assert.equal(second.ok, false);
    assert.match((second as { reason: string }).reason, /already swapping/);
    await first; // A is exhausted: refused, or completes — either way it ends
  });
});

describe("manual swaps and turns", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("waits for a running turn to end before a graceful swap", async () => {
    await typePrompt(h, "SLOW:3000 graceful");
    await waitFor(() => d.sessions.get("dev")?.state === "busy", 10_000, "busy");
    const r = await h.cli("swap", "dev", "--to", "b", "--reason", "test graceful");
    assert.equal(r.code, 0, r.err);
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.outcome, "ok");
    assert.equal(sw.steps.find((s) => s.step === "turn_ended")?.note, undefined, "turn not cut");
    assert.ok(
      sw.steps.every((s) => s.step !== "resent"),
      "nothing to resend",
    );
    const slow = h.api.turns().find((t) => t.userText === "SLOW:3000 graceful")!;
    assert.equal(slow.token, h.accountTokens.a);
    assert.equal(slow.status, 200);
    assert.equal(d.sessions.get("dev")!.account, "b");
  });

  it("an urgent swap cuts the turn and sends the continue note on the new account", async () => {
    await typePrompt(h, "SLOW:20000 urgent");
    await waitFor(() => d.sessions.get("dev")?.state === "busy", 10_000, "busy");
    const out = await d.swaps.swap({ session: "dev", to: "a", reason: "urgent test", urgent: true, hard: false });
    assert.ok(out.ok, JSON.stringify(out));
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.steps.find((s) => s.step === "turn_ended")?.note, "turn cut short");
    const note = d.loadedConfig().swap.continue_note;
    await waitFor(
      () => h.api.turns().find((t) => t.userText === note && t.token === h.accountTokens.a),
      30_000,
      "continue note on A",
    );
  });

  it("answers /trigger/swap with 403 while triggers are disabled", async () => {
    const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
    const r = await fetch(`http://${listen}/trigger/swap`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify({ session: "dev" }),
    });
    assert.equal(r.status, 403);
    const r2 = await fetch(`http://${listen}/trigger/checkpoint`, { method: "POST", body: "{}" });
    assert.equal(r2.status, 401);
  });
});
