import type { Tmux } from "../tmux/tmux.js";
import { pollUntil } from "../util/wait.js";
import { classifyPane } from "./pane-classify.js";
import type { SessionSignal } from "./types.js";

type WaitSignal = (name: string, pred: (s: SessionSignal) => boolean, timeoutMs: number) => Promise<SessionSignal | null>;

/** Text longer than this (or with a newline) goes through a paste buffer instead of typed keys. */
const TYPE_LIMIT = 200;
/** How long to wait for UserPromptSubmit before checking whether Enter was swallowed. */
const ENTER_RETRY_MS = 2500;

export type SendResult = { ok: true; confirmedAt: number | null } | { ok: false; reason: string };

/**
 * The text of the CLI's input box: the lines between the last two horizontal rules of the screen.
 * Used only to tell whether typed text is still waiting there (Enter not taken yet).
 */
export function inputBoxText(pane: string): string {
  const lines = pane.split("\n");
  const rules: number[] = [];
  lines.forEach((l, i) => {
    if (/^\s*─{10,}\s*$/.test(l)) rules.push(i);
  });
  if (rules.length < 2) return "";
  const [a, b] = rules.slice(-2) as [number, number];
  return lines.slice(a + 1, b).join("\n");
}

function squash(s: string): string {
  return s.replace(/\s+/g, "");
}

/** Does the input box hold (the end of) what we typed, or the CLI's placeholder for a paste? */
export function inputShows(pane: string, body: string): boolean {
  const box = inputBoxText(pane);
  if (/\[Pasted text #\d+/.test(box)) return true;
  const tail = squash(body).slice(-24);
  return tail.length > 0 && squash(box).includes(tail);
}

/**
 * Sends a prompt byte for byte: short single-line text typed literally, anything else pasted through a
 * named buffer as a bracketed paste; Enter goes as its own key once the text shows in the input box,
 * and again if the CLI swallowed it (it ignores keys while it is still drawing a resumed conversation).
 * Never a shell string, never key-name interpretation of user text.
 */
export class PromptSender {
  constructor(private readonly tmux: Tmux, private readonly waitSignal: WaitSignal) {}

  /**
   * The rate-limit dialog ("What do you want to do? 1. Stop and wait…") swallows typed text and turns
   * Enter into a menu choice: close it with Escape first (retrying: a key can be lost while it draws).
   * Other dialogs (permissions, trust) are the user's to answer and are left alone.
   */
  private async dismissLimitDialog(name: string): Promise<void> {
    for (let i = 0; i < 3; i++) {
      if (classifyPane(await this.tmux.capture(name), Date.now()).dialog !== "rate_limit_options") return;
      await this.tmux.sendKeys(name, "Escape");
      await pollUntil(async () => classifyPane(await this.tmux.capture(name), Date.now()).dialog !== "rate_limit_options", { timeoutMs: 1500, intervalMs: 50 });
    }
  }

  async send(name: string, text: string, opts: { confirmTimeoutMs?: number } = {}): Promise<SendResult> {
    // A trailing newline would submit early (typed) or be kept in the paste; the Enter below submits.
    const body = text.replace(/\r\n/g, "\n").replace(/\n+$/, "");
    if (!body) return { ok: false, reason: "empty prompt" };
    const deadline = Date.now() + (opts.confirmTimeoutMs ?? 0);
    let confirmed: SessionSignal | null = null;
    const confirm = opts.confirmTimeoutMs
      ? this.waitSignal(name, (s) => s.signal.kind === "prompt_submitted", opts.confirmTimeoutMs).then((s) => (confirmed = s))
      : null;
    // Keys typed while the CLI is still busy with something else (a dialog opening or closing, a
    // resumed conversation being drawn) can be dropped: type again, after clearing, until the box
    // shows them. The rate-limit dialog can open late, over the text: close it and type again.
    const typeIn = async (): Promise<boolean> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        await this.dismissLimitDialog(name);
        if (attempt > 0) await this.tmux.sendKeys(name, "C-u");
        if (body.includes("\n") || body.length > TYPE_LIMIT) await this.tmux.paste(name, body);
        else await this.tmux.sendLiteral(name, body);
        if (await pollUntil(async () => inputShows(await this.tmux.capture(name), body), { timeoutMs: 3000, intervalMs: 25 })) return true;
      }
      return false;
    };
    await typeIn();
    await this.tmux.sendKeys(name, "Enter");
    if (!confirm) return { ok: true, confirmedAt: null };
    while (!confirmed && Date.now() < deadline) {
      await Promise.race([confirm, new Promise((r) => setTimeout(r, ENTER_RETRY_MS))]);
      if (confirmed) break;
      const pane = await this.tmux.capture(name);
      if (classifyPane(pane, Date.now()).dialog === "rate_limit_options") {
        await this.dismissLimitDialog(name);
        if (!inputShows(await this.tmux.capture(name), body)) await typeIn();
        await this.tmux.sendKeys(name, "Enter");
      } else if (inputShows(pane, body)) {
        await this.tmux.sendKeys(name, "Enter");
      }
    }
    await confirm;
    const sig = confirmed as SessionSignal | null;
    return sig ? { ok: true, confirmedAt: sig.ts } : { ok: false, reason: "prompt not confirmed by UserPromptSubmit" };
  }
}
