// Why a prompt holding control characters is refused rather than carried at launch (issue 13, "a CR in
// the middle, an ESC, a Ctrl-U and ESC[201~ … byte for byte"): the facts in docs/notes/cli-input.md,
// checked on the CLI under test (CF_TEST_CLI=latest for the newest). The idle session's CLI is respawned
// with `--resume <id> -- <text>` as the swap carries its note; the stand-in reads back what the model got.
// 2.1.197 keeps every byte; 2.1.332 turns CR into LF and strips the other control characters, so no input
// path carries them on the newest CLI and the daemon keeps refusing such a send. Should a new CLI keep the
// bytes again, this test fails and the refusal can be revisited.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { makeHarness, type Harness } from "../support/harness.js";
import { selectedCli } from "../support/cli-matrix.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

const TEXT = "ctl-one\rctl-two\u001b\u0015 ctl-end \u001b[201~ tail\u0003 x\u007f y\u0007z";

describe("control characters in a launch prompt (real CLI)", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 1 });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h?.cleanup());

  it("the daemon refuses the send; at launch 2.1.197 keeps the bytes, 2.1.332 strips them", async () => {
    await assert.rejects(d.api.send({ session: "dev", text: TEXT }), /control character \(ESC at offset 15\)/);
    await d.api.send({ session: "dev", text: "first probe" });
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      60_000,
      "answered",
    );
    // The CLI writes its transcript lazily: launch only once the answer is on disk, so the CLI resumes.
    const path = d.sessions.get("dev")!.transcriptPath!;
    await waitFor(
      () => existsSync(path) && readFileSync(path, "utf8").includes("ANSWER: first probe"),
      10_000,
      "answer on disk",
    );
    const lock = d.sessions.tryLock("dev", "send"); // the test types into the pane: nothing else may
    assert.ok(lock.ok, "the session is free");
    try {
      const mark = h.api.requests.length;
      const row = d.sessions.get("dev")!;
      const { argv, resume } = d.sessions.prepareLaunch(row, row.account!);
      assert.equal(resume, true, "launched with --resume");
      argv.push("--", TEXT);
      await d.tmux.respawn("dev", { cwd: d.sessions.specs.get("dev")!.project, argv });
      const turn = await h.api.waitForRequest((r) => r.isTurn && r.userText.includes("ctl-one"), 60_000, mark);
      assert.ok(turn.allUserTexts.includes("first probe"), "resumed: the earlier conversation came along");
      const expected = selectedCli() === "latest" ? "ctl-one\nctl-two ctl-end [201~ tail x yz" : TEXT;
      assert.equal(
        turn.userText,
        expected,
        `what the model got from ${selectedCli()}: ${JSON.stringify(turn.userText)}`,
      );
      await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered, 30_000, "answered");
    } finally {
      lock.release();
    }
  });
});
