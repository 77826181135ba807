// The one way keys reach a Claude Code CLI: prompts, resends, continue notes, /exit, /clear and the
// operator's `command`. It reads the input state from the pane (prompt mode, bash mode, a dialog open and
// which), types only into the prompt-mode input box, checks the text arrived, and only then presses Enter.
// A dialog other than the rate-limit one gets no keys: the send is refused with `dialog open: <kind>`.
// What the CLI does with each kind of input was verified against 2.1.197 and 2.1.332: docs/notes/cli-input.md.

import type { SessionSignal } from "./signals.js";
import { classifyPane, type PaneDialog } from "./pane-classify.js";
import { systemClock, type Clock } from "../util/clock.js";
import { pollUntil } from "../util/wait.js";
import { checkPromptText, type TextCheck } from "../claude/prompt-text.js";
import type { Pane } from "../tmux/pane.js";

/** What this module does with the pane (tmux/pane.ts): read it, type or paste text, press keys of the fixed list. */
export type InputPane = Pick<Pane, "capture" | "sendKeys" | "sendLiteral" | "paste">;
/**
 * A send whose Enter went in but whose UserPromptSubmit did not come within the confirm timeout: the prompt
 * may well be in the CLI (its hook late on a loaded box), so a caller must not simply send it again.
 */
export const NOT_CONFIRMED = "prompt not confirmed by UserPromptSubmit";

export type WaitSignal = (
  name: string,
  pred: (s: SessionSignal) => boolean,
  timeoutMs: number,
) => Promise<SessionSignal | null>;

/** What the input area of the pane shows now. `none`: no input box on screen (still drawing, exited). */
export type InputState =
  | { kind: "dialog"; dialog: PaneDialog }
  | { kind: "prompt"; text: string }
  | { kind: "bash"; text: string }
  | { kind: "none" };

export type SendResult = { ok: true; confirmedAt: number | null } | { ok: false; reason: string; dialog?: PaneDialog };

/** Called when a send is refused because a dialog is open (status shows `waiting: <kind>`, an event is written). */
export type DialogListener = (name: string, dialog: PaneDialog, reason: string) => void;

/** How long to wait for UserPromptSubmit before checking whether Enter was swallowed. */
const ENTER_RETRY_MS = 2500;
/** How long typed or pasted text may take to show in the input box. */
const SHOW_TIMEOUT_MS = 3000;

/**
 * The text of the CLI's input box: the lines between the last two horizontal rules of the screen.
 * Verified on 2.1.197 and 2.1.332 (docs/notes/claude-cli-observed.md §4).
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

/** Does the input box hold (the end of) `body`, or the CLI's placeholder for a paste? */
export function inputShows(pane: string, body: string): boolean {
  const box = inputBoxText(pane);
  if (/\[Pasted text #\d+/.test(box)) return true;
  const tail = squash(body).slice(-24);
  return tail.length > 0 && squash(box).includes(tail);
}

/**
 * The input state of a captured pane: a dialog (pane-classify's table) wins; else the input box's first
 * line says the mode: `❯` + no-break space is prompt mode, `!` + space is bash mode (verified 2.1.197,
 * 2.1.332: "! for shell mode" under it). The box text is returned without the mode marker, lines joined.
 */
export function readInputState(pane: string, now: number): InputState {
  const dialog = classifyPane(pane, now).dialog;
  if (dialog) return { kind: "dialog", dialog };
  const box = inputBoxText(pane);
  const lines = box.split("\n");
  const first = lines[0] ?? "";
  const rest = lines.slice(1).map((l) => l.replace(/^ {2}/, ""));
  const m = /^([❯!])[\s\u00a0]?(.*)$/u.exec(first);
  if (!m) return { kind: "none" };
  const text = [m[2] ?? "", ...rest].join("\n").replace(/\s+$/u, "");
  return { kind: m[1] === "!" ? "bash" : "prompt", text };
}

/**
 * A leading character the CLI takes as a mode switch when it is typed or pasted into an empty box:
 * `!` bash mode (verified on both versions: a pasted `!touch x` ran), `#` memory mode (older CLIs),
 * `&` and `?` (shortcut help). Such text is entered behind a placeholder character that is deleted after.
 */
const MODE_LEAD = /^[!#&?]/;

/** Slash commands the `command` operation may run, with the arguments each takes. */
export const ALLOWED_COMMANDS: Readonly<Record<string, { args: "none" | "model" | "text"; about: string }>> = {
  "/compact": { args: "text", about: "summarise the conversation so far (optional instructions)" },
  "/clear": { args: "none", about: "start a new, empty conversation" },
  "/model": { args: "model", about: "switch the model (a model name or alias)" },
};

/** `/model opus`, `/compact keep the API notes` or `/clear`, checked against ALLOWED_COMMANDS; else why not. */
export function checkCommand(input: string): TextCheck {
  const line = input.trim();
  const m = /^(\/[a-z-]+)(?:\s+([\s\S]*))?$/.exec(line);
  const spec = m ? ALLOWED_COMMANDS[m[1]!] : undefined;
  if (!m || !spec)
    return {
      ok: false,
      reason: `not an allowed command: ${JSON.stringify(line.split(/\s/)[0] ?? "")}; allowed: ${Object.keys(ALLOWED_COMMANDS).join(", ")}`,
    };
  const args = (m[2] ?? "").trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(args))
    return { ok: false, reason: `${m[1]}: arguments must be one line of text without control characters` };
  if (spec.args === "none" && args) return { ok: false, reason: `${m[1]} takes no arguments` };
  if (spec.args === "model" && !/^[A-Za-z0-9._[\]-]{1,80}$/.test(args))
    return { ok: false, reason: `${m[1]} needs one model name (letters, digits, . _ - [ ])` };
  if (args.length > 2000) return { ok: false, reason: `${m[1]}: arguments longer than 2000 characters` };
  return { ok: true, body: args ? `${m[1]} ${args}` : m[1]! };
}

/** The reason every refused send carries for an open dialog. */
export function dialogReason(d: PaneDialog): string {
  return `dialog open: ${d}`;
}

/** CliInput's (and PromptSender's) collaborators; it has no parameters. */
export interface CliInputDeps {
  /** the sessions' panes, read and typed into */
  pane: InputPane;
  /** waits for a session's hook signal (the UserPromptSubmit that confirms a send) */
  waitSignal: WaitSignal;
  /** default: the system clock */
  clock?: Clock;
  /**
   * Told about every send refused at a dialog (session-service records `waiting: <kind>` and an event).
   * Default: nobody.
   */
  onDialog?: DialogListener | null;
}

export class CliInput {
  private readonly pane: InputPane;
  private readonly waitSignal: WaitSignal;
  private readonly clock: Clock;
  private readonly onDialog: DialogListener | null;

  constructor(deps: CliInputDeps) {
    this.pane = deps.pane;
    this.waitSignal = deps.waitSignal;
    this.clock = deps.clock ?? systemClock;
    this.onDialog = deps.onDialog ?? null;
  }

  private now(): number {
    return this.clock.now();
  }

  async state(name: string): Promise<InputState> {
    return readInputState(await this.pane.capture(name), this.now());
  }

  /**
   * Brings the input to an empty prompt-mode box: the rate-limit dialog is closed with Escape (it swallows
   * typed text and turns Enter into a menu choice), sticky bash mode is left with Backspace on its empty
   * box, leftover text is cleared with Ctrl-U. Any other dialog: no key at all, refused. With
   * `dismissAny` (a swap's /exit) every dialog gets Escape, which cancels and never approves.
   */
  async prepare(
    name: string,
    opts: { dismissAny?: boolean } = {},
  ): Promise<{ ok: true } | { ok: false; reason: string; dialog?: PaneDialog }> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const s = await this.state(name);
      if (s.kind === "dialog") {
        if (s.dialog !== "rate_limit_options" && !opts.dismissAny) return this.refuse(name, s.dialog);
        await this.pane.sendKeys(name, "Escape");
        await pollUntil(async () => (await this.state(name)).kind !== "dialog", {
          clock: this.clock,
          timeoutMs: 1500,
          intervalMs: 25,
        });
        continue;
      }
      if (s.kind === "bash") {
        await this.pane.sendKeys(name, "C-u", "BSpace");
        await pollUntil(async () => (await this.state(name)).kind !== "bash", {
          clock: this.clock,
          timeoutMs: 1500,
          intervalMs: 25,
        });
        continue;
      }
      if (s.kind === "prompt" && s.text && !/^Press up to edit queued messages/.test(s.text)) {
        await this.pane.sendKeys(name, "C-u");
        await pollUntil(
          async () => {
            const t = await this.state(name);
            return t.kind !== "prompt" || !t.text;
          },
          { clock: this.clock, timeoutMs: 1000, intervalMs: 25 },
        );
        continue;
      }
      return { ok: true };
    }
    const s = await this.state(name);
    if (s.kind === "dialog" && !opts.dismissAny) return this.refuse(name, s.dialog);
    if (s.kind === "bash") return { ok: false, reason: "the input box stays in bash mode" };
    return { ok: true };
  }

  private refuse(name: string, dialog: PaneDialog): { ok: false; reason: string; dialog: PaneDialog } {
    const reason = dialogReason(dialog);
    this.onDialog?.(name, dialog, reason);
    return { ok: false, reason, dialog };
  }

  /**
   * Enters `body` (already checked) into an empty prompt-mode box and waits until it shows. Text is
   * always pasted (bracketed paste: newlines stay in one prompt, nothing acts as a key); a leading mode
   * character is entered behind a placeholder `X` typed first, which Home + Delete then remove (verified:
   * the model received `!touch …` and nothing ran). Returns false when the text never showed.
   */
  private async enter(name: string, body: string): Promise<boolean> {
    const shows = (want: string) =>
      pollUntil(
        async () => {
          const pane = await this.pane.capture(name);
          const s = readInputState(pane, this.now());
          return s.kind === "prompt" && inputShows(pane, want);
        },
        { clock: this.clock, timeoutMs: SHOW_TIMEOUT_MS, intervalMs: 25 },
      );
    if (!MODE_LEAD.test(body)) {
      await this.pane.paste(name, body);
      return !!(await shows(body));
    }
    const nl = body.indexOf("\n");
    const first = nl < 0 ? body : body.slice(0, nl);
    const rest = nl < 0 ? "" : body.slice(nl);
    // Keys and pastes can be taken out of order while the CLI draws: each waits for the one before.
    await this.pane.sendLiteral(name, "X");
    if (!(await shows("X"))) return false;
    await this.pane.paste(name, first);
    if (!(await shows(`X${first}`))) return false;
    await this.pane.sendKeys(name, "Home", "DC", "End");
    const lead = body[0]!;
    const moved = await pollUntil(
      async () => {
        const s = await this.state(name);
        return s.kind === "prompt" && s.text.startsWith(lead) && !s.text.startsWith("X");
      },
      { clock: this.clock, timeoutMs: SHOW_TIMEOUT_MS, intervalMs: 25 },
    );
    if (!moved) return false;
    if (rest) {
      await this.pane.paste(name, rest);
      return !!(await shows(body));
    }
    return true;
  }

  /**
   * Sends a prompt: checks the text (checkPromptText), prepares the box, enters the text, checks it
   * arrived, presses Enter; with `confirmTimeoutMs`, waits for UserPromptSubmit and presses Enter again
   * while the text still sits in the box (the CLI drops an Enter while it draws). Refused, with no Enter,
   * when a dialog other than the rate-limit one is open at any point before the prompt is taken.
   */
  async sendPrompt(name: string, text: string, opts: { confirmTimeoutMs?: number } = {}): Promise<SendResult> {
    const checked = checkPromptText(text);
    if (!checked.ok) return { ok: false, reason: checked.reason };
    const body = checked.body;
    const deadline = this.now() + (opts.confirmTimeoutMs ?? 0);
    let confirmed: SessionSignal | null = null;
    const confirm = opts.confirmTimeoutMs
      ? this.waitSignal(name, (s) => s.signal.kind === "prompt_submitted", opts.confirmTimeoutMs).then(
          (s) => (confirmed = s),
        )
      : null;
    const typeIn = async (): Promise<SendResult | null> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (confirmed) return null; // taken meanwhile: the lock is gone, a swap may own the pane now
        const p = await this.prepare(name);
        if (!p.ok) return p;
        if (await this.enter(name, body)) return null;
      }
      const s = await this.state(name);
      if (s.kind === "dialog" && s.dialog !== "rate_limit_options") return this.refuse(name, s.dialog);
      return { ok: false, reason: "the text did not show in the input box" };
    };
    // Once Enter went in on the text, a rate-limit dialog means the CLI took the prompt and the service
    // refused it: the limit reactor owes it (StopFailure), so typing it again would send it twice (seen in
    // the soak, seed 613524: the hook came late under load and the prompt reached the model twice).
    let pressed = false;
    // Enter only when the box shows the text in prompt mode and no dialog is open.
    // After the first Enter the text is never typed again: Enter is pressed again only while the box still
    // shows it (a box emptied between two reads was submitted).
    const enterIfReady = async (): Promise<SendResult | null> => {
      if (confirmed) return null;
      const pane = await this.pane.capture(name);
      const s = readInputState(pane, this.now());
      if (s.kind === "dialog" && s.dialog !== "rate_limit_options") return this.refuse(name, s.dialog);
      if (pressed && !(s.kind === "prompt" && inputShows(pane, body))) return null;
      if (s.kind === "dialog" || (s.kind === "prompt" && !inputShows(pane, body))) {
        const again = await typeIn();
        if (again) return again;
      } else if (s.kind !== "prompt") {
        return null;
      }
      if (confirmed) return null;
      await this.pane.sendKeys(name, "Enter");
      pressed = true;
      return null;
    };
    const typed = await typeIn();
    if (typed) {
      void confirm;
      return typed;
    }
    const first = await enterIfReady();
    if (first) return first;
    if (!confirm) return { ok: true, confirmedAt: null };
    while (!confirmed && this.now() < deadline) {
      const pause = new AbortController();
      await Promise.race([confirm, this.clock.sleep(ENTER_RETRY_MS, pause.signal)]);
      pause.abort(); // the sleep's timer goes when the hook came first
      if (confirmed) break;
      const pane = await this.pane.capture(name);
      const s = readInputState(pane, this.now());
      if (s.kind === "dialog" && s.dialog !== "rate_limit_options") return this.refuse(name, s.dialog);
      if (s.kind === "dialog" && pressed) continue; // taken and refused: wait for its UserPromptSubmit
      if (s.kind === "dialog" || (s.kind === "prompt" && inputShows(pane, body))) {
        const r = await enterIfReady();
        if (r) return r;
      }
    }
    await confirm;
    const sig = confirmed as SessionSignal | null;
    return sig ? { ok: true, confirmedAt: sig.ts } : { ok: false, reason: NOT_CONFIRMED };
  }

  /**
   * Runs a slash command (checked by checkCommand unless `internal`: /exit is the swap's own): prepares
   * the box, types the command (plain checked text, `send-keys -l`), waits until it shows, presses Enter,
   * and presses again while it still shows, until `done()` or `timeoutMs`. Returns whether `done()` held
   * (or, without `done`, whether the command left the box).
   */
  async command(
    name: string,
    command: string,
    opts: { timeoutMs: number; done?: () => Promise<boolean>; dismissAny?: boolean; internal?: boolean },
  ): Promise<SendResult> {
    let line = command;
    if (!opts.internal) {
      const c = checkCommand(command);
      if (!c.ok) return { ok: false, reason: c.reason };
      line = c.body;
    }
    const deadline = this.now() + opts.timeoutMs;
    const done =
      opts.done ??
      (async () => {
        const s = await this.state(name);
        return s.kind === "prompt" && !inputShows(await this.pane.capture(name), line);
      });
    for (let attempt = 0; attempt < 3 && this.now() < deadline; attempt++) {
      const p = await this.prepare(name, { dismissAny: opts.dismissAny });
      if (!p.ok) return p;
      await this.pane.sendLiteral(name, line);
      // Enter before the box shows the command is lost (or picks a dialog entry): wait for it; a
      // dialog that opens over it (the rate-limit one, a moment after a StopFailure) sends us round again.
      const shown = await pollUntil(
        async () => {
          const pane = await this.pane.capture(name);
          const s = readInputState(pane, this.now());
          return s.kind === "dialog" ? "dialog" : s.kind === "prompt" && inputShows(pane, line) ? "shown" : false;
        },
        {
          clock: this.clock,
          timeoutMs: Math.min(SHOW_TIMEOUT_MS, Math.max(100, deadline - this.now())),
          intervalMs: 25,
        },
      );
      if (shown !== "shown") continue;
      await this.pane.sendKeys(name, "Enter");
      while (this.now() < deadline) {
        // A dialog that opens over the command (the rate-limit one: Enter then picks its first option and
        // the command is lost) is seen at once, not after the wait.
        const r = await pollUntil(
          async () => ((await done()) ? "done" : (await this.state(name)).kind === "dialog" ? "dialog" : false),
          {
            clock: this.clock,
            timeoutMs: Math.min(2000, Math.max(50, deadline - this.now())),
            intervalMs: 25,
          },
        );
        if (r === "done") return { ok: true, confirmedAt: this.now() };
        if (r === "dialog") break; // round again: prepare() closes or refuses it
        const pane = await this.pane.capture(name).catch(() => "");
        const s = readInputState(pane, this.now());
        if (s.kind === "prompt" && inputShows(pane, line)) await this.pane.sendKeys(name, "Enter");
        else if (s.kind === "prompt") break; // the command is gone without its effect: type it again
      }
    }
    if (await done().catch(() => false)) return { ok: true, confirmedAt: this.now() };
    return { ok: false, reason: `${line.split(" ")[0]} not taken by the CLI in time` };
  }
}
