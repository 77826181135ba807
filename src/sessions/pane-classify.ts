// Reads a captured tmux pane (ANSI already stripped) for the fallback path when
// hooks are silent: is a turn running, is a limit message shown, is a dialog
// waiting for a key. Screen scraping breaks when the CLI's UI changes, so every
// marker lives in one table here and hooks stay the primary signal.

import { limitHeadKind, parseLimitMessage, type LimitInfo } from "../claude/reset-time.js";

/**
 * Every dialog the CLI can put over its input box, by kind (the table is DIALOGS below). `unknown`: a
 * numbered choice with "Enter to confirm" that no row names — still a dialog, so nothing is typed into it.
 */
export type PaneDialog =
  | "rate_limit_options"
  | "trust_folder"
  | "permission"
  | "mcp_server"
  | "auto_mode_check"
  | "bypass_permissions"
  | "api_key"
  | "external_imports"
  | "unknown";
export interface PaneClass {
  limit: LimitInfo | null;
  limitText: string | null;
  dialog: PaneDialog | null;
  busy: boolean;
}

// Only the bottom of the screen is current: older scrollback may hold limit
// messages and dialogs that were dealt with long ago.
export const PANE_WINDOW_LINES = 40;

// Ink renders the key hint as "esc to interrupt" beside the spinner while a turn runs.
const BUSY_HINT = /\besc to interrupt\b/i;
// Spinner line: a frame glyph, a verb with an ellipsis, and optionally "(12s · ↑ 1.2k tokens ...)".
// The finished form ("✻ Worked for 12s") has no ellipsis, so it doesn't count.
const SPINNER = /^[·✢✳✶✻✽*]\s+[A-Z][^…]{0,60}…(?:\s*\(|$)/u;

/** One row of the dialog table: its kind, how status names it, and the line that gives it away. */
export interface DialogRow {
  dialog: Exclude<PaneDialog, "unknown">;
  label: string;
  re: RegExp;
  source: string;
}

/**
 * The dialog table. Order does not matter: the marker lowest on screen is the dialog open now.
 * `source` says where the wording comes from (docs/notes/claude-cli-observed.md, cli-2.1.332.md, cli-input.md).
 */
export const DIALOGS: readonly DialogRow[] = [
  // The rate-limit dialog's first option changed to a bare "Stop" in some versions; its question plus a
  // limit line on screen is the other way to know it (findDialog).
  {
    dialog: "rate_limit_options",
    label: "rate-limit dialog",
    re: /Stop and wait for limit to reset/i,
    source: "verified 2.1.197, 2.1.332",
  },
  {
    dialog: "trust_folder",
    label: "trust dialog",
    re: /Do you trust the files in this folder\?|Yes, I trust this folder|Is this a project you created or one you trust/i,
    source: "verified 2.1.197; older wording reported",
  },
  {
    dialog: "permission",
    label: "permission dialog",
    re: /Do you want to (?:proceed|make this edit to|create|allow|run|fetch|delete|overwrite)\b.*\?/i,
    source: "verified 2.1.197 (Bash), 2.1.332",
  },
  {
    dialog: "mcp_server",
    label: "MCP server approval dialog",
    re: /New MCP servers? found in \.mcp\.json|Use this and all future MCP servers in this project|Continue without using (?:this|these) MCP servers?/i,
    source: "reported (project .mcp.json approval)",
  },
  {
    dialog: "auto_mode_check",
    label: "auto-mode check dialog",
    re: /Auto mode can.t check actions in this session|Enter to stay in auto mode/i,
    source: "verified 2.1.332 behind ANTHROPIC_BASE_URL",
  },
  {
    dialog: "bypass_permissions",
    label: "bypass-permissions warning",
    re: /Claude Code running in Bypass Permissions mode|Yes, I accept/i,
    source: "reported (--dangerously-skip-permissions first run)",
  },
  {
    dialog: "api_key",
    label: "API key question",
    re: /Do you want to use this API key\?|Detected a custom API key in your environment/i,
    source: "reported (ANTHROPIC_API_KEY set)",
  },
  {
    dialog: "external_imports",
    label: "external CLAUDE.md imports dialog",
    re: /Allow external CLAUDE\.md file imports\?/i,
    source: "reported",
  },
];
const WHAT_TO_DO = /What do you want to do\?/i;
// A dialog none of the rows names: a selected numbered option and the confirm hint under it.
const SELECTED_OPTION = /^[ \t│┃|]*❯[ \t]*1\.[ \t]+\S/;
const CONFIRM_HINT = /Enter to confirm|Esc to cancel/i;

/** What `status` says a session waits at: "trust dialog", "permission dialog", "auto-mode check dialog", … */
export function dialogLabel(d: PaneDialog): string {
  return DIALOGS.find((r) => r.dialog === d)?.label ?? "unrecognised dialog";
}
const YES_OPTION = /^[\s│┃|]*(?:❯\s*)?1\.\s+Yes\b/;

/** Classifies the last PANE_WINDOW_LINES non-blank-trailing lines of a pane capture. */
export function classifyPane(text: string, now: number, defaultTz = "UTC"): PaneClass {
  const lines = recentLines(text);
  const { limit, limitText } = findLimit(lines, now, defaultTz);
  return {
    limit,
    limitText,
    dialog: findDialog(lines, limit !== null),
    busy: lines.some((l) => BUSY_HINT.test(l) || SPINNER.test(stripBox(l))),
  };
}

// capture-pane pads the screen with blank rows below the prompt; drop them
// before counting, or a short session would see only padding.
function recentLines(text: string): string[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let end = lines.length;
  while (end > 0 && (lines[end - 1] ?? "").trim() === "") end--;
  return lines.slice(Math.max(0, end - PANE_WINDOW_LINES), end);
}

// Box-drawing borders and the "⎿" result gutter are layout, not text.
function stripBox(line: string): string {
  return line.replace(/^[\s│┃|╭╰├⎿]+/u, "").replace(/[\s│┃|╮╯┤]+$/u, "");
}

// Bottom-up: the newest limit message wins. A message wrapped over two rows
// is joined with the row below when the first row alone has no reset time.
function findLimit(lines: string[], now: number, tz: string): { limit: LimitInfo | null; limitText: string | null } {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = stripBox(lines[i] ?? "");
    if (limitHeadKind(line) === null) continue;
    let text = line;
    let limit = parseLimitMessage(text, now, tz);
    const next = lines[i + 1];
    if (limit !== null && limit.resetAt === null && next !== undefined) {
      const joined = `${line} ${stripBox(next)}`;
      const parsed = parseLimitMessage(joined, now, tz);
      if (parsed?.resetAt != null) {
        text = joined;
        limit = parsed;
      }
    }
    if (limit !== null) return { limit, limitText: text };
  }
  return { limit: null, limitText: null };
}

// The dialog whose marker sits lowest on screen is the one open now.
function findDialog(lines: string[], limitShown: boolean): PaneDialog | null {
  const found: { dialog: PaneDialog; at: number }[] = [];
  for (const m of DIALOGS) {
    const at = lastLineMatching(lines, m.re);
    // A permission prompt always offers numbered choices below its question;
    // the model quoting the question in prose must not count.
    if (m.dialog === "permission" && !lines.slice(at + 1).some((l) => YES_OPTION.test(l))) continue;
    found.push({ dialog: m.dialog, at });
  }
  if (limitShown) found.push({ dialog: "rate_limit_options", at: lastLineMatching(lines, WHAT_TO_DO) });
  let best: { dialog: PaneDialog; at: number } | null = null;
  for (const f of found) if (f.at >= 0 && (best === null || f.at > best.at)) best = f;
  if (best) return best.dialog;
  // Nothing named, but a numbered choice is selected with the confirm hint below it, and no input box
  // follows: an unknown dialog. The idle input box ("❯" + no-break space) never matches SELECTED_OPTION.
  const opt = lastLineMatching(lines, SELECTED_OPTION);
  if (
    opt >= 0 &&
    lines.slice(opt + 1).some((l) => CONFIRM_HINT.test(l)) &&
    !lines.slice(opt + 1).some((l) => /^❯\u00a0/.test(l))
  )
    return "unknown";
  return null;
}

function lastLineMatching(lines: string[], re: RegExp): number {
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i] ?? "")) return i;
  return -1;
}
