import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyPane, PANE_WINDOW_LINES } from "../../src/sessions/pane-classify.js";

const NOW = Date.UTC(2025, 1, 3, 12, 0);
const BAR = "─".repeat(58);
const box = (...rows: string[]): string[] => [`╭${BAR}╮`, ...rows.map((r) => `│ ${r.padEnd(56)} │`), `╰${BAR}╯`];
const pane = (...parts: (string | string[])[]): string => parts.flat().join("\n");

const WELCOME = box(
  "✻ Welcome to Claude Code!",
  "",
  "  /help for help, /status for your current setup",
  "",
  "  cwd: /home/dev/proj",
);
const INPUT = [...box(">"), "  ? for shortcuts"];
// capture-pane pads the screen below the last row of output.
const PADDING = Array.from({ length: 30 }, () => "");

const IDLE = pane(
  WELCOME,
  "",
  "> refactor the parser",
  "",
  "● Done. The parser now streams tokens.",
  "",
  "✻ Worked for 1m 12s",
  "",
  INPUT,
  PADDING,
);

const BUSY_HINT = pane(
  WELCOME,
  "",
  "> refactor the parser",
  "",
  "● I'll start by reading the parser module.",
  "",
  "● Read(src/parser.ts)",
  "  ⎿  Read 120 lines (ctrl+r to expand)",
  "",
  "✻ Pondering… (12s · ↑ 1.2k tokens · esc to interrupt)",
  "",
  INPUT,
  PADDING,
);

const BUSY_SPINNER_ONLY = pane(WELCOME, "", "> run the tests", "", "✶ Running the test suite… (3s)", "", INPUT);

const LIMIT_DIALOG = pane(
  WELCOME,
  "",
  "> write the tests",
  "",
  "● I'll write the tests now.",
  "  ⎿  You've hit your session limit · resets 3:58am (UTC)",
  "     /upgrade to increase your usage limit.",
  "",
  box(
    "What do you want to do?",
    "",
    "❯ 1. Stop and wait for limit to reset",
    "  2. Upgrade your plan",
    "",
    "Enter to confirm · Esc to cancel",
  ),
  PADDING,
);

// Newer CLIs label the first option just "Stop".
const LIMIT_DIALOG_SHORT = pane(
  "> go",
  "  ⎿  You've hit your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
  "",
  box("What do you want to do?", "", "❯ 1. Stop", "  2. Switch to Team plan"),
);

const WRAPPED_LIMIT = pane(
  "> go",
  "",
  "  ⎿  You've hit your weekly limit ·",
  "     resets Feb 7, 11am (Asia/Seoul)",
  "",
  INPUT,
);

const WARNING_ONLY = pane(
  "> go",
  "● Working on it.",
  "  ⎿  You've used 90% of your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
  "",
  INPUT,
);

const TRUST_OLD = pane(
  box(
    "Do you trust the files in this folder?",
    "",
    "/home/dev/proj",
    "",
    "Claude Code may read files in this folder.",
    "",
    "❯ 1. Yes, proceed",
    "  2. No, exit",
  ),
);

const TRUST_NEW = pane(
  box(
    "Accessing workspace:",
    "",
    "/home/dev/proj",
    "",
    "Quick safety check: Is this a project you created or one you trust?",
    "",
    "❯ 1. Yes, I trust this folder",
    "  2. No, exit",
  ),
);

const PERMISSION_BASH = pane(
  WELCOME,
  "",
  "> clean the build",
  "",
  "● Bash(rm -rf build)",
  "",
  box(
    "Bash command",
    "",
    "  rm -rf build",
    "  Remove the build directory",
    "",
    "Do you want to proceed?",
    "❯ 1. Yes",
    "  2. Yes, and don't ask again for rm commands in /home/dev/proj",
    "  3. No, and tell Claude what to do differently (esc)",
  ),
);

const PERMISSION_EDIT = pane(
  "● Update(src/parser.ts)",
  box(
    "Edit file",
    "  src/parser.ts",
    "",
    "Do you want to make this edit to parser.ts?",
    "❯ 1. Yes",
    "  2. Yes, allow all edits during this session (shift+tab)",
    "  3. No, and tell Claude what to do differently (esc)",
  ),
);

// The model quoting a question in prose is not a dialog.
const PROSE_QUESTION = pane(
  '● The script asks "Do you want to proceed?" before deleting; pass --yes to skip it.',
  "",
  INPUT,
);

// A limit from long ago followed by a full screen of later work.
const OLD_LIMIT = pane(
  "  ⎿  You've hit your session limit · resets 3:58am (UTC)",
  box("What do you want to do?", "", "❯ 1. Stop and wait for limit to reset", "  2. Upgrade your plan"),
  Array.from({ length: PANE_WINDOW_LINES }, (_, i) => `● step ${i}: done`),
  INPUT,
);

// An open dialog below an older, answered one: the lower one is current.
const TRUST_THEN_PERMISSION = pane(TRUST_OLD, "> go", PERMISSION_BASH);

const sessionLimit = { kind: "session", resetAt: Date.UTC(2025, 1, 4, 3, 58) };
const weeklyLimit = { kind: "weekly", resetAt: Date.UTC(2025, 1, 7, 2, 0) };

describe("classifyPane", () => {
  const cases: Array<
    [string, string, { limit: object | null; limitText: string | null; dialog: string | null; busy: boolean }]
  > = [
    ["idle prompt, finished spinner", IDLE, { limit: null, limitText: null, dialog: null, busy: false }],
    ["busy: esc to interrupt", BUSY_HINT, { limit: null, limitText: null, dialog: null, busy: true }],
    ["busy: spinner line alone", BUSY_SPINNER_ONLY, { limit: null, limitText: null, dialog: null, busy: true }],
    [
      "limit message and rate-limit dialog",
      LIMIT_DIALOG,
      {
        limit: sessionLimit,
        limitText: "You've hit your session limit · resets 3:58am (UTC)",
        dialog: "rate_limit_options",
        busy: false,
      },
    ],
    [
      "rate-limit dialog with the short 'Stop' label",
      LIMIT_DIALOG_SHORT,
      {
        limit: weeklyLimit,
        limitText: "You've hit your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
        dialog: "rate_limit_options",
        busy: false,
      },
    ],
    [
      "limit message wrapped over two rows",
      WRAPPED_LIMIT,
      {
        limit: weeklyLimit,
        limitText: "You've hit your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
        dialog: null,
        busy: false,
      },
    ],
    ["usage warning is not a limit", WARNING_ONLY, { limit: null, limitText: null, dialog: null, busy: false }],
    ["trust dialog, old wording", TRUST_OLD, { limit: null, limitText: null, dialog: "trust_folder", busy: false }],
    ["trust dialog, new wording", TRUST_NEW, { limit: null, limitText: null, dialog: "trust_folder", busy: false }],
    ["bash permission prompt", PERMISSION_BASH, { limit: null, limitText: null, dialog: "permission", busy: false }],
    ["edit permission prompt", PERMISSION_EDIT, { limit: null, limitText: null, dialog: "permission", busy: false }],
    ["question quoted in prose", PROSE_QUESTION, { limit: null, limitText: null, dialog: null, busy: false }],
    ["old scrollback does not trigger", OLD_LIMIT, { limit: null, limitText: null, dialog: null, busy: false }],
    [
      "the lowest dialog wins",
      TRUST_THEN_PERMISSION,
      { limit: null, limitText: null, dialog: "permission", busy: false },
    ],
    ["empty pane", "", { limit: null, limitText: null, dialog: null, busy: false }],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.deepEqual(classifyPane(text, NOW), want));
  }

  it("reads a zone-less reset in the given default zone", () => {
    const got = classifyPane(pane("  ⎿  You've hit your Opus limit · resets 5pm", "", INPUT), NOW, "America/New_York");
    assert.deepEqual(got.limit, { kind: "opus", resetAt: Date.UTC(2025, 1, 3, 22, 0) });
  });

  it("takes the newest of two limit messages", () => {
    const got = classifyPane(
      pane(
        "⎿ You've hit your session limit · resets 3:58am (UTC)",
        "> retry",
        "⎿ You've hit your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
        "",
        INPUT,
      ),
      NOW,
    );
    assert.equal(got.limit?.kind, "weekly");
  });

  it("handles CRLF captures", () => {
    assert.equal(classifyPane(BUSY_HINT.replace(/\n/g, "\r\n"), NOW).busy, true);
  });
});
