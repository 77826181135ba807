// The CLI's tool-permission dialog, read from a pane capture, and the one key that answers it. Pure.
//
// What it looks like (verified on 2.1.197 and 2.1.332, docs/notes/permission-dialog.md):
//
//   ──────────────────────────────────────────
//    Bash command                                  ← title (Create file, Edit file, Fetch, …)
//      touch /tmp/proj/out.txt                     ← what the tool would do (╌ rules may frame it)
//      touch a file
//    Do you want to proceed?                       ← the question (pane-classify's permission row)
//    ❯ 1. Yes
//      2. Yes, and always allow access to proj/ from this project
//      3. No                                       ← 2.1.332 adds "Yes, and switch to auto mode" before it
//    Esc to cancel · Tab to amend
//
// A digit key picks that option at once (verified: `1` approved, `3` rejected on 2.1.197; on 2.1.332 the
// Bash dialog's `3` is "Yes, and switch to auto mode"), so an answer is the digit of the option whose label
// is exactly "Yes" or starts with "No", read from this very capture, never a fixed number.

import { classifyPane } from "./pane-classify.js";

export interface PermissionOption {
  n: number;
  label: string;
  selected: boolean;
}

export interface PermissionDialog {
  /** "Bash command", "Create file", … ("" when no title line was found) */
  title: string;
  /** the lines between the title and the question (the command, the file, a description), squashed */
  detail: string;
  /** "Do you want to proceed?", "Do you want to create out.txt?" */
  ask: string;
  options: PermissionOption[];
  /** one line for people: `Bash command: touch /tmp/x · touch a file — Do you want to proceed?` (≤ 500 chars) */
  question: string;
  /** the dialog's identity: every line of it as shown, squashed, never clipped (two long commands that share a prefix differ here) */
  key: string;
}

const RULE = /^\s*─{10,}\s*$/;
const DASHED = /^\s*╌{10,}\s*$/;
const ASK = /Do you want to (?:proceed|make this edit to|create|allow|run|fetch|delete|overwrite)\b.*\?/i;
const OPTION = /^[\s│┃|]*(❯)?\s*(\d)\.\s+(.+?)\s*$/u;
const QUESTION_MAX = 500;

function squash(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * The permission dialog open at the bottom of `pane` (a capture, ANSI stripped), or null when pane-classify
 * does not see one there (another dialog, or none). `now` only feeds the classifier.
 */
export function readPermissionDialog(pane: string, now: number): PermissionDialog | null {
  if (classifyPane(pane, now).dialog !== "permission") return null;
  const lines = pane.replace(/\r\n?/g, "\n").split("\n");
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (ASK.test(lines[i] ?? "")) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  const options: PermissionOption[] = [];
  for (let i = at + 1; i < lines.length; i++) {
    const l = lines[i] ?? "";
    const m = OPTION.exec(l);
    if (m) {
      options.push({ n: Number(m[2]), label: squash(m[3]!), selected: m[1] === "❯" });
      continue;
    }
    if (!l.trim()) {
      if (options.length) break;
      continue;
    }
    if (options.length && /^\s{3,}\S/.test(l)) continue; // a long label wrapped onto the next row
    if (options.length) break;
  }
  if (!options.length) return null;
  let top = 0;
  for (let i = at - 1; i >= 0; i--) {
    if (RULE.test(lines[i] ?? "")) {
      top = i + 1;
      break;
    }
  }
  const body = lines
    .slice(top, at)
    .filter((l) => l.trim() && !DASHED.test(l) && !/^\s*Tip:/.test(l))
    .map(squash);
  const title = body[0] ?? "";
  const detail = clip(body.slice(1).join(" · "), 300);
  const ask = squash(ASK.exec(lines[at]!)![0]);
  const question = clip(`${title}${detail ? `: ${detail}` : ""}${title || detail ? " — " : ""}${ask}`, QUESTION_MAX);
  const key = [...body, ask, ...options.map((o) => `${o.n}. ${o.label}`)].join(" · ");
  return { title, detail, ask, options, question, key };
}

/** how many leading non-space characters of a tool call's input must show in its dialog */
const TOOL_MATCH_CHARS = 60;

/**
 * Is `d` the dialog of the tool call `tool` (a toolSummary line, `Bash: touch /x`)? true/false when the call
 * names what it acts on as text (a command, a path, a URL: its first TOOL_MATCH_CHARS non-space characters,
 * or a path's last component, since the Write dialog shows `out.txt` for `/p/out.txt`, verified 2.1.197),
 * null when it can't be told (no tool, or an input only known as JSON). Line wrapping in the pane is ignored.
 */
export function dialogMatchesTool(d: PermissionDialog, tool: string | null): boolean | null {
  const m = tool ? /^[^:]+: (.+)$/su.exec(tool) : null;
  if (!m) return null;
  const what = m[1]!.replace(/…$/u, "");
  if (what.startsWith("{")) return null;
  const bare = (s: string) => s.replace(/\s+/g, "");
  const shown = bare(d.key);
  const head = bare(what).slice(0, TOOL_MATCH_CHARS);
  if (head && shown.includes(head)) return true;
  // A path (no space in it): the dialog may show it relative, so its last component as a whole word will do.
  if (/\s/.test(what.trim()) || !what.includes("/")) return false;
  const last = what.trim().replace(/\/+$/, "").split("/").at(-1) ?? "";
  if (!last) return false;
  const esc = last.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?:^|[\\s/(])${esc}(?:$|[\\s?),.:;])`, "u").test(d.key);
}

export type PermissionAnswer = "yes" | "no";

export type AnswerKey = { ok: true; key: string; option: PermissionOption } | { ok: false; reason: string };

/**
 * The key that answers `d` with `answer`: the digit of the option labelled exactly "Yes" (approve this one
 * call, nothing remembered), or of the first option whose label starts with "No" (reject). Never one of the
 * "Yes, and always allow …" / "switch to … mode" options.
 */
export function answerKey(d: PermissionDialog, answer: PermissionAnswer): AnswerKey {
  const want =
    answer === "yes"
      ? (o: PermissionOption) => /^Yes$/i.test(o.label)
      : (o: PermissionOption) => /^No\b/i.test(o.label);
  const option = d.options.find(want);
  if (!option)
    return {
      ok: false,
      reason: `the dialog offers no plain ${answer === "yes" ? '"Yes"' : '"No"'} option (options: ${d.options.map((o) => `${o.n}. ${o.label}`).join(" | ")})`,
    };
  if (!Number.isInteger(option.n) || option.n < 1 || option.n > 9)
    return { ok: false, reason: `option number ${option.n} out of range` };
  return { ok: true, key: String(option.n), option };
}

/**
 * A PermissionRequest hook's tool call in one line for people: `Bash: touch /x`, `Write: /p/out.txt`,
 * `WebFetch: https://…`, else the tool name and its input as JSON; at most 300 characters.
 */
export function toolSummary(tool: string | null, input: unknown): string | null {
  if (!tool) return null;
  const i = input && typeof input === "object" ? (input as Record<string, unknown>) : {};
  const pick = ["command", "file_path", "notebook_path", "url", "path", "pattern"]
    .map((k) => i[k])
    .find((v) => typeof v === "string");
  const what = typeof pick === "string" ? pick : Object.keys(i).length ? JSON.stringify(i) : "";
  return clip(squash(`${tool}${what ? `: ${what}` : ""}`), 300);
}
