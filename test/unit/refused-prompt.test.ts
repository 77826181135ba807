import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  answeredInTranscript,
  refusalRecorded,
  resendFor,
  transcriptHoldsRefused,
  transcriptRecordsRefusal,
  unansweredPrompt,
  unansweredPrompts,
} from "../../src/sessions/refused-prompt.js";

const user = (content: unknown, extra: object = {}) =>
  JSON.stringify({ type: "user", message: { role: "user", content }, ...extra });
const assistant = (text: string, model = "claude-opus-4-8", extra: object = {}) =>
  JSON.stringify({ type: "assistant", message: { model, content: [{ type: "text", text }] }, ...extra });
const sys = JSON.stringify({ type: "system", subtype: "turn_duration" });

describe("unansweredPrompt", () => {
  it("a refused prompt followed by the synthetic limit answer is unanswered", () => {
    const t = [
      user("first"),
      assistant("ANSWER: first"),
      user([{ type: "text", text: "second question" }]),
      assistant("You've hit your session limit", "<synthetic>", { isApiErrorMessage: true }),
      sys,
    ].join("\n");
    assert.equal(unansweredPrompt(t), "second question");
  });
  it("the /exit command's own lines after it are skipped", () => {
    const t = [
      user("second question"),
      assistant("limit", "<synthetic>"),
      user("<local-command-caveat>Caveat…</local-command-caveat>", { isMeta: true }),
      user("<command-name>/exit</command-name>\n<command-message>exit</command-message>"),
      user("<local-command-stdout>Goodbye!</local-command-stdout>"),
      "",
    ].join("\n");
    assert.equal(unansweredPrompt(t), "second question");
  });
  it("a refused note after a refused prompt: both unanswered, the prompt still found", () => {
    const lim = assistant("limit", "<synthetic>", { isApiErrorMessage: true });
    const t = [user("q"), assistant("a"), user("the prompt"), lim, user("Continue where you left off"), lim].join("\n");
    assert.deepEqual(unansweredPrompts(t), ["the prompt", "Continue where you left off"]);
  });
  it("an answered prompt, a tool result, or nothing: null", () => {
    assert.equal(unansweredPrompt([user("q"), assistant("a")].join("\n")), null);
    assert.equal(unansweredPrompt(user([{ type: "tool_result", tool_use_id: "x", content: "1" }])), null);
    assert.equal(unansweredPrompt(""), null);
    assert.equal(unansweredPrompt("{torn"), null);
  });
  it("transcriptHoldsRefused reads the file; a missing file is false", () => {
    const dir = mkdtempSync(join(tmpdir(), "cf-refused-"));
    try {
      const f = join(dir, "t.jsonl");
      writeFileSync(f, [user("hello"), assistant("limit", "<synthetic>")].join("\n") + "\n");
      assert.equal(transcriptHoldsRefused(f, "hello\n"), true);
      assert.equal(transcriptHoldsRefused(f, "other"), false);
      assert.equal(transcriptHoldsRefused(join(dir, "none"), "hello"), false);
      assert.equal(transcriptHoldsRefused(null, "hello"), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a turn refused after a tool call still holds its prompt; sidechain lines are not the conversation's", () => {
    const lim = assistant("limit", "<synthetic>", { isApiErrorMessage: true });
    const toolUse = JSON.stringify({
      type: "assistant",
      message: { model: "m", content: [{ type: "tool_use", id: "t1", name: "Bash", input: {} }] },
    });
    const result = user([{ type: "tool_result", tool_use_id: "t1", content: "ok" }]);
    const t = [user("q"), assistant("a"), user("run it"), toolUse, result, lim, sys].join("\n");
    assert.deepEqual(unansweredPrompts(t), ["run it"]);
    assert.equal(refusalRecorded(t, "run it"), true);
    // The CLI writes each content block on its own line: a text before the tool call is not the answer.
    const withText = [user("q"), assistant("a"), user("run it"), assistant("I'll run it."), toolUse, result, lim].join(
      "\n",
    );
    assert.deepEqual(unansweredPrompts(withText), ["run it"]);
    // A turn that ended with an answer after its tool calls is answered.
    assert.deepEqual(unansweredPrompts([user("run it"), toolUse, result, assistant("done")].join("\n")), []);
    const side = [
      user("q"),
      assistant("a"),
      user("main prompt"),
      user("sub task", { isSidechain: true }),
      assistant("sub answer", "m", { isSidechain: true }),
    ].join("\n");
    assert.deepEqual(unansweredPrompts(side), ["main prompt"]);
  });
});

describe("refusalRecorded", () => {
  const lim = assistant("You've hit your session limit", "<synthetic>", { isApiErrorMessage: true });
  const meta = JSON.stringify({ type: "last-prompt", lastPrompt: "p" });
  it("true once the synthetic error answer follows the unanswered prompt (system and metadata lines after it are fine)", () => {
    assert.equal(refusalRecorded([user("q"), assistant("a"), user("p"), lim, sys, meta].join("\n"), "p"), true);
    assert.equal(
      refusalRecorded([user("q"), assistant("a"), user("p\n"), lim].join("\n"), "p"),
      true,
      "trailing whitespace ignored",
    );
  });
  it("false while only the prompt is written (the CLI writes the error line a moment after StopFailure), for another prompt, or after an answer", () => {
    assert.equal(refusalRecorded([user("q"), assistant("a"), user("p")].join("\n"), "p"), false);
    assert.equal(refusalRecorded([user("q"), assistant("a"), user("p"), lim].join("\n"), "other"), false);
    assert.equal(refusalRecorded([user("p"), lim, user("next"), assistant("answer")].join("\n"), "p"), false);
    assert.equal(refusalRecorded("", "p"), false);
  });
  it("a helper's failure leaves no error line in the main chain: a sidechain error is not the turn's refusal", () => {
    assert.equal(
      refusalRecorded(
        [
          user("q"),
          assistant("a"),
          user("p"),
          assistant("limit", "<synthetic>", { isSidechain: true, isApiErrorMessage: true }),
        ].join("\n"),
        "p",
      ),
      false,
    );
  });
  it("transcriptRecordsRefusal and resendFor read the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cf-refused-"));
    try {
      const f = join(dir, "t.jsonl");
      writeFileSync(f, [user("q"), assistant("a"), user("p")].join("\n") + "\n");
      assert.equal(transcriptRecordsRefusal(f, "p"), false);
      assert.deepEqual(resendFor(f, "p", "NOTE"), { text: "NOTE", asNote: true });
      assert.deepEqual(resendFor(f, "other", "NOTE"), { text: "other", asNote: false });
      writeFileSync(f, [user("q"), assistant("a"), user("p"), lim].join("\n") + "\n");
      assert.equal(transcriptRecordsRefusal(f, "p"), true);
      assert.equal(transcriptRecordsRefusal(join(dir, "none"), "p"), false);
      assert.deepEqual(resendFor(null, "p", "NOTE"), { text: "p", asNote: false });
      // A short tail (the limit reactor's poll) finds the refusal at the end of a long transcript; a prompt
      // longer than the tail is not found there (the full read still finds it).
      const long = Array.from({ length: 400 }, (_, i) => [user(`q${i} ${"x".repeat(500)}`), assistant(`a${i}`)]).flat();
      writeFileSync(f, [...long, user("p"), lim].join("\n") + "\n");
      assert.equal(transcriptRecordsRefusal(f, "p", 4096), true);
      const big = "b".repeat(10_000);
      writeFileSync(f, [...long, user(big), lim].join("\n") + "\n");
      assert.equal(transcriptRecordsRefusal(f, big, 4096), false);
      assert.equal(transcriptRecordsRefusal(f, big), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("answeredInTranscript (a CLI that answered and died before its Stop)", () => {
  const NOTE = "Continue where you left off.";
  const refusal = assistant("You've hit your session limit", "<synthetic>", { isApiErrorMessage: true });
  it("the prompt itself answered", () => {
    const t = [user("p0"), assistant("A0"), user("p1"), assistant("ANSWER: p1"), sys].join("\n");
    assert.equal(answeredInTranscript(t, "p1", NOTE), true);
  });
  it("the continue note answered right after the refused prompt stands for it (soak seed 271828)", () => {
    const t = [user("p1"), refusal, user(NOTE), assistant("ANSWER: p1"), ""].join("\n");
    assert.equal(answeredInTranscript(t, "p1", NOTE), true);
    const twice = [user("p1"), refusal, user(NOTE), refusal, user(NOTE), assistant("ANSWER: p1")].join("\n");
    assert.equal(answeredInTranscript(twice, "p1", NOTE), false, "an earlier note, not the prompt, before it");
  });
  it("not answered: refused, cut in a tool call, another prompt last, a note for another prompt, nothing", () => {
    assert.equal(answeredInTranscript([user("p1"), refusal].join("\n"), "p1", NOTE), false);
    const tool = JSON.stringify({
      type: "assistant",
      message: { model: "m", content: [{ type: "tool_use", id: "t", name: "Bash", input: {} }] },
    });
    assert.equal(answeredInTranscript([user("p1"), tool].join("\n"), "p1", NOTE), false);
    assert.equal(
      answeredInTranscript([user("p1"), assistant("A"), user("p2"), assistant("B")].join("\n"), "p1", NOTE),
      false,
    );
    assert.equal(answeredInTranscript([user("p0"), refusal, user(NOTE), assistant("A")].join("\n"), "p1", NOTE), false);
    assert.equal(answeredInTranscript("", "p1", NOTE), false);
    assert.equal(answeredInTranscript([user("p1")].join("\n"), "p1", NOTE), false);
  });
});
