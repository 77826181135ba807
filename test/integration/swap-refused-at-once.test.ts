// A swap whose new account refuses the resent prompt at once (issue 16, chaos seed 571143): the refusal's
// StopFailure can be applied before the swap ends, and the swap's end must leave it in charge (before
// the fix it wrote `busy` over `limited`: the session stayed busy for ever). Here the refusal usually
// lands just after the swap's end, so this does not force that interleaving (the old code passed it
// twice); it holds the whole path: a second refusal moves the session on, the prompt answered once. Stub CLI (answers from the stand-in, whose caps refuse), real daemon, real
// tmux: a refused by its cap, b looks usable by its figures but refuses too, c is free; the prompt must
// end answered once on c, and the session idle.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

describe("a swap whose target refuses the resent prompt at once", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 3,
      binary: STUB_CLAUDE,
      config: { quota: { poll_interval: "1s", poll_interval_min: "500ms", poll_interval_max: "2s" } },
    });
    d = await h.start();
    await waitFor(
      () => d.sessions.get("dev")?.state === "idle" && d.sessions.get("dev")?.account === "a",
      60_000,
      "dev idle on a",
    );
  });
  after(async () => h.cleanup());

  it("moves on to the next account: the prompt answered once there, the session not left busy", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3 * 3600;
    h.api.setCap(h.accountTokens.a!, h.api.usedTurns(h.accountTokens.a!), reset);
    // b's figures say it has room (the usage endpoint and headers lag), but its cap refuses every turn.
    h.api.setCap(h.accountTokens.b!, h.api.usedTurns(h.accountTokens.b!), reset);
    h.api.setUtilization(h.accountTokens.b!, { five_hour: 10, seven_day: 10 });
    await waitFor(() => d.quota.view("b").fetchedAt !== null, 30_000, "figures for b");
    const q = "refused-twice question";
    const r = await d.sessions.prompts.send("dev", q, { confirmTimeoutMs: 30_000 });
    assert.ok(r.ok, JSON.stringify(r));
    const onB = await waitFor(
      () => h.api.turns().find((t) => t.token === h.accountTokens.b && t.status === 429),
      60_000,
      "b refused the resend",
    );
    assert.ok(onB.allUserTexts.join("\n").includes(q), "the resend (or its note) went to b");
    const answered = await waitFor(
      () =>
        h.api
          .turns()
          .find((t) => t.token === h.accountTokens.c && t.status === 200 && t.allUserTexts.join("\n").includes(q)),
      90_000,
      "answered on c",
    );
    await waitFor(
      () => d.sessions.get("dev")?.state === "idle" && d.sessions.get("dev")?.lastPromptAnswered,
      30_000,
      "idle on c, answered",
    );
    assert.equal(d.sessions.get("dev")!.account, "c");
    const all = answered.allUserTexts.join("\n");
    assert.equal(
      all.split(q).length - 1,
      1,
      `the model read the prompt once: ${JSON.stringify(answered.allUserTexts)}`,
    );
    const answers = h.api
      .turns()
      .filter(
        (t) =>
          t.status === 200 &&
          (t.userText.includes(q) ||
            (t.userText.includes("Continue where you left off") && t.allUserTexts.join("\n").includes(q))),
      );
    assert.equal(answers.length, 1, "answered once");
    assert.equal(d.accounts.row("b").state, "exhausted");
  });
});
