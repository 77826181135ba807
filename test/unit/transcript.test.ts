// Transcripts (claude/transcript.ts): inspectTranscript on exact bytes, the repair on a real file (issue 13 point 7),
// and the last assistant text a task's result is read from.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  closeSync,
  renameSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkAndRepairTranscript,
  inspectTranscript,
  inspectTranscriptFile,
  lastAssistantText,
  TranscriptCheckCache,
  TranscriptScan,
} from "../../src/claude/transcript.js";

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
    assert.deepEqual(r, {
      goodLines: 4,
      hasAssistant: true,
      badLines: [],
      tornTail: null,
      lastUserPrompt: "one",
      unansweredFrom: null,
      lostTurn: null,
    });
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

  it("a blank line after the last good line is trailing bytes (cut); spaces without a newline are not", () => {
    const good = `${user("one")}\n${assistant("A")}\n`;
    const r = inspectTranscript(buf(good, "\n"));
    assert.equal(r.tornTail?.problem, "trailing bytes");
    assert.equal(r.tornTail?.offset, Buffer.byteLength(good));
    assert.equal(inspectTranscript(buf(good, "  ")).tornTail, null);
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

  // The daemon recorded the prompt's Stop, the transcript lacks its answer (its write torn or failed on a full
  // disk: chaos seed 271828): left there, the resumed CLI sends the prompt again with the next one.
  it("cuts the answered prompt whose answer the transcript lacks, a torn answer line with it", () => {
    const p = join(dir, "c.jsonl");
    const before = `${user("one")}\n${assistant("A")}\n`;
    const whole = buf(before, `${user("two")}\n`, '{"type":"assistant","message":{"ro', Buffer.alloc(16));
    writeFileSync(p, whole);
    const r = checkAndRepairTranscript(p, 7, { cache: null, answered: "two" })!;
    assert.equal(readFileSync(p, "utf8"), before);
    assert.deepEqual(
      r.answerLost,
      { line: 3, copy: `${p}.torn-7`, middle: false },
      "the torn copy holds the whole file",
    );
    assert.deepEqual(readFileSync(`${p}.torn-7`), whole);
    assert.equal(r.report.hasAssistant, true, "the turn before is still an answer to resume from");
  });

  it("cuts a refused prompt with the continue note whose answer was lost: the synthetic error is no answer", () => {
    // After a refusal the daemon sends a continue note; the CLI does not send the synthetic error line to the
    // API, so with the note gone the refused prompt would merge with the next one (chaos seed 271828, s22).
    const p = join(dir, "c2.jsonl");
    const refusal = JSON.stringify({
      type: "assistant",
      isApiErrorMessage: true,
      message: { role: "assistant", model: "<synthetic>", content: [{ type: "text", text: "You've hit your limit" }] },
    });
    const before = `${user("one")}\n${assistant("A")}\n`;
    writeFileSync(p, `${before}${user("two")}\n${refusal}\n${user("Continue where you left off")}\n{"type":"assi`);
    const r = checkAndRepairTranscript(p, 13, { cache: null, answered: "Continue where you left off" })!;
    assert.equal(r.answerLost?.line, 3, "from the refused prompt");
    assert.equal(readFileSync(p, "utf8"), before);
    assert.equal(r.report.hasAssistant, true);
  });

  it("cuts it when the answer's line was never written (no torn tail), keeping a copy; only prompt lines lost", () => {
    const p = join(dir, "d.jsonl");
    const whole = `${user("one")}\n${assistant("A")}\n${user("two")}\n${meta}\n`;
    writeFileSync(p, whole);
    const r = checkAndRepairTranscript(p, 8, { cache: null, answered: "two" })!;
    assert.equal(r.copy, null);
    assert.deepEqual(r.answerLost, { line: 3, copy: `${p}.answer-lost-8`, middle: false });
    assert.equal(readFileSync(p, "utf8"), `${user("one")}\n${assistant("A")}\n`);
    assert.equal(readFileSync(`${p}.answer-lost-8`, "utf8"), whole);
    assert.equal(statSync(`${p}.answer-lost-8`).mode & 0o777, 0o600);
    // the only turn lost: nothing left to resume
    const q = join(dir, "e.jsonl");
    writeFileSync(q, `${meta}\n${user("only")}\n`);
    const only = checkAndRepairTranscript(q, 9, { cache: null, answered: "only" })!;
    assert.equal(only.report.hasAssistant, false);
    assert.equal(readFileSync(q, "utf8"), `${meta}\n`);
  });

  it("leaves the prompt when its answer (or a tool call) is there, or the daemon did not see it answered", () => {
    const answered = `${user("one")}\n${assistant("A")}\n${user("two")}\n${assistant("B")}\n${meta}\n`;
    const cases: [string, string | null][] = [
      [answered, "two"],
      [`${user("one")}\n${assistant("A")}\n${user("two")}\n${assistant("tool call")}\n${toolResult}\n`, "two"],
      [`${user("one")}\n${assistant("A")}\n${user("two")}\n`, null],
      [`${user("one")}\n${assistant("A")}\n${user("two")}\n`, "another prompt"],
    ];
    for (const [i, [content, seen]] of cases.entries()) {
      const p = join(dir, `f${i}.jsonl`);
      writeFileSync(p, content);
      const r = checkAndRepairTranscript(p, 10, { cache: null, answered: seen })!;
      assert.equal(r.answerLost, null, `case ${i}`);
      assert.equal(readFileSync(p, "utf8"), content, `case ${i}`);
    }
  });

  it("finds the prompt's line from a cached check of the file's start (the offset carried in the snapshot)", () => {
    const p = join(dir, "g.jsonl");
    const before = `${user("one")}\n${assistant("A")}\n`;
    writeFileSync(p, before);
    const cache = new TranscriptCheckCache();
    assert.equal(checkAndRepairTranscript(p, 11, { cache, answered: "one" })!.answerLost, null);
    appendFileSync(p, `${user("two")}\n`);
    const r = checkAndRepairTranscript(p, 12, { cache, answered: "two" })!;
    assert.equal(r.answerLost?.line, 3);
    assert.equal(readFileSync(p, "utf8"), before);
  });
});

// Lines as the CLI chains them: each names the line it follows (parentUuid).
type Chained = { uuid: string; parent: string | null; line: string };
function chain(...items: [uuid: string, body: Record<string, unknown>][]): Chained[] {
  let parent: string | null = null;
  return items.map(([uuid, body]) => {
    const c = { uuid, parent, line: JSON.stringify({ parentUuid: parent, uuid, ...body }) };
    parent = uuid;
    return c;
  });
}
const U = (text: string) => ({ type: "user", message: { role: "user", content: text } });
const A = (text: string) => ({ type: "assistant", message: { role: "assistant", content: [{ type: "text", text }] } });
const REFUSED = {
  type: "assistant",
  isApiErrorMessage: true,
  message: { role: "assistant", model: "<synthetic>", content: [{ type: "text", text: "You've hit your limit" }] },
};
const NOTE = "Continue where you left off.";
const joinLines = (ls: string[]) => ls.map((l) => `${l}\n`).join("");

describe("a turn whose end the transcript lost, later lines after it (lostTurn)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-transcript-lost-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Chaos seed 161803 (2026-12-01): refused, resumed with the note as a full disk began (the note's answer
  // line torn), the next prompt refused once the space was back and appended after the torn line.
  const c = chain(
    ["u1", U("one")],
    ["a1", A("ONE")],
    ["p1", U("two")],
    ["e1", REFUSED],
    ["n1", U(NOTE)],
    ["a2", A("TWO")],
    ["p2", U("three")],
    ["e2", REFUSED],
  );
  const torn = c[5]!.line.slice(0, 40);
  const lines = [...c.slice(0, 5).map((x) => x.line), torn, ...c.slice(6).map((x) => x.line)];

  it("is found: from the first unanswered prompt to the line whose parent the file lacks", () => {
    const r = inspectTranscript(Buffer.from(joinLines(lines)));
    assert.deepEqual(
      r.badLines.map((b) => b.line),
      [6],
    );
    const at = (n: number) => Buffer.byteLength(joinLines(lines.slice(0, n - 1)));
    assert.deepEqual(r.lostTurn, { from: { line: 3, offset: at(3) }, to: { line: 7, offset: at(7) } });
    assert.equal(r.unansweredFrom?.line, 7, "the prompts after it are the CLI's unanswered ones");
  });

  it("is cut out, the history before and the lines after kept, a copy of the whole file kept", () => {
    const p = join(dir, "mid.jsonl");
    writeFileSync(p, joinLines(lines), { mode: 0o600 });
    const r = checkAndRepairTranscript(p, 21, { cache: null, answered: null })!;
    assert.deepEqual(r.answerLost, { line: 3, copy: `${p}.answer-lost-21`, middle: true });
    assert.equal(readFileSync(p, "utf8"), joinLines([c[0]!.line, c[1]!.line, c[6]!.line, c[7]!.line]));
    assert.equal(readFileSync(`${p}.answer-lost-21`, "utf8"), joinLines(lines));
    assert.equal(statSync(p).mode & 0o777, 0o600, "the transcript keeps its mode");
    assert.equal(r.report.lastUserPrompt, "three");
    assert.equal(r.report.unansweredFrom?.line, 3, "the report is the file's as it is now");
    assert.equal(r.report.lostTurn, null);
    assert.deepEqual(
      r.report.badLines.map((b) => b.line),
      [6],
      "the damage found is still reported",
    );
    assert.equal(checkAndRepairTranscript(p, 22, { cache: null, answered: null })!.answerLost, null, "once");
  });

  it("the next prompt glued onto the torn line (CLI 2.1.197): cut up to the line after, which names it", () => {
    const p = join(dir, "glued.jsonl");
    const glued = [...c.slice(0, 5).map((x) => x.line), torn + c[6]!.line, c[7]!.line];
    writeFileSync(p, joinLines(glued));
    const r = checkAndRepairTranscript(p, 23, { cache: null, answered: null })!;
    assert.equal(r.answerLost?.middle, true);
    assert.equal(readFileSync(p, "utf8"), joinLines([c[0]!.line, c[1]!.line, c[7]!.line]));
    assert.equal(r.report.lastUserPrompt, "one", "the refused prompt is gone with it: the daemon resends its text");
  });

  it("is found from a cached check of the file's start (the uuids seen carried in the snapshot)", () => {
    const p = join(dir, "cached.jsonl");
    writeFileSync(p, joinLines(lines.slice(0, 4)));
    const cache = new TranscriptCheckCache();
    assert.equal(checkAndRepairTranscript(p, 24, { cache, answered: null })!.answerLost, null);
    appendFileSync(p, joinLines(lines.slice(4)));
    assert.equal(checkAndRepairTranscript(p, 25, { cache, answered: null })!.answerLost?.line, 3);
  });

  it("is not found when the file lacks nothing, an answer follows, or a line starts a new chain", () => {
    const whole = c.map((x) => x.line);
    const cases: [string, string[]][] = [
      [
        "nothing lost: refused, the note, refused again",
        [
          ...whole.slice(0, 5),
          ...chain(["e3", REFUSED]).map((x) => x.line.replace('"parentUuid":null', '"parentUuid":"n1"')),
        ],
      ],
      ["the later prompt answered", [...lines, JSON.stringify({ parentUuid: "e2", uuid: "a3", ...A("THREE") })]],
      [
        "a resumed CLI's first line with no parent (the stub's)",
        [...whole.slice(0, 4), JSON.stringify({ parentUuid: null, uuid: "x", ...U(NOTE) })],
      ],
      [
        "a lost parent with no unanswered prompt before it",
        [whole[0]!, whole[1]!, JSON.stringify({ parentUuid: "gone", uuid: "y", ...U("new") })],
      ],
    ];
    for (const [name, ls] of cases) {
      const p = join(dir, "neg.jsonl");
      writeFileSync(p, joinLines(ls));
      const r = checkAndRepairTranscript(p, 26, { cache: null, answered: null })!;
      assert.equal(r.report.lostTurn, null, name);
      assert.equal(r.answerLost, null, name);
      assert.equal(readFileSync(p, "utf8"), joinLines(ls), name);
    }
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

/** Contents with every kind of line: good ones, tool results, NUL blocks, blank lines, CRs, bad JSON, a torn end. */
function mixedContents(seed: number): Buffer[] {
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const out: Buffer[] = [];
  for (let c = 0; c < 40; c++) {
    const parts: (string | Buffer)[] = [];
    const n = 1 + rnd(12);
    for (let i = 0; i < n; i++) {
      const k = rnd(10);
      if (k < 3) parts.push(`${user(`p${c}-${i} ${"é".repeat(rnd(5))}`)}\n`);
      else if (k < 5) parts.push(`${assistant(`a${c}-${i}`)}\n`);
      else if (k === 5) parts.push(`${toolResult}\n`);
      else if (k === 6) parts.push(Buffer.alloc(1 + rnd(40)), rnd(2) ? "\n" : "");
      else if (k === 7) parts.push(rnd(2) ? "\n" : "  \r\n");
      else if (k === 8) parts.push('{"broken\n');
      else parts.push("[1,2]\n");
    }
    if (rnd(3) === 0) parts.push('{"type":"user","message":{"content":"to');
    if (rnd(4) === 0) parts.push("   ");
    out.push(buf(...parts));
  }
  return out;
}

describe("TranscriptScan: chunked, resumed", () => {
  it("the same report whatever the chunk size (1 to 17 bytes, and a random split each time)", () => {
    for (const bytes of mixedContents(7)) {
      const whole = inspectTranscript(bytes);
      for (const size of [1, 2, 3, 5, 8, 13, 17]) {
        const scan = new TranscriptScan();
        for (let o = 0; o < bytes.length; o += size) scan.push(bytes.subarray(o, o + size));
        assert.deepEqual(scan.finish(), whole, `chunks of ${size}`);
      }
    }
  });

  it("a scan resumed from a snapshot of a prefix reports what a scan of the whole does", () => {
    for (const [n, bytes] of mixedContents(11).entries()) {
      const whole = inspectTranscript(bytes);
      for (const cut of [0, 1, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2), bytes.length]) {
        const first = new TranscriptScan();
        first.push(bytes.subarray(0, cut));
        const state = first.snapshot();
        assert.ok(state.offset <= cut, "a snapshot holds whole lines only");
        const resumed = TranscriptScan.from(state);
        resumed.push(bytes.subarray(state.offset));
        assert.deepEqual(resumed.finish(), whole, `contents ${n}, cut at ${cut}`);
      }
    }
  });
});

describe("inspectTranscriptFile with its cache", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-transcript-cache-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = (from: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) => `${user(`q${from + i}`)}\n${assistant(`a${from + i} ${"x".repeat(100)}`)}\n`,
    ).join("");

  it("a second check reads only what was appended (a change far before the end is not seen again)", () => {
    const p = join(dir, "grow.jsonl");
    const cache = new TranscriptCheckCache();
    writeFileSync(p, lines(0, 200));
    assert.equal(inspectTranscriptFile(p, cache).goodLines, 400);
    appendFileSync(p, lines(200, 3));
    assert.equal(inspectTranscriptFile(p, cache).goodLines, 406);
    // NUL bytes written over the first line in place: a full read would report a bad line 1; the cached scan
    // does not read that far back.
    const fd = openSync(p, "r+");
    writeSync(fd, Buffer.alloc(5), 0, 5, 0);
    closeSync(fd);
    appendFileSync(p, lines(203, 1));
    const r = inspectTranscriptFile(p, cache);
    assert.equal(r.goodLines, 408);
    assert.deepEqual(r.badLines, []);
    assert.equal(r.lastUserPrompt, "q203");
    // Without the cache it is seen.
    assert.deepEqual(
      inspectTranscriptFile(p, null).badLines.map((b) => b.line),
      [1],
    );
  });

  it("read from the start again when the file is another one, shorter, or changed just before where the last check ended", () => {
    const p = join(dir, "changed.jsonl");
    const cache = new TranscriptCheckCache();
    writeFileSync(p, lines(0, 50));
    inspectTranscriptFile(p, cache);
    // Changed within the 4 KiB before the end of the last check.
    const size = statSync(p).size;
    const fd = openSync(p, "r+");
    writeSync(fd, Buffer.alloc(3), 0, 3, size - 200);
    closeSync(fd);
    assert.equal(inspectTranscriptFile(p, cache).badLines.length, 1, "the changed tail is seen");
    // Replaced by another file (another inode) of the same length, with damage at its start.
    const other = join(dir, "other.jsonl");
    writeFileSync(other, Buffer.concat([Buffer.alloc(4), Buffer.from(lines(0, 50)).subarray(4)]));
    renameSync(other, p);
    assert.deepEqual(
      inspectTranscriptFile(p, cache).badLines.map((b) => b.line),
      [1],
    );
    // Shorter than where the last check ended.
    writeFileSync(p, lines(0, 2));
    assert.equal(inspectTranscriptFile(p, cache).goodLines, 4);
  });

  it("a repaired file is checked whole next time, and the cache keeps at most its bound", () => {
    const p = join(dir, "torn.jsonl");
    const cache = new TranscriptCheckCache(3);
    writeFileSync(p, buf(lines(0, 3), Buffer.alloc(20), "\n"));
    const r = checkAndRepairTranscript(p, 5, { cache })!;
    assert.ok(r.copy);
    assert.equal(cache.size, 0);
    appendFileSync(p, lines(3, 1));
    assert.deepEqual(checkAndRepairTranscript(p, 6, { cache })!.report.badLines, []);
    for (let i = 0; i < 5; i++) {
      const q = join(dir, `many-${i}.jsonl`);
      writeFileSync(q, lines(0, 1));
      inspectTranscriptFile(q, cache);
    }
    assert.equal(cache.size, 3);
  });
});
