import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { transcriptHoldsRefused, unansweredPrompt, unansweredPrompts } from "../../src/sessions/refused-prompt.js";

const user = (content: unknown, extra: object = {}) => JSON.stringify({ type: "user", message: { role: "user", content }, ...extra });
const assistant = (text: string, model = "claude-opus-4-8", extra: object = {}) => JSON.stringify({ type: "assistant", message: { model, content: [{ type: "text", text }] }, ...extra });
const sys = JSON.stringify({ type: "system", subtype: "turn_duration" });

describe("unansweredPrompt", () => {
  it("a refused prompt followed by the synthetic limit answer is unanswered", () => {
    const t = [user("first"), assistant("ANSWER: first"), user([{ type: "text", text: "second question" }]), assistant("You've hit your session limit", "<synthetic>", { isApiErrorMessage: true }), sys].join("\n");
    assert.equal(unansweredPrompt(t), "second question");
  });
  it("the /exit command's own lines after it are skipped", () => {
    const t = [user("second question"), assistant("limit", "<synthetic>"), user("<local-command-caveat>Caveat…</local-command-caveat>", { isMeta: true }),
      user("<command-name>/exit</command-name>\n<command-message>exit</command-message>"), user("<local-command-stdout>Goodbye!</local-command-stdout>"), ""].join("\n");
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
});
