// The model reads a refused prompt once when it is sent again (issue 13 point 10), with the real CLI
// (CF_TEST_CLI=latest for the newest) against the stand-in: after a hard-limit swap of a turn that the
// service refused after a tool call, and after a server throttle retried on the same account. In both, the
// CLI keeps the refused prompt in the conversation; what the daemon sends after it must not repeat it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

/** How often `text` occurs across every user message of one request (history included). */
const occurrences = (r: RecordedRequest, text: string) => r.allUserTexts.join("\n").split(text).length - 1;
const hasToolResult = (r: RecordedRequest) =>
  ((r.body?.messages ?? []) as { role?: string; content?: unknown }[]).some(
    (m) =>
      m.role === "user" &&
      Array.isArray(m.content) &&
      (m.content as { type?: string }[]).some((b) => b.type === "tool_result"),
  );

describe("a hard-limit swap of a turn refused after a tool call", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    // default permission mode: a Read in the project runs without a dialog on both versions.
    h = await makeHarness({ accounts: 2, config: { claude: { permission_mode: "default" } } });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h?.cleanup());

  it("the request for the resent turn on B holds the prompt exactly once, with the tool call and its result", async () => {
    await typePrompt(h, "warm up");
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      60_000,
      "warm-up answered",
    );
    const notes = join(h.project("dev"), "notes.txt");
    writeFileSync(notes, "the notes say HERON\n");
    const prompt = "read notes.txt and say what KESTREL means";
    h.api.setReplier((r) =>
      r.userText === prompt && !hasToolResult(r)
        ? { toolUse: { name: "Read", input: { file_path: notes } } }
        : undefined,
    );
    // A answers the tool call, then refuses the request that carries its result.
    const a = h.accountTokens.a!;
    h.api.setCap(a, h.api.usedTurns(a) + 1);
    await typePrompt(h, prompt);
    const resent = await waitFor(
      () =>
        h.api
          .turns()
          .find(
            (t) => t.token === h.accountTokens.b && t.status === 200 && t.allUserTexts.join("\n").includes("KESTREL"),
          ),
      90_000,
      "the turn answered on B",
    );
    assert.ok(
      h.api.turns().some((t) => t.token === a && t.status === 429 && hasToolResult(t)),
      "A refused the request after the tool call",
    );
    assert.equal(occurrences(resent, prompt), 1, `prompt once in ${JSON.stringify(resent.allUserTexts)}`);
    assert.ok(hasToolResult(resent), "the tool call's result is still in the conversation");
    assert.ok(resent.allUserTexts.includes("warm up"), "the earlier conversation is carried");
    await waitFor(() => d.store.lastSwap("dev")?.outcome === "ok", 30_000, "swap done");
    const sw = d.store.lastSwap("dev")!;
    // The refused CLI was idle: ended with SIGTERM instead of /exit (issue 13 point 11), and the note rode on the launch.
    assert.equal(sw.steps.find((s) => s.step === "exited")?.note, "SIGTERM", JSON.stringify(sw.steps));
    assert.equal(sw.steps.find((s) => s.step === "resent")?.note, "carried at launch");
    h.api.setReplier(undefined);
  });
});

describe("a server throttle retried on the same account", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
    // The CLI's own retries of a throttled request kept short (CLAUDE_CODE_MAX_RETRIES, documented by Claude Code).
    const claude = h.configObject.claude as { env: Record<string, string> };
    claude.env = { ...claude.env, CLAUDE_CODE_MAX_RETRIES: "1" };
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h?.cleanup());

  it("the retry's request holds the prompt exactly once", async () => {
    const a = h.accountTokens.a!;
    const prompt = "throttled prompt: say OSPREY";
    h.api.setThrottle(a, 10_000);
    await typePrompt(h, prompt);
    await waitFor(
      () => d.store.tailEvents(100).find((e) => e.kind === "quota.throttle" && e.session === "dev"),
      120_000,
      "throttle seen",
    );
    h.api.setThrottle(a, 0); // the service recovers
    const retried = await waitFor(
      () => h.api.turns().find((t) => t.status === 200 && t.allUserTexts.join("\n").includes("OSPREY")),
      90_000,
      "answered after the retry",
    );
    assert.equal(retried.token, a, "on the same account");
    assert.equal(occurrences(retried, prompt), 1, `prompt once in ${JSON.stringify(retried.allUserTexts)}`);
    const retry = d.store.tailEvents(200).find((e) => e.kind === "quota.throttle_retry" && e.session === "dev");
    assert.equal(retry?.data.asNote, true, JSON.stringify(retry?.data));
    await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered === true, 30_000, "Stop recorded");
    assert.equal(d.sessions.get("dev")!.lastPrompt, prompt, "the session's prompt is the refused one, not the note");
    assert.equal(d.store.listSwaps().length, 0, "no swap");
  });
});
