// Usage from the CLIs themselves (issue 11): the status-line feed drives a threshold move with the usage
// endpoint refusing every request, and a user's own status line still shows. Real CLI (CF_TEST_CLI picks
// the version of the matrix), real tmux, the stand-in API sending the unified rate-limit headers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { pane, typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("the status-line feed", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      // The endpoint would be polled every second if it were the source: it answers 429 for ever here.
      config: {
        quota: {
          poll_interval: "1s",
          poll_interval_min: "1s",
          poll_interval_max: "2s",
          window_5h_threshold: 0.8,
          min_dwell: "10m",
        },
      },
    });
    // The user's own status line, in account A's home: ours must run it and show what it prints.
    const accounts = h.configObject.accounts as { name: string; home: string }[];
    writeFileSync(
      join(accounts[0]!.home, ".claude", "settings.json"),
      JSON.stringify({ statusLine: { type: "command", command: "printf 'MINE-%s' \"$(cat | wc -c | tr -d ' ')\"" } }),
    );
    h.api.setUsageMode("429");
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("moves the session off A before any request is refused, on figures from the CLI alone", async () => {
    const a = h.accountTokens.a!;
    h.api.setUtilization(a, { five_hour: 50 });
    await typePrompt(h, "first prompt at half");
    await waitFor(() => d.store.getUsage("a")?.source === "statusline", 30_000, "A's figures from the status line");
    const u = d.store.getUsage("a")!;
    assert.equal((u.figures as { fiveHour: { utilization: number } }).fiveHour.utilization, 0.5);
    assert.equal(d.sessions.get("dev")!.account, "a", "nothing moves at 50 %");
    // The user's own status line ran on the same input and shows under the input box.
    await waitFor(() => /MINE-\d{2,}/.test(pane(h)), 15_000, "the user's own status line in the pane");

    h.api.setUtilization(a, { five_hour: 85 });
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle");
    await typePrompt(h, "second prompt over the threshold");
    await waitFor(
      () => d.sessions.get("dev")?.account === "b" && d.store.lastSwap("dev")?.outcome === "ok",
      60_000,
      "moved to B",
    );
    assert.equal(d.store.lastSwap("dev")!.reason, "quota_threshold");
    const move = d.store.tailEvents(400).find((e) => e.kind === "quota.decision.move" && e.session === "dev")!;
    assert.ok(
      (move.data.reasons as string[]).some((r) => /a: 5h 85% ≥ 80%/.test(r)),
      JSON.stringify(move.data),
    );
    // Nothing came from the usage endpoint: every request there was refused.
    const usage = h.api.requests.filter((r) => r.path.startsWith("/api/oauth/usage"));
    assert.ok(
      usage.every((r) => r.status === 429),
      "the usage endpoint never answered",
    );
    assert.equal(
      h.api.requests.filter((r) => r.path.startsWith("/v1/messages") && r.status === 429).length,
      0,
      "no prompt refused",
    );
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle on B");
    await typePrompt(h, "third prompt on B");
    const t = await waitFor(() => h.api.turns().find((x) => x.userText === "third prompt on B"), 30_000, "turn on B");
    assert.equal(t.token, h.accountTokens.b);
  });
});
