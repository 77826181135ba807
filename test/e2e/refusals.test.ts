// Refusals that are not the account's quota (issue 11), with the real CLI (CF_TEST_CLI picks the version):
// a server throttle is retried on the same account; a StopFailure from a helper query is left alone; a
// rejected token restarts the CLI once, then revokes the account and moves the session.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { typePrompt } from "../support/typing.js";
import { startOnePool } from "../support/pool.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

// A prompt the service refused stays in the CLI's conversation. A retry on the same account (the limit
// reactor) sends it again, merged into the same user turn ("p\n\np"); a swap sends the continue note after
// it instead, so the model reads it once (issue 13 point 10). A turn answers `text` when its last user
// message ends with it, or is that note with `text` in the conversation exactly once.
const NOTE = "Continue where you left off";
const answered = (h: Harness, text: string) =>
  h.api
    .turns()
    .filter(
      (t) =>
        t.status === 200 &&
        (t.userText === text ||
          t.userText.endsWith(`\n${text}`) ||
          (t.userText.includes(NOTE) && t.allUserTexts.join("\n").split(text).length - 1 === 1)),
    );
// The CLI retries a throttled request itself (10 times by default; 2.1.332 spends about 3 min on it);
// CLAUDE_CODE_MAX_RETRIES (documented by Claude Code) keeps that short here: the daemon's part starts after.
const FEW_RETRIES = { CLAUDE_CODE_MAX_RETRIES: "1" };

async function setup(extra: Record<string, unknown> = {}): Promise<{ h: Harness; d: Daemon }> {
  const h = await makeHarness({ accounts: 2, config: extra });
  const claude = h.configObject.claude as { env: Record<string, string> };
  claude.env = { ...claude.env, ...FEW_RETRIES };
  const d = await h.start();
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  return { h, d };
}

describe("a server throttle that outlasts the CLI's own retries", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await setup()));
  after(async () => h.cleanup());

  it("is retried on the same account: no swap, the account stays active, the prompt answered once", async () => {
    const a = h.accountTokens.a!;
    h.api.setThrottle(a, 10_000);
    await typePrompt(h, "throttled prompt");
    const ev = await waitFor(
      () => d.store.tailEvents(100).find((e) => e.kind === "quota.throttle" && e.session === "dev"),
      120_000,
      "throttle seen",
    );
    assert.equal(ev.data.attempt, 1);
    assert.equal(d.sessions.get("dev")!.state, "idle", "a throttle never makes the session limited");
    assert.match(
      d.sessions.get("dev")!.stateReason ?? "",
      /throttled by the service \(not your usage limit\): retry 1 at /,
    );
    h.api.setThrottle(a, 0); // the service recovers
    await waitFor(() => answered(h, "throttled prompt").length === 1, 60_000, "answered after the retry");
    const turn = answered(h, "throttled prompt")[0]!;
    assert.equal(turn.token, a, "on the same account");
    await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered === true, 30_000, "Stop recorded");
    assert.equal(d.store.listSwaps().length, 0, "no swap");
    assert.equal(d.accounts.row("a").state, "active", "the account is not marked");
    assert.equal(d.sessions.get("dev")!.account, "a");
    assert.ok(d.store.tailEvents(200).some((e) => e.kind === "quota.throttle_retry" && e.session === "dev"));
  });

  it("a retry still pending when the daemon restarts is made by the next daemon", async () => {
    const a = h.accountTokens.a!;
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle");
    h.api.setThrottle(a, 10_000);
    await typePrompt(h, "throttled across a restart");
    await waitFor(
      () =>
        d.store.tailEvents(50).some((e) => e.kind === "quota.throttle" && e.session === "dev" && e.data.attempt === 1),
      120_000,
      "throttle seen",
    );
    await d.stop(); // before the retry is due: the next daemon must find it in the row
    h.api.setThrottle(a, 0);
    d = await h.start();
    await waitFor(() => answered(h, "throttled across a restart").length === 1, 90_000, "answered after the restart");
    assert.equal(answered(h, "throttled across a restart")[0]!.token, a);
    assert.equal(d.store.listSwaps().length, 0, "no swap");
  });
});

describe("a StopFailure from a helper query while the turn runs", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await setup()));
  after(async () => h.cleanup());

  for (const which of ["another prompt_id", "the running prompt_id, pane still busy"] as const) {
    it(`with ${which}: no swap, the turn finishes, the prompt answered exactly once`, async () => {
      const text = `long turn SLOW:6000 (${which})`;
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle");
      await typePrompt(h, text);
      const submit = await waitFor(
        () => d.store.tailEvents(50).find((e) => e.kind === "hook.UserPromptSubmit" && e.data.prompt === text),
        30_000,
        "prompt submitted",
      );
      await waitFor(() => h.api.turns().some((t) => t.userText === text), 10_000, "turn request in flight");
      const row = d.sessions.get("dev")!;
      const promptId =
        which === "another prompt_id" ? "00000000-0000-4000-8000-000000000000" : String(submit.data.prompt_id);
      assert.ok(submit.data.prompt_id, "UserPromptSubmit carries a prompt_id");
      // What the CLI's hook would write for a helper's failure: same session, a rate_limit error.
      const ns = BigInt(Date.now()) * 1_000_000n;
      const payload = {
        session_id: row.claudeSessionId,
        prompt_id: promptId,
        error: "rate_limit",
        last_assistant_message: "You've hit your 5-hour limit · resets 2:18pm (UTC)",
      };
      writeFileSync(join(d.paths.spoolDir, `${ns}.4242.dev.a.StopFailure.json`), JSON.stringify(payload));
      await waitFor(
        () => answered(h, text).length === 1 && d.sessions.get("dev")?.lastPromptAnswered === true,
        60_000,
        "the turn finished",
      );
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle");
      assert.equal(d.store.listSwaps().length, 0, "no swap");
      assert.equal(d.accounts.row("a").state, "active");
      assert.equal(h.api.turns().filter((t) => t.userText === text).length, 1, "sent to the model exactly once");
      const ignored = d.store
        .tailEvents(200)
        .filter((e) => e.kind === "hook.StopFailure.ignored" || e.kind === "quota.stop_failure_ignored");
      assert.ok(
        ignored.some((e) => /StopFailure from a helper ignored/.test(String(e.data.why))),
        JSON.stringify(ignored),
      );
    });
  }
});

describe("a rejected token, twice on A", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await setup()));
  after(async () => h.cleanup());

  it("restarts the CLI once on A, then revokes A and moves the session to B with its prompt", async () => {
    const a = h.accountTokens.a!;
    // The CLI tries a 401 twice before it gives up (verified on 2.1.197 and 2.1.332): two failed turns.
    h.api.setAuthFailure(a, 4);
    await typePrompt(h, "prompt with a stale token");
    await waitFor(
      () => d.sessions.get("dev")?.account === "b" && d.store.lastSwap("dev")?.outcome === "ok",
      120_000,
      "moved to B",
    );
    const rejected = d.store.tailEvents(300).filter((e) => e.kind === "account.token_rejected");
    assert.deepEqual(
      rejected.map((e) => e.data.action),
      ["restart the CLI on the same account", "account revoked: needs login"],
    );
    const swaps = d.store.listSwaps().filter((s) => s.session === "dev");
    assert.deepEqual(swaps.map((s) => [s.fromAccount, s.toAccount, s.reason]).reverse(), [
      ["a", "a", "token_rejected"],
      ["a", "b", "token_rejected"],
    ]);
    const acct = d.accounts.row("a");
    assert.equal(acct.state, "revoked");
    assert.match(acct.stateReason ?? "", /needs login: token rejected/);
    await waitFor(() => answered(h, "prompt with a stale token").length === 1, 60_000, "answered on B");
    assert.equal(answered(h, "prompt with a stale token")[0]!.token, h.accountTokens.b);
  });
});

describe("a pool task whose account's token is rejected twice", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await startOnePool(2)));
  after(async () => h.cleanup());

  it("is not failed: its session restarts on A, then moves to B, and the task is done there once", async () => {
    assert.equal(d.sessions.get("auto-01")!.account, "a");
    h.api.setAuthFailure(h.accountTokens.a!, 4);
    const prompt = "pool task with a stale token";
    dropFiles(join(h.root, "state", "inbox"), [{ name: "stale.md", prompt, front: { id: "stale-1" } }]);
    const t = await waitFor(
      () => {
        const x = d.inbox.tasks.get("stale-1");
        return x && x.state !== "queued" && x.state !== "running" ? x : null;
      },
      150_000,
      "task ended",
    );
    assert.equal(t.state, "done", `task ${t.state}: ${t.error}`);
    assert.equal(d.sessions.get("auto-01")!.account, "b");
    assert.equal(d.accounts.row("a").state, "revoked");
    const ok = answered(h, prompt);
    assert.equal(ok.length, 1, "answered exactly once");
    assert.equal(ok[0]!.token, h.accountTokens.b, "answered on b");
    const kinds = d.store
      .tailEvents(1000)
      .filter((e) => e.data.id === "stale-1")
      .map((e) => e.kind);
    assert.ok(!kinds.includes("task.failed"), kinds.join(","));
    assert.equal(kinds.filter((k) => k === "task.done").length, 1);
  });
});
