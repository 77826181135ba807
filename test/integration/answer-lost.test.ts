// A prompt the daemon saw answered (its Stop) whose answer never reached the transcript: the CLI's write of it
// failed or was torn (a full disk; chaos seed 271828). Left in place, the resumed CLI merges that prompt with
// the next one and the model answers it a second time. The launch cuts it (a copy kept) and says so.
// Real tmux, real SQLite, the stub CLI (it resumes from the transcript as the real one) against the stand-in.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { makeHarness, type Harness, killPaneCli } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

/** A daemon whose session "dev" answered two prompts (ORIOLE, then HERON: `lost`), its transcript at `path`. */
async function twoTurns(h: Harness): Promise<{ d: Daemon; lost: string; path: string }> {
  const d = await h.start();
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
  assert.ok((await d.sessions.prompts.send("dev", "first: say ORIOLE", { confirmTimeoutMs: 20_000 })).ok);
  const lost = "second: say HERON";
  assert.ok((await d.sessions.prompts.send("dev", lost, { confirmTimeoutMs: 20_000 })).ok);
  await waitFor(
    () => d.sessions.get("dev")?.lastPrompt === lost && d.sessions.get("dev")?.lastPromptAnswered === true,
    20_000,
    "HERON answered (its Stop recorded)",
  );
  return { d, lost, path: d.sessions.get("dev")!.transcriptPath! };
}

describe("a prompt answered but missing its answer in the transcript", { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ accounts: 1, binary: STUB_CLAUDE });
  });
  after(async () => h.cleanup());

  it("is cut before the resume, so the model reads it once", async () => {
    const { d, lost, path } = await twoTurns(h);
    await d.stop(); // the tmux session and its CLI stay
    // The CLI dies; its answer's line had never been written (the line after the prompt removed).
    await killPaneCli(h);
    const lines = readFileSync(path, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes(lost));
    assert.ok(at > 0 && JSON.parse(lines[at + 1]!).type === "assistant");
    writeFileSync(path, [...lines.slice(0, at + 1), ...lines.slice(at + 2)].join("\n"));

    const again = await h.start();
    await waitFor(() => again.sessions.get("dev")?.state === "idle", 30_000, "dev restarted");
    const ev = again.store.tailEvents(20, { session: "dev", kindPrefix: "session.transcript_answer_lost" });
    assert.equal(ev.length, 1, "the cut is an event");
    const copy = (ev[0]!.data as { copy: string }).copy;
    assert.ok(existsSync(copy) && readFileSync(copy, "utf8").includes(lost), "the file as it was is kept");
    assert.ok(!readFileSync(path, "utf8").includes(lost));

    const next = "third: say EGRET";
    assert.ok((await again.sessions.prompts.send("dev", next, { confirmTimeoutMs: 20_000 })).ok);
    const req = await h.api.waitForRequest((x) => x.isTurn && x.userText.includes("EGRET"), 20_000);
    assert.equal(req.userText, next, "the model reads the next prompt alone, not the lost one again");
    assert.equal(h.api.requests.filter((x) => x.isTurn && x.userText.includes("HERON")).length, 1, "HERON once");
    await again.stop();
  });
});

// Chaos seed 161803 (2026-12-01): an answer's line torn by a full disk while the CLI went on, a refused prompt
// appended after it. The damage then sits in the middle of the transcript; the CLI skips the torn line and
// resumed would send the answered prompt again with the refused one.
describe(
  "a turn whose answer the transcript lost, with a refused prompt appended after it",
  { timeout: 120_000 },
  () => {
    let h: Harness;
    before(async () => {
      h = await makeHarness({ accounts: 2, binary: STUB_CLAUDE });
    });
    after(async () => h.cleanup());

    it("is cut out at the swap's launch; the refused prompt is kept and answered once, the lost one not again", async () => {
      const { d, lost, path } = await twoTurns(h);
      // The answer's line torn, as a full disk leaves it; the CLI goes on appending after it.
      const lines = readFileSync(path, "utf8").split("\n");
      const at = lines.findIndex((l) => l.includes(lost));
      assert.ok(at > 0 && JSON.parse(lines[at + 1]!).type === "assistant");
      lines[at + 1] = lines[at + 1]!.slice(0, 60);
      writeFileSync(path, lines.join("\n"));
      // The next prompt is refused on account a: the swap resumes the conversation on b.
      const a = h.accountTokens.a!;
      h.api.setCap(a, h.api.usedTurns(a), Math.floor(Date.now() / 1000) + 3600);
      const refused = "third: say EGRET";
      const sent = await d.sessions.prompts.send("dev", refused, { confirmTimeoutMs: 20_000 });
      assert.ok(sent.ok, `sent: ${JSON.stringify(sent)} (${d.sessions.get("dev")?.state})`);
      await waitFor(() => d.store.lastSwap("dev")?.outcome === "ok", 60_000, "swapped to b");
      const req = await h.api.waitForRequest(
        (x) => x.isTurn && x.userText.includes("EGRET") && x.token === h.accountTokens.b,
        30_000,
      );
      await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered === true, 30_000, "EGRET answered on b");
      assert.ok(!req.userText.includes("HERON"), `the model reads the refused prompt alone: ${req.userText}`);
      assert.equal(h.api.requests.filter((x) => x.isTurn && x.userText.includes("HERON")).length, 1, "HERON once");
      assert.ok(readFileSync(path, "utf8").includes("EGRET"), "the refused prompt's line was kept");
      const ev = d.store.tailEvents(20, { session: "dev", kindPrefix: "session.transcript_answer_lost" });
      assert.equal(ev.length, 1, "the cut is an event");
      assert.equal((ev[0]!.data as { middle: boolean }).middle, true);
      await d.stop();
    });
  },
);
