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
 * Pure: the last user prompt of transcript lines (JSONL text), skipping what is not a prompt: meta lines,
 * tool results, the `/exit` command's own lines (`<command-name>`, `<local-command-…>`), system lines and
 * the synthetic error answer of a refusal. Null when a real assistant answer comes after the last
 * prompt (it was answered) or there is none. Lines that don't parse are skipped.
 */
export function unansweredPrompt(jsonl: string): string | null {
  const lines = jsonl.split("\n");
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
      return null;
    }
    if (o.type !== "user" || o.isMeta === true) continue;
    const text = contentText(msg?.content);
    if (text === null) return null;
    if (/^\s*<(?:command-name|local-command-[a-z]+|command-message)>/.test(text)) continue;
    return text;
  }
  return null;
}

/** True when the transcript's last user prompt, unanswered, is `prompt` (trailing whitespace ignored). Never throws. */
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
    const got = unansweredPrompt(size > len ? text.slice(text.indexOf("\n") + 1) : text);
    return got !== null && got.replace(/\s+$/, "") === prompt.replace(/\s+$/, "");
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
