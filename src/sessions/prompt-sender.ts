import type { Tmux } from "../tmux/tmux.js";
import { pollUntil } from "../util/wait.js";
import type { SessionSignal } from "./types.js";

type WaitSignal = (name: string, pred: (s: SessionSignal) => boolean, timeoutMs: number) => Promise<SessionSignal | null>;

/** Text longer than this (or with a newline) goes through a paste buffer instead of typed keys. */
const TYPE_LIMIT = 200;

export type SendResult = { ok: true; confirmedAt: number | null } | { ok: false; reason: string };

/**
 * Sends a prompt byte for byte: short single-line text typed literally, anything else pasted through a
 * named buffer as a bracketed paste; Enter goes as its own key once the text shows in the pane.
 * Never a shell string, never key-name interpretation of user text.
 */
export class PromptSender {
  constructor(private readonly tmux: Tmux, private readonly waitSignal: WaitSignal) {}

  async send(name: string, text: string, opts: { confirmTimeoutMs?: number } = {}): Promise<SendResult> {
    // A trailing newline would submit early (typed) or be kept in the paste; the Enter below submits.
    const body = text.replace(/\r\n/g, "\n").replace(/\n+$/, "");
    if (!body) return { ok: false, reason: "empty prompt" };
    const before = await this.tmux.capture(name);
    const confirm = opts.confirmTimeoutMs
      ? this.waitSignal(name, (s) => s.signal.kind === "prompt_submitted", opts.confirmTimeoutMs)
      : null;
    if (body.includes("\n") || body.length > TYPE_LIMIT) await this.tmux.paste(name, body);
    else await this.tmux.sendLiteral(name, body);
    // The input box must have taken the text before Enter, or Enter lands first and submits nothing.
    await pollUntil(async () => (await this.tmux.capture(name)) !== before, { timeoutMs: 3000, intervalMs: 25 });
    await this.tmux.sendKeys(name, "Enter");
    if (!confirm) return { ok: true, confirmedAt: null };
    const sig = await confirm;
    return sig ? { ok: true, confirmedAt: sig.ts } : { ok: false, reason: "prompt not confirmed by UserPromptSubmit" };
  }
}
