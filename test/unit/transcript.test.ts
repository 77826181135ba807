// Transcripts (claude/transcript.ts): inspectTranscript on exact bytes, the repair on a real file (issue 13 point 7),
// and the last assistant text a task's result is read from.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkAndRepairTranscript, inspectTranscript, lastAssistantText } from "../../src/claude/transcript.js";

const user = (text: string) => JSON.stringify({ type: "user", message: { role: "user", content: text } });
const toolResult = JSON.stringify({
  type: "user",
  message: { role: "user", content: [{ type: "tool_result", tool_use_id: "x", content: "ok" }] },
});
const assistant = (text: string) =>
  JSON.stringify({ type: "assistant", message: { role: "assistant", content: [{ type: "text", text }] } });
const meta = JSON.stringify({ type: "last-prompt" });
const buf = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));

describe("inspectTranscript", () => {
  it("a sound transcript: no damage, assistant seen, the last user prompt (tool results are not prompts)", () => {
    const r = inspectTranscript(buf(`${meta}\n${user("one")}\n${assistant("A")}\n${toolResult}\n`));
    assert.deepEqual(r, { goodLines: 4, hasAssistant: true, badLines: [], tornTail: null, lastUserPrompt: "one" });
    assert.equal(
      inspectTranscript(buf(`${user("text blocks")}`)).lastUserPrompt,
      "text blocks",
      "a last line without newline that parses is fine",
    );
  });

  it("a half-written last line is a torn tail starting after the last good line", () => {
    const good = `${user("one")}\n${assistant("A")}\n`;
    const r = inspectTranscript(buf(good, '{"type":"user","message":{"role":"user","content":"tw'));
    assert.equal(r.tornTail?.offset, Buffer.byteLength(good));
    assert.equal(r.tornTail?.line, 3);
    assert.match(r.tornTail.problem, /line 3: half written/);
    assert.deepEqual(r.badLines, []);
    assert.equal(r.lastUserPrompt, "one");
  });

  it("a block of NUL bytes at the end (with or without newlines) is a torn tail", () => {
    const good = `${user("one")}\n${assistant("A")}\n`;
    const r = inspectTranscript(buf(good, Buffer.alloc(4096)));
    assert.equal(r.tornTail?.offset, Buffer.byteLength(good));
    assert.equal(r.tornTail?.bytes, 4096);
    assert.match(r.tornTail.problem, /4096 NUL byte\(s\)/);
    const r2 = inspectTranscript(buf(good, Buffer.alloc(10), "\n", Buffer.alloc(10), "\n"));
    assert.equal(r2.tornTail?.offset, Buffer.byteLength(good));
  });

  it("bad lines in the middle are reported by number and left; the good lines around them count", () => {
    const r = inspectTranscript(
      buf(
        `${user("one")}\n`,
        Buffer.alloc(200),
        "\n",
        `${assistant("A")}\n{"broken\n${user("two")}\n${assistant("B")}\n`,
      ),
    );
    assert.deepEqual(
      r.badLines.map((b) => b.line),
      [2, 4],
    );
    assert.match(r.badLines[0]!.problem, /200 NUL byte/);
    assert.equal(r.badLines[1]!.problem, "not JSON");
    assert.equal(r.tornTail, null);
    assert.equal(r.lastUserPrompt, "two");
    assert.equal(r.goodLines, 4);
  });

  it("no assistant line: not resumable", () => {
    assert.equal(inspectTranscript(buf(`${user("only a prompt")}\n`)).hasAssistant, false);
    assert.equal(inspectTranscript(buf("")).hasAssistant, false);
  });
});

describe("checkAndRepairTranscript", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-transcript-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("cuts a torn tail after the last good line and keeps the whole file beside it (0600)", () => {
    const p = join(dir, "a.jsonl");
    const good = `${user("one")}\n${assistant("A")}\n`;
    const whole = buf(good, '{"type":"user","mess', Buffer.alloc(64));
    writeFileSync(p, whole);
    const r = checkAndRepairTranscript(p, 1234)!;
    assert.equal(r.copy, `${p}.torn-1234`);
    assert.equal(readFileSync(p, "utf8"), good);
    assert.deepEqual(readFileSync(r.copy), whole);
    assert.equal(statSync(r.copy).mode & 0o777, 0o600);
    assert.equal(inspectTranscript(readFileSync(p)).tornTail, null);
  });

  it("leaves a file without a torn tail untouched, middle damage included", () => {
    const p = join(dir, "b.jsonl");
    const content = buf(`${user("one")}\n`, Buffer.alloc(8), `\n${assistant("A")}\n`);
    writeFileSync(p, content);
    const r = checkAndRepairTranscript(p, 1)!;
    assert.equal(r.copy, null);
    assert.deepEqual(readFileSync(p), content);
    assert.deepEqual(
      r.report.badLines.map((b) => b.line),
      [2],
    );
    assert.equal(checkAndRepairTranscript(join(dir, "missing.jsonl"), 1), null);
  });
});

describe("lastAssistantText", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-transcript-last-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the text blocks of the last assistant line; a torn last line and non-text blocks skipped", () => {
    const p = join(dir, "t.jsonl");
    const toolUse = JSON.stringify({
      type: "assistant",
      message: { role: "assistant", content: [{ type: "tool_use", id: "x", name: "Bash", input: {} }] },
    });
    const two = JSON.stringify({
      type: "assistant",
      message: {
        role: "assistant",
        content: [
          { type: "text", text: "first" },
          { type: "text", text: "second" },
        ],
      },
    });
    writeFileSync(p, `${user("q")}\n${assistant("old")}\n${two}\n${toolUse}\n{"type":"assistant","mess`);
    assert.equal(lastAssistantText(p), "first\nsecond");
    writeFileSync(p, `${user("q")}\n${meta}\n`);
    assert.equal(lastAssistantText(p), null);
    assert.equal(lastAssistantText(join(dir, "missing.jsonl")), null);
    assert.equal(lastAssistantText(null), null);
  });
});
