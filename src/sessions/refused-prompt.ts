// Does a conversation already hold a refused prompt? After a hard limit the CLI keeps the refused prompt
// in its transcript (followed by a synthetic `"model":"<synthetic>"` error line, which is not sent to the
// API), and the next prompt — after --resume too, under any account — is merged with it into one user
// message (docs/notes/claude-cli-observed.md §7, verified on 2.1.197 and 2.1.332). Resending the prompt
// itself then makes the model read it twice; a short continue note after it makes it read it once.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** How much of a transcript's end is read: the refused prompt is among its last lines. */
const TAIL_BYTES = 512 * 1024;

/** Text of a user message's content (a string, or its text blocks joined); null for tool results. */
function contentText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  if (content.some((b) => b && typeof b === "object" && (b as { type?: unknown }).type === "tool_result")) return null;
  return content.filter((b) => b && typeof b === "object" && (b as { type?: unknown }).type === "text").map((b) => String((b as { text?: unknown }).text ?? "")).join("");
}

/**
 * Pure: the user prompts after the last real assistant answer of transcript lines (JSONL text), oldest
 * first, skipping what is not a prompt: meta lines, the `/exit` command's own lines (`<command-name>`,
 * `<local-command-…>`), system lines and the synthetic error answer of a refusal. A tool result ends the
 * scan (a turn was under way). Empty when the last prompt was answered. Lines that don't parse are skipped.
 */
export function unansweredPrompts(jsonl: string): string[] {
  const lines = jsonl.split("\n");
  const out: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      continue;
    }
    const msg = o.message as { model?: unknown; content?: unknown } | undefined;
    if (o.type === "assistant") {
      if (msg?.model === "<synthetic>" || o.isApiErrorMessage === true) continue;
      break;
    }
    if (o.type !== "user" || o.isMeta === true) continue;
    const text = contentText(msg?.content);
    if (text === null) break;
    if (/^\s*<(?:command-name|local-command-[a-z]+|command-message)>/.test(text)) continue;
    out.unshift(text);
  }
  return out;
}

/** Pure: the last of unansweredPrompts, or null. */
export function unansweredPrompt(jsonl: string): string | null {
  return unansweredPrompts(jsonl).at(-1) ?? null;
}

/**
 * True when `prompt` is among the transcript's unanswered prompts (after a refused prompt a continue note
 * may have been refused too: prompt, note, note). Trailing whitespace ignored. Never throws.
 */
export function transcriptHoldsRefused(path: string | null, prompt: string): boolean {
  if (!path) return false;
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString("utf8");
    const want = prompt.replace(/\s+$/, "");
    return unansweredPrompts(size > len ? text.slice(text.indexOf("\n") + 1) : text).some((p) => p.replace(/\s+$/, "") === want);
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
