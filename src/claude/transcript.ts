// What the daemon knows about the CLI's transcripts, in one place: where one lives
// (<projects dir>/<encoded cwd>/<conversation id>.jsonl), its last assistant text (a task's result), and the
// line-by-line check before a resume (issue 13 point 7). A transcript is JSONL the CLI appends to; an interrupted append leaves a half-written last line or a block of NUL bytes
// (anthropics/claude-code 53821, 49876). Cutting such a tail (a copy kept beside the file) lets the
// conversation be resumed; a bad line in the middle is left as it is and reported by its number.
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  truncateSync,
  writeSync,
  fsyncSync,
  type Stats,
} from "node:fs";
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
  /**
   * The first of the trailing prompts no answer follows (an answer: an assistant line the model wrote, a tool
   * call on the way to one included; a refusal's synthetic error line is none): its 1-based line, the byte
   * offset where it starts, and whether any assistant line comes before it. null when the last prompt is
   * answered, or there is none.
   */
  unansweredFrom: { line: number; offset: number; assistantBefore: boolean } | null;
  /**
   * A turn that ended while its CLI ran but whose end the file lost: among the trailing unanswered prompts, a
   * line whose `parentUuid` names a line the file does not hold (torn, or never written: a full disk) after
   * which the CLI went on. The lines from the first of those prompts (`from`) up to that line (`to`, kept) are
   * that turn. Resumed as they are, the CLI would send its prompts again with the next one. null otherwise, and
   * once an answer follows.
   */
  lostTurn: { from: { line: number; offset: number }; to: { line: number; offset: number } } | null;
}

/** Pure: what is in `bytes` (a transcript's content). Never throws. */
export function inspectTranscript(bytes: Buffer): TranscriptReport {
  const scan = new TranscriptScan();
  scan.push(bytes);
  return scan.finish();
}

/**
 * inspectTranscript fed in chunks, in order, so a transcript of any size is checked in bounded memory
 * (a chunk plus its longest line), each line parsed once. `snapshot()` at a chunk boundary gives a state a
 * later scan of the same, longer file can start from (`TranscriptScan.from`): the CLI only appends.
 */
export class TranscriptScan {
  private goodLines = 0;
  private hasAssistant = false;
  private badLines: { line: number; problem: string }[] = [];
  private lastUserPrompt: string | null = null;
  private unansweredFrom: TranscriptReport["unansweredFrom"] = null;
  private lostTurn: TranscriptReport["lostTurn"] = null;
  /** uuids of the last RECENT_UUIDS good lines, oldest first: a parentUuid not among them is taken as lost */
  private recent = new Set<string>();
  /** bad lines after the last good one: the middle if a good line follows, else the torn tail */
  private pending: { line: number; offset: number; problem: string }[] = [];
  private lastGoodEnd = 0;
  /** a newline after the last good line (a blank line there counts as trailing bytes) */
  private newlineAfterGood = false;
  private line = 0;
  /** bytes taken as whole lines (the offset where the carried partial line starts) */
  private offset = 0;
  private carry: Buffer[] = [];
  private carryLen = 0;

  /** A scan that starts where `state` (a snapshot of a scan of the same file's first `state.offset` bytes) ended. */
  static from(state: TranscriptScanState): TranscriptScan {
    const s = new TranscriptScan();
    s.goodLines = state.goodLines;
    s.hasAssistant = state.hasAssistant;
    s.badLines = state.badLines.map((b) => ({ ...b }));
    s.lastUserPrompt = state.lastUserPrompt;
    s.unansweredFrom = state.unansweredFrom && { ...state.unansweredFrom };
    s.lostTurn = state.lostTurn && { from: { ...state.lostTurn.from }, to: { ...state.lostTurn.to } };
    s.recent = new Set(state.recent);
    s.pending = state.pending.map((b) => ({ ...b }));
    s.lastGoodEnd = state.lastGoodEnd;
    s.newlineAfterGood = state.newlineAfterGood;
    s.line = state.line;
    s.offset = state.offset;
    return s;
  }

  /** The state after the whole lines seen so far; offset = bytes they take (a partial line is not in it). */
  snapshot(): TranscriptScanState {
    return {
      goodLines: this.goodLines,
      hasAssistant: this.hasAssistant,
      badLines: this.badLines.map((b) => ({ ...b })),
      lastUserPrompt: this.lastUserPrompt,
      unansweredFrom: this.unansweredFrom && { ...this.unansweredFrom },
      lostTurn: this.lostTurn && { from: { ...this.lostTurn.from }, to: { ...this.lostTurn.to } },
      recent: [...this.recent],
      pending: this.pending.map((b) => ({ ...b })),
      lastGoodEnd: this.lastGoodEnd,
      newlineAfterGood: this.newlineAfterGood,
      line: this.line,
      offset: this.offset,
    };
  }

  /** Takes the next bytes of the file. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        this.carry.push(Buffer.from(chunk.subarray(start)));
        this.carryLen += chunk.length - start;
        return;
      }
      let raw = chunk.subarray(start, nl);
      if (this.carryLen) {
        raw = Buffer.concat([...this.carry, raw]);
        this.carry = [];
        this.carryLen = 0;
      }
      this.take(raw, false);
      start = nl + 1;
    }
  }

  /** The report for everything pushed; the bytes after the last newline count as the last line. */
  finish(): TranscriptReport {
    let end = this.offset;
    if (this.carryLen) {
      const raw = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLen = 0;
      this.take(raw, true);
      end = this.offset;
    }
    const r: TranscriptReport = {
      goodLines: this.goodLines,
      hasAssistant: this.hasAssistant,
      badLines: this.badLines.map((b) => ({ ...b })),
      tornTail: null,
      lastUserPrompt: this.lastUserPrompt,
      unansweredFrom: this.unansweredFrom && { ...this.unansweredFrom },
      lostTurn: this.lostTurn && { from: { ...this.lostTurn.from }, to: { ...this.lostTurn.to } },
    };
    if (this.pending.length) {
      r.tornTail = {
        line: this.pending[0]!.line,
        offset: this.lastGoodEnd,
        bytes: end - this.lastGoodEnd,
        problem: this.pending.map((b) => `line ${b.line}: ${b.problem}`).join("; "),
      };
    } else if (this.newlineAfterGood) {
      r.tornTail = {
        line: this.line,
        offset: this.lastGoodEnd,
        bytes: end - this.lastGoodEnd,
        problem: "trailing bytes",
      };
    }
    return r;
  }

  /** One line (without its newline); `last`: the file ends without a newline after it. */
  private take(raw: Buffer, last: boolean): void {
    const lineStart = this.offset;
    this.line++;
    this.offset = lineStart + raw.length + (last ? 0 : 1);
    if (!raw.length || isBlank(raw)) {
      if (!last) this.newlineAfterGood = true;
      return;
    }
    const parsed = parseLine(raw, last);
    if (typeof parsed === "string") {
      this.pending.push({ line: this.line, offset: lineStart, problem: parsed });
      return;
    }
    this.goodLines++;
    const parent = typeof parsed.parentUuid === "string" && parsed.parentUuid ? parsed.parentUuid : null;
    if (this.unansweredFrom && parent !== null && !this.recent.has(parent)) {
      // The line this one follows is not in the file: the turn of the prompts before it ended (the CLI went
      // on), its end lost. A second such line in the same run widens the span.
      const u = this.unansweredFrom;
      this.lostTurn = {
        from: this.lostTurn?.from ?? { line: u.line, offset: u.offset },
        to: { line: this.line, offset: lineStart },
      };
      this.unansweredFrom = null;
    }
    const prompt = userPromptText(parsed);
    if (prompt !== null) {
      this.lastUserPrompt = prompt;
      this.unansweredFrom ??= { line: this.line, offset: lineStart, assistantBefore: this.hasAssistant };
    }
    if (parsed.type === "assistant") {
      this.hasAssistant = true;
      if (!isSyntheticError(parsed)) {
        this.unansweredFrom = null;
        this.lostTurn = null;
      }
    }
    if (typeof parsed.uuid === "string") {
      this.recent.add(parsed.uuid);
      if (this.recent.size > RECENT_UUIDS) this.recent.delete(this.recent.values().next().value!);
    }
    this.lastGoodEnd = this.offset;
    this.newlineAfterGood = false;
    // Bad lines before this good one are in the middle.
    this.badLines.push(...this.pending.splice(0).map(({ line: l, problem: p }) => ({ line: l, problem: p })));
  }
}

/** TranscriptScan.snapshot(): plain data. */
export interface TranscriptScanState {
  goodLines: number;
  hasAssistant: boolean;
  badLines: { line: number; problem: string }[];
  lastUserPrompt: string | null;
  unansweredFrom: TranscriptReport["unansweredFrom"];
  lostTurn: TranscriptReport["lostTurn"];
  recent: string[];
  pending: { line: number; offset: number; problem: string }[];
  lastGoodEnd: number;
  newlineAfterGood: boolean;
  line: number;
  offset: number;
}

/**
 * How many good lines back a `parentUuid` is looked for. A line's parent is the line before it in the chain,
 * nearly always a few lines up; one further back (a conversation rewound to an old turn) counts as lost,
 * which at worst cuts unanswered prompts of the abandoned branch (the daemon resends an owed prompt the cut
 * took). Bounded so a cached scan state stays small (256 uuids, about 20 KB).
 */
const RECENT_UUIDS = 256;

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/** The line's JSON object, or what is wrong with it (parsed once). */
function parseLine(raw: Buffer, last: boolean): Record<string, unknown> | string {
  const nul = raw.indexOf(0);
  if (nul >= 0) return `${count(raw, 0)} NUL byte(s) from byte ${nul} of the line`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString("utf8"));
  } catch {
    return last ? "half written (no end of line, not JSON)" : "not JSON";
  }
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : "not a JSON object";
}

function count(b: Buffer, byte: number): number {
  let n = 0;
  for (const c of b) if (c === byte) n++;
  return n;
}

/**
 * The answer the CLI records for a refused request instead of the model's (`"model":"<synthetic>"`,
 * `isApiErrorMessage`): not sent to the API on the next turn, so the prompt before it stays unanswered there
 * (docs/notes/claude-cli-observed.md §7).
 */
export function isSyntheticError(o: Record<string, unknown>): boolean {
  const msg = o.message as { model?: unknown } | undefined;
  return o.type === "assistant" && (msg?.model === "<synthetic>" || o.isApiErrorMessage === true);
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
  /** the check's report; after a cut in the middle, the report of the file as it is now */
  report: TranscriptReport;
  /** where the cut tail was copied (the whole file as it was), when a tail was cut */
  copy: string | null;
  /**
   * Prompts whose answer the transcript lost, cut so the model does not read them again unanswered and answer
   * them a second time (the CLI's write of the answer torn or failed: a full disk): the first cut line, the
   * copy kept (the whole file as it was), and `middle` when later lines were kept (`lostTurn`). null otherwise.
   */
  answerLost: { line: number; copy: string; middle: boolean } | null;
}

/**
 * Where the last check of each transcript ended (by path, at most `max` of them, least recently used
 * dropped first): the CLI only appends to a transcript, so the next check of the same file reads only
 * what was added since. An entry is used only when the file is the same one (device and inode), at least
 * as long, and its 4 KiB before that point hash the same; otherwise the file is read from its start.
 */
export class TranscriptCheckCache {
  private readonly entries = new Map<string, { dev: number; ino: number; state: TranscriptScanState; hash: string }>();
  constructor(private readonly max = 512) {}

  /** The state to resume from for the file open on `fd`, or null. */
  lookup(path: string, fd: number, st: Stats): TranscriptScanState | null {
    const e = this.entries.get(path);
    if (!e) return null;
    this.entries.delete(path);
    if (e.dev !== st.dev || e.ino !== st.ino || st.size < e.state.offset || tailHash(fd, e.state.offset) !== e.hash)
      return null;
    this.entries.set(path, e);
    return e.state;
  }

  remember(path: string, fd: number, st: Stats, state: TranscriptScanState): void {
    this.entries.delete(path);
    if (state.offset === 0) return;
    this.entries.set(path, { dev: st.dev, ino: st.ino, state, hash: tailHash(fd, state.offset) });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  forget(path: string): void {
    this.entries.delete(path);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** sha1 of the (up to) 4 KiB of the file before `offset`. */
function tailHash(fd: number, offset: number): string {
  const len = Math.min(offset, 4096);
  const b = Buffer.alloc(len);
  readSync(fd, b, 0, len, offset - len);
  return createHash("sha1").update(b).digest("hex");
}

/** The daemon's cache of transcript checks (one per process: a transcript is one file whoever checks it). */
export const transcriptChecks = new TranscriptCheckCache();

const CHUNK_BYTES = 256 * 1024;

/**
 * inspectTranscript on a file, read in 256 KiB chunks (memory bounded by a chunk and the longest line), from
 * where `cache` says the last check of the same file ended. Throws when the file can't be opened or read.
 */
export function inspectTranscriptFile(
  path: string,
  cache: TranscriptCheckCache | null = transcriptChecks,
): TranscriptReport {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    const known = cache?.lookup(path, fd, st) ?? null;
    const scan = known ? TranscriptScan.from(known) : new TranscriptScan();
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let pos = known?.offset ?? 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK_BYTES, pos);
      if (n <= 0) break;
      scan.push(buf.subarray(0, n));
      pos += n;
    }
    cache?.remember(path, fd, st, scan.snapshot());
    return scan.finish();
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks `path` (inspectTranscriptFile), and when its tail is torn, copies the whole file to
 * `<path>.torn-<now>` and truncates the file after its last good line. Other middle lines are never changed.
 * A `lostTurn` (a turn whose end the file lost while its CLI went on: chaos seed 161803, an answer torn by a
 * full disk, a refused prompt appended after it) is cut out, the lines after it kept (the file rewritten
 * through a temporary file and a rename, a copy kept: the torn one, else `<path>.answer-lost-<now>`).
 * `opts.cache`: where checks resume from (default the daemon's; null: none). `opts.answered`: the last prompt the daemon recorded as answered (its Stop), or null. When the transcript's last
 * prompt is that one and no answer follows it (the CLI's write of the answer was torn, or failed on a full
 * disk), the trailing unanswered prompts' lines (that one, and a refused prompt it continued, whose answer it
 * was) and everything after them are cut too (a copy kept, as above):
 * the resumed CLI would otherwise send the prompt again with the next one, and the model answer it twice
 * (chaos seed 271828, a disk full while the answer was written). The report's `hasAssistant` then says
 * whether the shortened conversation still holds an answer. null when the file can't be read.
 */
export function checkAndRepairTranscript(
  path: string,
  now: number,
  opts: { cache?: TranscriptCheckCache | null; answered?: string | null } = {},
): TranscriptRepair | null {
  const cache = opts.cache === undefined ? transcriptChecks : opts.cache;
  const answered = opts.answered ?? null;
  let report: TranscriptReport;
  try {
    report = inspectTranscriptFile(path, cache);
  } catch {
    return null;
  }
  let copy: string | null = null;
  if (report.tornTail) {
    copy = `${path}.torn-${now}`;
    copyFileSync(path, copy);
    chmodSync(copy, 0o600);
    truncateSync(path, report.tornTail.offset);
    cache?.forget(path);
  }
  let kept = copy; // the whole file as it was, once copied
  const keep = (): string => {
    if (!kept) {
      kept = `${path}.answer-lost-${now}`;
      copyFileSync(path, kept);
      chmodSync(kept, 0o600);
    }
    return kept;
  };
  let answerLost: TranscriptRepair["answerLost"] = null;
  const lt = report.lostTurn;
  if (lt) {
    answerLost = { line: lt.from.line, copy: keep(), middle: true };
    cutOut(path, lt.from.offset, lt.to.offset);
    cache?.forget(path);
    report = { ...inspectTranscriptFile(path, null), tornTail: report.tornTail, badLines: report.badLines };
  }
  const p = report.unansweredFrom;
  if (answered === null || !p || report.lastUserPrompt !== answered) return { report, copy, answerLost };
  answerLost ??= { line: p.line, copy: keep(), middle: false };
  truncateSync(path, p.offset);
  cache?.forget(path);
  return { report: { ...report, hasAssistant: p.assistantBefore }, copy, answerLost };
}

/** Rewrites `path` without its bytes [from, to): a temporary file beside it, same mode, fsynced, renamed over it. */
function cutOut(path: string, from: number, to: number): void {
  const whole = readFileSync(path);
  const tmp = `${path}.cut-${process.pid}`;
  const fd = openSync(tmp, "w", statSync(path).mode & 0o777);
  try {
    writeSync(fd, whole.subarray(0, from));
    writeSync(fd, whole.subarray(to));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
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
