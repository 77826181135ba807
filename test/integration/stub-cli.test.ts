// The stub CLI (test/fixtures/stub-claude.mjs) driven by the real daemon, real tmux and the stand-in API:
// it must look to the daemon like Claude Code does, or the soak and chaos runs prove nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

const pane = (h: Harness, name = "dev") => h.tmux("capture-pane", "-p", "-t", `=${name}:`).out;
async function typePrompt(h: Harness, text: string, name = "dev"): Promise<void> {
  h.tmux("send-keys", "-t", `=${name}:`, "-l", "--", text);
  await waitFor(() => /❯\u00a0/.test(pane(h, name)) && pane(h, name).includes(text), 10_000, "typed text shown");
  h.tmux("send-keys", "-t", `=${name}:`, "Enter");
}

describe("stub CLI under the daemon", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, binary: STUB_CLAUDE });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "dev idle");
  });
  after(async () => h.cleanup());

  it("answers a typed prompt through the stand-in, with hooks and a transcript", async () => {
    await typePrompt(h, "stub first prompt");
    const turn = await h.api.waitForRequest((r) => r.isTurn && r.userText === "stub first prompt", 20_000);
    assert.equal(turn.token, h.accountTokens.a, "OAuth token of the session's account");
    assert.equal(turn.body.stream, false);
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      20_000,
      "Stop applied",
    );
    await waitFor(() => pane(h).includes("● ANSWER: stub first prompt"), 10_000, "answer on screen");
    const row = d.sessions.get("dev")!;
    const lines = readFileSync(row.transcriptPath!, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; sessionId: string });
    assert.deepEqual(
      lines.map((l) => l.type),
      ["user", "assistant"],
    );
    assert.ok(lines.every((l) => l.sessionId === row.claudeSessionId));
    const kinds = d.store.tailEvents(50, { session: "dev", kindPrefix: "hook." }).map((e) => e.kind);
    for (const k of ["hook.SessionStart", "hook.UserPromptSubmit", "hook.Stop"])
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(",")}`);
  });

  it("takes a multi-line paste from the daemon's prompt sender byte for byte", async () => {
    const text = "stub paste one\nstub paste two\nstub paste three\nstub paste four";
    const r = await d.sessions.prompts.send("dev", text, { confirmTimeoutMs: 20_000 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(d.sessions.get("dev")!.lastPrompt, text);
    const turn = await h.api.waitForRequest((x) => x.isTurn && x.userText === text, 20_000);
    assert.deepEqual(turn.allUserTexts, ["stub first prompt", text], "earlier conversation carried");
    await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered, 20_000, "answered");
  });

  it("swaps on a hard limit: 429, StopFailure, SIGTERM, --resume on b, the failed prompt answered there", async () => {
    const before = d.sessions.get("dev")!;
    h.api.setCap(h.accountTokens.a!, h.api.usedTurns(h.accountTokens.a!));
    await typePrompt(h, "stub capped prompt");
    await waitFor(() => d.store.lastSwap("dev")?.outcome === "ok", 60_000, "swap done");
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.fromAccount, "a");
    assert.equal(sw.toAccount, "b");
    assert.equal(sw.reason, "rate_limit");
    const hit = d.store.tailEvents(100, { session: "dev", kindPrefix: "quota.hard_limit" })[0]!;
    assert.match(String(hit.data.message), /^You've hit your session limit · resets \d{1,2}:\d{2}[ap]m \(UTC\)$/);
    assert.equal(hit.data.parsed, true, "reset time parsed from the stub's message");
    const resent = await h.api.waitForRequest(
      (r) => r.isTurn && r.status === 200 && r.token === h.accountTokens.b && r.userText.includes("stub capped prompt"),
      30_000,
    );
    assert.ok(resent.allUserTexts.includes("stub first prompt"), "resumed conversation carried to b");
    const row = d.sessions.get("dev")!;
    assert.equal(row.account, "b");
    assert.equal(row.claudeSessionId, before.claudeSessionId, "same conversation");
    await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered, 20_000, "answered on b");
    const starts = d.store.tailEvents(200, { session: "dev", kindPrefix: "hook.SessionStart" });
    assert.equal(starts.at(-1)!.data.source, "resume");
    // The refused CLI sits idle, so the swap ends it with SIGTERM (reason "other"), not /exit: it still
    // ends cleanly, with its SessionEnd.
    assert.ok(
      d.store
        .tailEvents(200, { session: "dev", kindPrefix: "hook.SessionEnd" })
        .some((e) => e.data.reason === "other" || e.data.reason === "prompt_input_exit"),
      "the old CLI's SessionEnd",
    );
    assert.ok(
      d.store.tailEvents(200, { session: "dev", kindPrefix: "swap.exited" }).some((e) => e.data.note === "SIGTERM"),
      "an idle CLI is ended with SIGTERM",
    );
  });

  it("/clear starts a new conversation id (SessionStart source clear)", async () => {
    const old = d.sessions.get("dev")!.claudeSessionId;
    await typePrompt(h, "/clear");
    await waitFor(
      () =>
        d.store
          .tailEvents(20, { session: "dev", kindPrefix: "hook.SessionStart" })
          .some((e) => e.data.source === "clear"),
      20_000,
      "SessionStart clear",
    );
    await waitFor(() => d.sessions.get("dev")?.claudeSessionId !== old, 10_000, "new id stored");
  });
});

describe("stub CLI on its own", () => {
  it("refuses --resume of a conversation without an answer, like the real CLI", () => {
    const root = mkdtempSync(join(tmpdir(), "cf-stub-"));
    const home = join(root, "home");
    const proj = join(root, "proj");
    mkdirSync(join(home, ".claude"), { recursive: true });
    mkdirSync(proj, { recursive: true });
    try {
      const id = "0e8e7b2a-3f6c-4a57-9b8e-2f1d7c6a5b4e";
      const r = spawnSync(STUB_CLAUDE, ["--resume", id], {
        cwd: proj,
        env: { ...process.env, HOME: home },
        encoding: "utf8",
      });
      assert.equal(r.status, 1);
      assert.equal(r.stdout.trim(), `No conversation found with session ID: ${id}`);
      const v = spawnSync(STUB_CLAUDE, ["--version"], { encoding: "utf8" });
      assert.match(v.stdout, /Claude Code stub/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
