// What the daemon knows about the CLI's transcripts, in one place: where one lives
// (<projects dir>/<encoded cwd>/<conversation id>.jsonl), its last assistant text (a task's result), and the
// line-by-line check before a resume (issue 13 point 7). A transcript is JSONL the CLI appends to; an interrupted append leaves a half-written last line or a block of NUL bytes
// (anthropics/claude-code 53821, 49876). Cutting such a tail (a copy kept beside the file) lets the
// conversation be resumed; a bad line in the middle is left as it is and reported by its number.
import { chmodSync, copyFileSync, readFileSync, realpathSync, truncateSync } from "node:fs";
import { join } from "node:path";

export interface TranscriptReport {
  /** lines that parse as JSON objects */
  goodLines: number;
  /** some good line is an assistant turn (`"type":"assistant"`): `--resume` can continue it */
  hasAssistant: boolean;
  /** bad lines before the last good one (1-based), each with what is wrong; left in place */
  badLines: { line: number; problem: string }[];
  /** a bad tail after the last good line (a torn append): where it starts (byte offset) and what it is */
  tornTail: { line: number; offset: number; bytes: number; problem: string } | null;
  /** the text of the last user prompt among good lines (tool results are not prompts), or null */
  lastUserPrompt: string | null;
}

/** Pure: what is in `bytes` (a transcript's content). Never throws. */
export function inspectTranscript(bytes: Buffer): TranscriptReport {
  const r: TranscriptReport = { goodLines: 0, hasAssistant: false, badLines: [], tornTail: null, lastUserPrompt: null };
  const bad: { line: number; offset: number; problem: string }[] = [];
  let lastGoodEnd = 0;
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    const nl = bytes.indexOf(0x0a, offset);
    const end = nl < 0 ? bytes.length : nl;
    const raw = bytes.subarray(offset, end);
    line++;
    if (raw.length && !isBlank(raw)) {
      const problem = lineProblem(raw, nl < 0);
      if (problem) bad.push({ line, offset, problem });
      else {
        const obj = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
        r.goodLines++;
        if (obj.type === "assistant") r.hasAssistant = true;
        const prompt = userPromptText(obj);
        if (prompt !== null) r.lastUserPrompt = prompt;
        lastGoodEnd = nl < 0 ? bytes.length : nl + 1;
        // Bad lines before this good one are in the middle.
        r.badLines.push(...bad.splice(0).map(({ line: l, problem: p }) => ({ line: l, problem: p })));
      }
    }
    offset = nl < 0 ? bytes.length : nl + 1;
  }
  if (bad.length) {
    r.tornTail = {
      line: bad[0]!.line,
      offset: lastGoodEnd,
      bytes: bytes.length - lastGoodEnd,
      problem: bad.map((b) => `line ${b.line}: ${b.problem}`).join("; "),
    };
  } else if (lastGoodEnd < bytes.length && !isBlank(bytes.subarray(lastGoodEnd))) {
    r.tornTail = { line: line, offset: lastGoodEnd, bytes: bytes.length - lastGoodEnd, problem: "trailing bytes" };
  }
  return r;
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

function lineProblem(raw: Buffer, last: boolean): string | null {
  const nul = raw.indexOf(0);
  if (nul >= 0) return `${count(raw, 0)} NUL byte(s) from byte ${nul} of the line`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString("utf8"));
  } catch {
    return last ? "half written (no end of line, not JSON)" : "not JSON";
  }
  return v && typeof v === "object" && !Array.isArray(v) ? null : "not a JSON object";
}

function count(b: Buffer, byte: number): number {
  let n = 0;
  for (const c of b) if (c === byte) n++;
  return n;
}

/** A user line's prompt text: `message.content` as a string, or its text blocks; null for tool results and other lines. */
function userPromptText(obj: Record<string, unknown>): string | null {
  if (obj.type !== "user") return null;
  const content = (obj.message as { content?: unknown } | undefined)?.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  const items: unknown[] = content;
  const texts = items.filter(
    (c): c is { type: "text"; text: string } =>
      !!c && typeof c === "object" && "type" in c && c.type === "text" && "text" in c && typeof c.text === "string",
  );
  return texts.length && texts.length === content.length ? texts.map((t) => t.text).join("") : null;
}

export interface TranscriptRepair {
  report: TranscriptReport;
  /** where the cut tail was copied (the whole file as it was), when a tail was cut */
  copy: string | null;
}

/**
 * Reads `path`, and when its tail is torn, copies the whole file to `<path>.torn-<now>` and truncates the
 * file after its last good line. Middle lines are never changed. null when the file can't be read.
 */
export function checkAndRepairTranscript(path: string, now: number): TranscriptRepair | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  const report = inspectTranscript(bytes);
  if (!report.tornTail) return { report, copy: null };
  const copy = `${path}.torn-${now}`;
  copyFileSync(path, copy);
  chmodSync(copy, 0o600);
  truncateSync(path, report.tornTail.offset);
  return { report, copy };
}

/** The transcript folder name: the real cwd with every non-alphanumeric character turned into "-". */
export function encodeProjectDir(cwd: string): string {
  let real = cwd;
  try {
    real = realpathSync(cwd);
  } catch {
    /* not created yet */
  }
  return real.replace(/[^A-Za-z0-9]/g, "-");
}

export function transcriptPathFor(sharedProjectsDir: string, project: string, claudeSessionId: string): string {
  return join(sharedProjectsDir, encodeProjectDir(project), `${claudeSessionId}.jsonl`);
}

/**
 * The last assistant text of a transcript: the result of a turn whose Stop was applied without the
 * dispatcher seeing it (only possible when the task row and the session row disagree after a crash).
 */
export function lastAssistantText(transcriptPath: string | null): string | null {
  if (!transcriptPath) return null;
  let text: string;
  try {
    text = readFileSync(transcriptPath, "utf8");
  } catch {
    return null;
  }
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes('"type":"assistant"')) continue;
    try {
      const o = JSON.parse(line) as { type?: string; message?: { content?: unknown } };
      if (o.type !== "assistant" || !Array.isArray(o.message?.content)) continue;
      const parts = (o.message.content as { type?: string; text?: string }[])
        .filter((c) => c.type === "text" && typeof c.text === "string")
        .map((c) => c.text!);
      if (parts.length) return parts.join("\n");
    } catch {
      /* a line being written */
    }
  }
  return null;
}
