// SIGKILL of the daemon at every swap step boundary (fault injected by the daemon itself), then a
// restart: one pane, one account, the same conversation, the failed prompt answered exactly once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, type Harness } from "../support/harness.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { waitFor } from "../support/wait.js";
import { SWAP_STEPS } from "../../src/sessions/swap.js";

type Status = {
  sessions: { name: string; state: string; account: string; claudeSessionId: string; lastPromptAnswered: boolean }[];
};

async function status(h: Harness): Promise<Status | null> {
  const r = await h.cli("status", "--json");
  return r.code === 0 ? (JSON.parse(r.out) as Status) : null;
}
async function typePrompt(h: Harness, text: string): Promise<void> {
  h.tmux("send-keys", "-t", "=dev:", "-l", "--", text);
  await waitFor(() => h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes(text), 10_000, "typed text shown");
  h.tmux("send-keys", "-t", "=dev:", "Enter");
}

// A turn answers `q` when its last user message ends with it (recovery resent the prompt), or is the
// continue note the swap sent after the refused prompt, with `q` in the conversation once (issue 13 point 10).
const answers = (t: RecordedRequest, q: string) =>
  t.status === 200 &&
  (t.userText.endsWith(q) ||
    (t.userText.includes("Continue where you left off") && t.allUserTexts.join("\n").split(q).length - 1 === 1));

describe("daemon killed in the middle of a swap", { timeout: 900_000 }, () => {
  for (const step of SWAP_STEPS) {
    it(`recovers after SIGKILL at step "${step}"`, async () => {
      const h = await makeHarness({ accounts: 2 });
      try {
        h.env.CLAUDE_FAILOVER_FAULT_KILL_AT_STEP = step;
        let child = await h.spawnDaemon();
        const dev = () => status(h).then((s) => s?.sessions.find((x) => x.name === "dev"));
        const first = await waitFor(
          async () => {
            const s = await dev();
            return s?.state === "idle" ? s : null;
          },
          90_000,
          "idle",
        );
        await typePrompt(h, "before the limit");
        await waitFor(async () => (await dev())?.lastPromptAnswered, 30_000, "first answered");
        h.api.setCap(h.accountTokens.a!, h.api.usedTurns(h.accountTokens.a!));
        const question = `asked when the daemon dies at ${step}`;
        await typePrompt(h, question);
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, 60_000, "daemon killed at the step");
        assert.equal(child.signalCode, "SIGKILL");

        delete h.env.CLAUDE_FAILOVER_FAULT_KILL_AT_STEP;
        child = await h.spawnDaemon();
        await waitFor(
          () => h.api.turns().find((t) => answers(t, question)),
          90_000,
          "the failed prompt answered after recovery",
        );
        const after = await waitFor(
          async () => {
            const s = await dev();
            return s && s.state === "idle" && s.lastPromptAnswered ? s : null;
          },
          60_000,
          "idle after recovery",
        );
        const answered = h.api.turns().filter((t) => answers(t, question));
        assert.equal(answered.length, 1, "answered exactly once");
        assert.equal(answered[0]!.token, h.accountTokens.b, "on the account that has quota");
        assert.equal(after.account, "b");
        assert.equal(after.claudeSessionId, first.claudeSessionId, "same conversation");
        assert.ok(answered[0]!.allUserTexts.includes("before the limit"), "earlier turns carried");
        assert.deepEqual(h.tmux("list-sessions", "-F", "#{session_name}").out.trim().split("\n"), ["dev"]);
        assert.equal(
          h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_id}").out.trim().split("\n").length,
          1,
          "one pane",
        );
        child.kill("SIGTERM");
        await waitFor(() => child.exitCode !== null, 15_000, "daemon stopped");
      } finally {
        await h.cleanup();
      }
    });
  }
});
