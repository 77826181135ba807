// Does a conversation already hold a refused prompt? After a hard limit the CLI keeps the refused prompt
// in its transcript (followed by a synthetic `"model":"<synthetic>"` error line, which is not sent to the
// API), and the next prompt — after --resume too, under any account — is merged with it into one user
// message (docs/notes/claude-cli-observed.md §7, verified on 2.1.197 and 2.1.332). Resending the prompt
// itself then makes the model read it twice; a short continue note after it makes it read it once.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { isSyntheticError } from "../claude/transcript.js";

/** How much of a transcript's end is read: the refused prompt is among its last lines. */
const TAIL_BYTES = 512 * 1024;

/** Text of a user message's content (a string, or its text blocks joined); null for tool results. */
function contentText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  if (content.some((b) => b && typeof b === "object" && (b as { type?: unknown }).type === "tool_result")) return null;
  return content
    .filter((b) => b && typeof b === "object" && (b as { type?: unknown }).type === "text")
    .map((b) => String((b as { text?: unknown }).text ?? ""))
    .join("");
}

/** A parsed transcript line, or null for blank/unparsable ones. */
function parseLine(raw: string): Record<string, unknown> | null {
  const t = raw.trim();
  if (!t) return null;
  try {
    const o = JSON.parse(t) as unknown;
    return o && typeof o === "object" ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** An assistant line that asks for a tool (the turn goes on with its result), not an answer. */
function isToolCall(o: Record<string, unknown>): boolean {
  const content = (o.message as { content?: unknown } | undefined)?.content;
  return (
    Array.isArray(content) &&
    content.some((b) => b && typeof b === "object" && (b as { type?: unknown }).type === "tool_use")
  );
}

interface Scan {
  prompts: string[];
  refusedLast: boolean;
}

/**
 * Pure: walks the transcript back turn by turn (a turn: a user prompt and the lines up to the next one) and
 * collects the prompts of the trailing unanswered turns, oldest first. A turn is answered when its last
 * assistant line is a real answer; a tool call (the turn went on with its result, then was cut or refused)
 * or only the synthetic error answer of a refusal leave it unanswered. Not prompts: meta lines, the
 * `/exit` command's own lines (`<command-name>`, `<local-command-…>`), tool results, system and metadata
 * lines, sidechain (subagent) lines. `refusedLast`: the main chain's last assistant line is such a
 * synthetic error answer (the CLI has recorded the refusal). Lines that don't parse are skipped.
 */
function scan(jsonl: string): Scan {
  const lines = jsonl.split("\n");
  const prompts: string[] = [];
  let refusedLast: boolean | null = null;
  /** the last real assistant line of the turn being walked (the one after the prompt reached next) */
  let turnEnd: Record<string, unknown> | null = null;
  for (let i = lines.length - 1; i >= 0; i--) {
    const o = parseLine(lines[i]!);
    if (!o || o.isSidechain === true) continue;
    if (o.type === "assistant") {
      if (isSyntheticError(o)) {
        refusedLast ??= true;
        continue;
      }
      refusedLast ??= false;
      turnEnd ??= o;
      continue;
    }
    if (o.type !== "user" || o.isMeta === true) continue;
    const text = contentText((o.message as { content?: unknown } | undefined)?.content);
    if (text === null) continue; // a tool result: part of the turn
    if (/^\s*<(?:command-name|local-command-[a-z]+|command-message)>/.test(text)) continue;
    if (turnEnd && !isToolCall(turnEnd)) break; // this prompt was answered
    prompts.unshift(text);
    turnEnd = null;
  }
  return { prompts, refusedLast: refusedLast === true };
}

/** Pure: the user prompts after the last real assistant answer of transcript lines (JSONL text), oldest first (see scan). Empty when the last prompt was answered. */
export function unansweredPrompts(jsonl: string): string[] {
  return scan(jsonl).prompts;
}

const sameText = (a: string, b: string) => a.replace(/\s+$/, "") === b.replace(/\s+$/, "");

/**
 * Pure: the CLI has written the refusal of `prompt` to the transcript: the prompt is unanswered and the
 * main chain ends with the synthetic error answer. The StopFailure hook fires before the CLI writes these
 * lines (it writes lazily: 0–150 ms later on 2.1.197 here), so this is the proof that the transcript is
 * complete for the refused turn and that the refusal was the turn's own, not a helper query's.
 */
export function refusalRecorded(jsonl: string, prompt: string): boolean {
  const s = scan(jsonl);
  return s.refusedLast && s.prompts.some((p) => sameText(p, prompt));
}

/**
 * Pure: the conversation has answered `prompt`: its last user prompt got a real answer and is `prompt`
 * itself, or the continue `note` sent in its place right after it (a swap carries the note when the
 * conversation still holds the refused prompt; the prompt's own turn then has only refusals). Trailing
 * whitespace ignored. Used before continuing a turn after a restart: a CLI that answered and died before
 * its Stop hook left the row saying "unanswered" (soak seed 271828: the prompt typed again, answered twice).
 */
export function answeredInTranscript(jsonl: string, prompt: string, note: string): boolean {
  const lines = jsonl.split("\n");
  let answer: Record<string, unknown> | null = null; // the last real assistant line after the user text reached
  let lastPrompt: string | null = null; // the answered last prompt, once found
  for (let i = lines.length - 1; i >= 0; i--) {
    const o = parseLine(lines[i]!);
    if (!o || o.isSidechain === true) continue;
    if (o.type === "assistant") {
      if (!isSyntheticError(o) && lastPrompt === null) answer ??= o;
      continue;
    }
    if (o.type !== "user" || o.isMeta === true) continue;
    const text = contentText((o.message as { content?: unknown } | undefined)?.content);
    if (text === null) continue; // a tool result: part of the turn
    if (/^\s*<(?:command-name|local-command-[a-z]+|command-message)>/.test(text)) continue;
    if (lastPrompt === null) {
      if (!answer || isToolCall(answer)) return false; // the last prompt is not answered
      if (sameText(text, prompt)) return true;
      if (!sameText(text, note)) return false;
      lastPrompt = text; // the note: answered for the prompt just before it?
      continue;
    }
    return sameText(text, prompt);
  }
  return false;
}

/** Pure: the last of unansweredPrompts, or null. */
export function unansweredPrompt(jsonl: string): string | null {
  return unansweredPrompts(jsonl).at(-1) ?? null;
}

/** The last `bytes` (default TAIL_BYTES) of a transcript, from a line start; null when it can't be read. Never throws. */
export function readTranscriptTail(path: string | null, bytes = TAIL_BYTES): string | null {
  if (!path) return null;
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString("utf8");
    return size > len ? text.slice(text.indexOf("\n") + 1) : text;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * True when `prompt` is among the transcript's unanswered prompts (after a refused prompt a continue note
 * may have been refused too: prompt, note, note). Trailing whitespace ignored. Never throws.
 */
export function transcriptHoldsRefused(path: string | null, prompt: string): boolean {
  const text = readTranscriptTail(path);
  return text !== null && unansweredPrompts(text).some((p) => sameText(p, prompt));
}

/** refusalRecorded on a transcript file (its last `tailBytes`; a poll reads less). Never throws. */
export function transcriptRecordsRefusal(path: string | null, prompt: string, tailBytes = TAIL_BYTES): boolean {
  const text = readTranscriptTail(path, tailBytes);
  return text !== null && refusalRecorded(text, prompt);
}

/**
 * What to send so that the model reads a refused `prompt` once, in the conversation the CLI will run:
 * the continue note when the transcript still holds the prompt unanswered (the CLI merges the next prompt
 * into that user message: sending the prompt itself would make it read twice), else the prompt.
 */
export function resendFor(path: string | null, prompt: string, note: string): { text: string; asNote: boolean } {
  return transcriptHoldsRefused(path, prompt) ? { text: note, asNote: true } : { text: prompt, asNote: false };
}

/**
 * The prompt a refusal is owed for. A swap may have sent the continue note in place of a refused prompt
 * the conversation still held (the model reads the prompt once); when the note is refused in turn, what
 * is owed is still the prompt, which the row keeps as its last prompt (`lastPrompt`). Pure.
 */
export function owedPrompt(prompt: string | null, note: string, lastPrompt: string | null): string | null {
  if (prompt === null || prompt !== note) return prompt;
  return lastPrompt && lastPrompt !== note ? lastPrompt : prompt;
}

/**
 * A prompt a row restored from its checkpoint is owed and the checkpoint does not know: the transcript grew
 * since the checkpoint (`size`: its length then, bytes) and its trailing unanswered prompts (after a refusal,
 * the prompt and a continue note) do not include the checkpoint's last prompt. The first of them is owed
 * (submitted, then refused or cut, after the checkpoint was taken); `refused` when the CLI recorded a
 * refusal. Chaos seed 271828 (2026-12-01): a prompt refused 1 s after the last good checkpoint, the row lost;
 * restored, the session sat idle and the prompt was never sent again. null otherwise. Never throws.
 */
export function promptSinceCheckpoint(
  path: string | null,
  size: number | null,
  lastPrompt: string | null,
): { prompt: string; refused: boolean } | null {
  if (!path) return null;
  try {
    if (statSync(path).size <= (size ?? 0)) return null;
  } catch {
    return null;
  }
  const text = readTranscriptTail(path);
  if (text === null) return null;
  const s = scan(text);
  if (!s.prompts.length || (lastPrompt !== null && s.prompts.some((p) => sameText(p, lastPrompt)))) return null;
  return { prompt: s.prompts[0]!, refused: s.refusedLast };
}
