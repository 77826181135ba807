import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkPromptText } from "../../src/claude/prompt-text.js";
import {
  checkCommand,
  CliInput,
  readInputState,
  type InputPane,
  type SendResult,
} from "../../src/sessions/cli-input.js";
import type { PaneKey } from "../../src/tmux/pane.js";
import { ManualClock } from "../../src/util/clock.js";
import { classifyPane, DIALOGS, dialogLabel, type PaneDialog } from "../../src/sessions/pane-classify.js";

const RULE = "─".repeat(80);
const box = (first: string, ...more: string[]) =>
  ["● earlier answer", "", RULE, first, ...more, RULE, "  ? for shortcuts"].join("\n");

describe("checkPromptText", () => {
  it("keeps text as text: CR and CRLF become LF, trailing newlines go", () => {
    assert.deepEqual(checkPromptText("one\rtwo\r\nthree\n\n"), { ok: true, body: "one\ntwo\nthree" });
    assert.deepEqual(checkPromptText("!touch /tmp/x"), { ok: true, body: "!touch /tmp/x" });
    assert.deepEqual(checkPromptText("# heading"), { ok: true, body: "# heading" });
    assert.deepEqual(checkPromptText("/tmp/x what is this"), { ok: true, body: "/tmp/x what is this" });
    assert.deepEqual(checkPromptText("tab\there"), { ok: true, body: "tab\there" });
  });
  it("refuses what can't arrive as text, saying what and where", () => {
    const esc = checkPromptText("a\u001b[201~b");
    assert.equal(esc.ok, false);
    assert.match((esc as { reason: string }).reason, /ESC at offset 1/);
    assert.match((checkPromptText("x\u0015y") as { reason: string }).reason, /U\+0015 at offset 1/);
    assert.match((checkPromptText("x\u009by") as { reason: string }).reason, /U\+009B/);
    assert.match((checkPromptText("/logout") as { reason: string }).reason, /slash command/);
    assert.match((checkPromptText("/help me") as { reason: string }).reason, /starts with \/help/);
    assert.deepEqual(checkPromptText(" \n"), { ok: false, reason: "empty prompt" });
  });
});

describe("checkCommand", () => {
  it("allows only the documented commands, with their arguments", () => {
    assert.deepEqual(checkCommand("/clear"), { ok: true, body: "/clear" });
    assert.deepEqual(checkCommand(" /model opus "), { ok: true, body: "/model opus" });
    assert.deepEqual(checkCommand("/compact keep the API notes"), { ok: true, body: "/compact keep the API notes" });
    assert.match(
      (checkCommand("/logout") as { reason: string }).reason,
      /not an allowed command: "\/logout"; allowed: \/compact, \/clear, \/model/,
    );
    assert.match((checkCommand("/clear now") as { reason: string }).reason, /takes no arguments/);
    assert.match((checkCommand("/model a b") as { reason: string }).reason, /one model name/);
    assert.match((checkCommand("/compact a\u001bb") as { reason: string }).reason, /control characters/);
    assert.equal(checkCommand("compact").ok, false);
  });
});

describe("readInputState", () => {
  it("prompt mode, bash mode, text, no box", () => {
    assert.deepEqual(readInputState(box("❯\u00a0"), 0), { kind: "prompt", text: "" });
    assert.deepEqual(readInputState(box("❯\u00a0hello", "  world"), 0), { kind: "prompt", text: "hello\nworld" });
    assert.deepEqual(readInputState(box("!\u00a0touch x"), 0), { kind: "bash", text: "touch x" });
    assert.deepEqual(readInputState(box("! "), 0), { kind: "bash", text: "" });
    assert.deepEqual(readInputState("Resume this session with:\nclaude --resume x", 0), { kind: "none" });
  });
  it("a dialog wins over the box", () => {
    const perm = [
      "● Bash(touch x)",
      "Bash command",
      "  touch x",
      "Do you want to proceed?",
      "❯ 1. Yes",
      "  2. No",
      "Esc to cancel",
    ].join("\n");
    assert.deepEqual(readInputState(perm, 0), { kind: "dialog", dialog: "permission" });
  });
});

// One sample screen per row of the dialog table (wording from docs/notes/ and the CLI's reported texts).
const SAMPLES: Record<Exclude<PaneDialog, "unknown">, string[]> = {
  rate_limit_options: [
    "  ⎿  You've hit your session limit · resets 5:44am (UTC)",
    RULE,
    "  What do you want to do?",
    "",
    "  ❯ 1. Stop and wait for limit to reset",
    "    2. Upgrade your plan",
    "",
    "  Enter to confirm · Esc to cancel",
  ],
  trust_folder: [
    "Accessing workspace:",
    "",
    "/tmp/p",
    "",
    "Quick safety check: Is this a project you created or one you trust?",
    "❯ 1. Yes, I trust this folder",
    "  2. No, exit",
    "Enter to confirm · Esc to cancel",
  ],
  permission: [
    "Bash command",
    "  touch /tmp/x",
    "Do you want to proceed?",
    "❯ 1. Yes",
    "  2. Yes, and always allow access to p/ from this project",
    "  3. No",
    "Esc to cancel · Tab to amend · ctrl+e to explain",
  ],
  mcp_server: [
    "New MCP server found in .mcp.json: files",
    "",
    "❯ 1. Use this and all future MCP servers in this project",
    "  2. Use this MCP server",
    "  3. Continue without using this MCP server",
    "Enter to confirm · Esc to cancel",
  ],
  auto_mode_check: [
    "● Bash(touch /tmp/x)",
    "Auto mode can't check actions in this session",
    "Enter to stay in auto mode · shift+Tab to leave for accept edits mode and stop · Esc to cancel",
  ],
  bypass_permissions: [
    "WARNING: Claude Code running in Bypass Permissions mode",
    "❯ 1. No, exit",
    "  2. Yes, I accept",
    "Enter to confirm · Esc to cancel",
  ],
  api_key: [
    "Detected a custom API key in your environment",
    "Do you want to use this API key?",
    "❯ 1. Yes",
    "  2. No (recommended)",
    "Enter to confirm · Esc to cancel",
  ],
  external_imports: [
    "Allow external CLAUDE.md file imports?",
    "❯ 1. Yes, allow external imports",
    "  2. No, disable external imports",
    "Enter to confirm · Esc to cancel",
  ],
};

describe("the dialog table", () => {
  for (const row of DIALOGS) {
    it(`names ${row.dialog} (${row.label})`, () => {
      const screen = ["● some answer", "", ...SAMPLES[row.dialog]].join("\n");
      assert.equal(classifyPane(screen, Date.UTC(2026, 10, 30, 4)).dialog, row.dialog);
      assert.equal(dialogLabel(row.dialog), row.label);
    });
  }
  it("an unnamed numbered choice with the confirm hint is an unknown dialog; the idle box is none", () => {
    assert.equal(
      classifyPane(["Pick a colour", "❯ 1. Red", "  2. Blue", "Enter to confirm · Esc to cancel"].join("\n"), 0).dialog,
      "unknown",
    );
    assert.equal(dialogLabel("unknown"), "unrecognised dialog");
    assert.equal(classifyPane(box("❯\u00a01. Red Enter to confirm"), 0).dialog, null);
    assert.equal(classifyPane(box("❯\u00a0"), 0).dialog, null);
  });
});

/** A pane whose input box shows what was typed; `dialog` replaces the box while set. */
class FakePane {
  typed = "";
  dialog: string[] | null = null;
  keys: string[] = [];
  submitted: string[] = [];
  readonly pane: InputPane = {
    capture: async () => (this.dialog ? ["● answer", ...this.dialog].join("\n") : box(`❯\u00a0${this.typed}`)),
    sendKeys: async (_n: string, ...k: PaneKey[]) => {
      this.keys.push(...k);
      for (const key of k) {
        if (key === "Escape" && this.dialog) this.dialog = null;
        else if (key === "C-u") this.typed = "";
        else if (key === "Enter" && !this.dialog) {
          this.submitted.push(this.typed);
          this.typed = "";
        }
      }
    },
    sendLiteral: async (_n: string, t: string) => {
      this.keys.push(`lit:${t}`);
      if (!this.dialog) this.typed += t;
    },
    paste: async (_n: string, t: string) => {
      this.keys.push(`paste:${t}`);
      if (!this.dialog) this.typed += t;
    },
  };
}

describe("CliInput", () => {
  const noSignal = async () => null;
  it("a permission dialog: no key at all, refused with dialog open: permission, listener told", async () => {
    const p = new FakePane();
    p.dialog = SAMPLES.permission;
    const told: string[] = [];
    const input = new CliInput({
      pane: p.pane,
      waitSignal: noSignal,
      onDialog: (n, d, r) => told.push(`${n}:${d}:${r}`),
    });
    const r = await input.sendPrompt("s", "hello");
    assert.deepEqual(r, { ok: false, reason: "dialog open: permission", dialog: "permission" });
    assert.deepEqual(p.keys, []);
    assert.deepEqual(told, ["s:permission:dialog open: permission"]);
    const c = await input.command("s", "/clear", { timeoutMs: 500 });
    assert.equal(c.ok, false);
    assert.deepEqual(p.keys, []);
  });
  it("the rate-limit dialog is closed with Escape, then the text is pasted and Enter pressed", async () => {
    const p = new FakePane();
    p.dialog = SAMPLES.rate_limit_options;
    const r = await new CliInput({ pane: p.pane, waitSignal: noSignal }).sendPrompt("s", "go on\r\nplease");
    assert.deepEqual(r, { ok: true, confirmedAt: null });
    assert.deepEqual(p.keys, ["Escape", "paste:go on\nplease", "Enter"]);
    assert.deepEqual(p.submitted, ["go on\nplease"]);
  });
  it("a prompt taken and then refused (the rate-limit dialog after Enter) is never typed again while its hook is late", async () => {
    const p = new FakePane();
    const orig = p.pane.sendKeys;
    p.pane.sendKeys = async (n: string, ...k: PaneKey[]) => {
      await orig(n, ...k);
      if (k.includes("Enter")) p.dialog = SAMPLES.rate_limit_options; // the service refused it
    };
    let hook: (() => void) | null = null;
    const late = () => new Promise<null>((res) => (hook = () => res(null)));
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const input = new CliInput({
      pane: p.pane,
      waitSignal: async (_n, _pred, ms) => {
        // The UserPromptSubmit arrives after more than one Enter retry interval (a loaded box).
        const t = clock.after(Math.min(ms, 3_500), () => hook?.());
        await late();
        t.cancel();
        return { session: "s", ts: 1, signal: { kind: "prompt_submitted", prompt: "once", account: null } } as never;
      },
      clock,
    });
    let r: SendResult | undefined;
    void input.sendPrompt("s", "once", { confirmTimeoutMs: 10_000 }).then((x) => (r = x));
    await clock.advanceUntil(() => r, 20_000, "the send");
    assert.equal(r?.ok, true);
    assert.deepEqual(p.submitted, ["once"]);
    assert.deepEqual(p.keys, ["paste:once", "Enter"]);
  });
  it("a leading ! goes in behind a placeholder that is deleted (Home, Delete) before Enter", async () => {
    const p = new FakePane();
    // The fake box: Home+DC removes the first character, as the CLI does.
    const orig = p.pane.sendKeys;
    p.pane.sendKeys = async (n: string, ...k: PaneKey[]) => {
      if (k[0] === "Home" && k[1] === "DC") {
        p.keys.push(...k);
        p.typed = p.typed.slice(1);
        return;
      }
      return orig(n, ...k);
    };
    const r = await new CliInput({ pane: p.pane, waitSignal: noSignal }).sendPrompt("s", "!touch /tmp/x\nsecond line");
    assert.equal(r.ok, true);
    assert.deepEqual(p.keys, ["lit:X", "paste:!touch /tmp/x", "Home", "DC", "End", "paste:\nsecond line", "Enter"]);
    assert.deepEqual(p.submitted, ["!touch /tmp/x\nsecond line"]);
  });
  it("text that never shows in the box is never submitted", async () => {
    const p = new FakePane();
    p.pane.paste = async (_n: string, t: string) => {
      p.keys.push(`paste:${t}`); // dropped by the CLI
    };
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    let r: SendResult | undefined;
    void new CliInput({ pane: p.pane, waitSignal: noSignal, clock }).sendPrompt("s", "lost").then((x) => (r = x));
    await clock.advanceUntil(() => r, 60_000, "the send"); // three tries, each waiting SHOW_TIMEOUT_MS of the clock
    assert.deepEqual(r, { ok: false, reason: "the text did not show in the input box" });
    assert.ok(!p.keys.includes("Enter"));
  });
  it("a control character is refused before any key", async () => {
    const p = new FakePane();
    const r = await new CliInput({ pane: p.pane, waitSignal: noSignal }).sendPrompt("s", "a\rb\u001bc");
    assert.equal(r.ok, false);
    assert.deepEqual(p.keys, []);
  });
});
