// Damaged transcripts with the real CLI (the version under test; CF_TEST_CLI=latest for the newest), through
// the daemon (issue 13 point 7): the CLI is killed mid-turn and its transcript is left with a half-written
// last line, then (second round) with a block of NUL bytes at the end. Each time: an event names the damage,
// the tail is cut with a copy kept, the session comes back on the same conversation (never a crash loop)
// and the daemon's follow-up (the continue note, or the prompt if the cut took it) reaches the model with
// the earlier conversation carried. Facts behind this: docs/notes/transcripts.md.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync, truncateSync } from "node:fs";
import { makeHarness, type Harness, killPaneCli } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("damaged transcripts, real CLI", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 1 });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 90_000, "dev idle");
  });
  after(async () => h.cleanup());

  const events = (kind: string) => d.store.tailEvents(200, { session: "dev", kindPrefix: kind });

  async function killMidTurn(prompt: string): Promise<string> {
    await waitFor(
      () => d.sessions.get("dev")?.state === "idle" && !d.sessions.lockedBy("dev"),
      90_000,
      "idle before the turn",
    );
    const r = await d.sessions.prompts.send("dev", prompt, { confirmTimeoutMs: 30_000 });
    assert.ok(r.ok, JSON.stringify(r));
    await h.api.waitForRequest((x) => x.isTurn && x.userText.includes(prompt), 30_000);
    // The CLI writes its transcript lazily: kill only once the prompt's own line is on disk, so the torn
    // line made below is that prompt's (not the earlier answer, whose loss would leave nothing to resume).
    const path = d.sessions.get("dev")!.transcriptPath!;
    await waitFor(
      () => {
        try {
          return readFileSync(path, "utf8").trimEnd().split("\n").at(-1)!.includes(prompt.split(" ")[0]!);
        } catch {
          return false;
        }
      },
      30_000,
      "the prompt's line written",
    );
    await killPaneCli(h);
    return d.sessions.get("dev")!.transcriptPath!;
  }

  async function expectRecovered(round: number, problem: RegExp, id: string): Promise<void> {
    const ev = await waitFor(
      () =>
        events("session.transcript_repaired").find((e) =>
          problem.test(String((e.data as { problem?: string }).problem)),
        ),
      60_000,
      `repair event ${round}`,
    );
    assert.ok(existsSync((ev.data as { copy: string }).copy), "the whole file kept beside it");
    await waitFor(() => events("session.continued_after_restore").length >= round, 90_000, `follow-up ${round} sent`);
    const row = d.sessions.get("dev")!;
    assert.equal(row.claudeSessionId, id, "same conversation");
    assert.notEqual(row.state, "failed");
    const last = h.api.requests.filter((x) => x.isTurn).at(-1)!;
    assert.ok(
      last.allUserTexts.some((t) => t.includes("first: remember KESTREL")),
      `the earlier conversation carried: ${JSON.stringify(last.allUserTexts).slice(0, 400)}`,
    );
  }

  it("a half-written last line, then a NUL block at the end: cut, named, resumed, continued", async () => {
    assert.ok((await d.sessions.prompts.send("dev", "first: remember KESTREL", { confirmTimeoutMs: 30_000 })).ok);
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      60_000,
      "answered",
    );
    const id = d.sessions.get("dev")!.claudeSessionId!;

    const p1 = await killMidTurn("second SLOW:60000 KESTREL?");
    const size = readFileSync(p1).length;
    const lastLine = readFileSync(p1, "utf8").trimEnd().lastIndexOf("\n") + 1;
    truncateSync(p1, lastLine + Math.floor((size - lastLine) / 2)); // half of the last line
    await expectRecovered(1, /half written/, id);

    const p2 = await killMidTurn("third SLOW:60000 KESTREL?");
    appendFileSync(p2, Buffer.alloc(4096));
    await expectRecovered(2, /NUL byte/, id);
    assert.ok(events("session.failed").length === 0, "never failed");
  });
});
