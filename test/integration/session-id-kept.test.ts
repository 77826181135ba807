// One conversation id (issue 13 point 6): a CLI that fires a second SessionStart after `--resume`, with
// source startup and a new, empty session id (anthropics/claude-code 23932), must not change the session's
// conversation: the row keeps the launched id, a warning event names the stray one, and the next restart
// resumes the same conversation. Real daemon, real tmux, the stub CLI (STUB_CLAUDE_STRAY_SESSION_START).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

describe("a stray startup SessionStart after --resume", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 1, binary: STUB_CLAUDE });
    (h.configObject.claude as { env: Record<string, string> }).env.STUB_CLAUDE_STRAY_SESSION_START = "1";
    h.writeConfig();
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
  });
  after(async () => h.cleanup());

  it("keeps the launched id across two resumes", async () => {
    const r = await d.sessions.prompts.send("dev", "remember the word HERON", { confirmTimeoutMs: 20_000 });
    assert.ok(r.ok, JSON.stringify(r));
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      20_000,
      "answered",
    );
    const id = d.sessions.get("dev")!.claudeSessionId!;
    for (let round = 1; round <= 2; round++) {
      await d.sessions.restart("dev", `test restart ${round}`);
      await waitFor(
        () => d.store.tailEvents(50, { session: "dev", kindPrefix: "hook.SessionStart.ignored" }).length >= round,
        20_000,
        `stray SessionStart ${round} ignored`,
      );
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 20_000, "idle again");
      const row = d.sessions.get("dev")!;
      assert.equal(row.claudeSessionId, id, `round ${round}: the row keeps the launched id`);
      assert.ok(row.transcriptPath?.endsWith(`${id}.jsonl`), `round ${round}: and its transcript`);
    }
    const launches = d.store
      .tailEvents(50, { session: "dev", kindPrefix: "session.launch" })
      .map((e) => (e.data as { resume?: boolean }).resume);
    assert.deepEqual(
      [...launches].sort(),
      [false, true, true],
      "the first launch started the conversation, both restarts resumed it",
    );
    const ev = d.store.tailEvents(50, { session: "dev", kindPrefix: "hook.SessionStart.ignored" })[0]!;
    assert.equal((ev.data as { kept?: string }).kept, id);
    assert.notEqual((ev.data as { session_id?: string }).session_id, id);
    const turn = await d.sessions.prompts.send("dev", "which word?", { confirmTimeoutMs: 20_000 });
    assert.ok(turn.ok);
    const req = await h.api.waitForRequest((x) => x.isTurn && x.userText === "which word?", 20_000);
    assert.ok(req.allUserTexts.includes("remember the word HERON"), "the conversation carried on");
  });
});
