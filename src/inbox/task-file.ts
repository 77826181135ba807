// Task files and enqueue requests: front matter parsing and validation. Pure: the one fact that needs the
// file system (does the project exist?) comes in as a function.
import { isAbsolute, normalize } from "node:path";
import { parseDocument } from "yaml";
import { parseDuration } from "../config/duration.js";
import { PRIORITY_MAX, PRIORITY_MIN, TIMEOUT_MAX_MS, TIMEOUT_MIN_MS } from "../config/task-limits.js";
import type { TaskDraft } from "./task-types.js";
import { checkBaseRef } from "./worktree.js";
import { checkPromptText } from "../claude/prompt-text.js";
import { BOX_NAME } from "../config/store-config.js";

/** The front-matter keys a task file may use; anything else is rejected, so a typo is never ignored. */
export const TASK_KEYS = [
  "project",
  "priority",
  "account",
  "model",
  "id",
  "worktree",
  "base",
  "timeout",
  "box",
] as const;
// Ids name the outbox file, models go into the CLI's argv: both are kept to plain characters.
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._:[\]-]{0,99}$/;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Front matter is five short `key: value` lines; these bounds are far above that and far below what
 * hurts: the yaml package runs out of memory (a fatal error, not an exception) on ~20,000 nested `[`,
 * and aliases can expand exponentially (it throws past 100 by default; we allow none).
 */
export const FRONT_MATTER_MAX_CHARS = 16 * 1024;
export const FRONT_MATTER_MAX_DEPTH = 16;

export interface TaskFields {
  prompt: string;
  project?: unknown;
  priority?: unknown;
  account?: unknown;
  model?: unknown;
  id?: unknown;
  worktree?: unknown;
  base?: unknown;
  timeout?: unknown;
  box?: unknown;
}

export interface ValidateContext {
  /** pool.project, if set */
  defaultProject: string | null;
  /** configured account names; an unknown preferred account is an error, not a silent fallback */
  accounts: readonly string[];
  projectExists: (path: string) => boolean;
  /** null when the (existing) project lies inside inbox.allowed_roots, else why not (allowed-roots.ts) */
  projectRefused?: (path: string) => string | null;
  /** pool.worktree: whether a task without `worktree:` runs in a git worktree */
  defaultWorktree?: boolean;
  /** pool.permission_mode is bypassPermissions: a task may only run in a worktree (worktree: false refused) */
  worktreeRequired?: boolean;
  /** null when the project is a git work tree, else why not (worktree.ts notAGitRepo); asked of worktree tasks only */
  notGit?: (path: string) => string | null;
  /**
   * For `box:` (issue 19): this box's name (box.name) and whether other boxes share its queue
   * (store.backend: postgres). Without a shared queue a pin to another box is refused: no box would ever
   * take the task. Omitted: `box:` is checked for form only.
   */
  boxes?: { me: string; shared: boolean };
}

/** Splits raw file bytes into front-matter fields and the prompt body. Never throws. */
export function parseTaskFile(bytes: Uint8Array): Parsed<TaskFields> {
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { ok: false, reason: `binary file: NUL byte at offset ${nul}` };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: "not UTF-8 text" };
  }
  text = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  if (!text.trim()) return { ok: false, reason: "empty file" };
  const lines = text.split("\n");
  if (lines[0]!.trimEnd() !== "---") return { ok: true, value: { prompt: text } };
  const end = lines.findIndex((l, i) => i > 0 && (l.trimEnd() === "---" || l.trimEnd() === "..."));
  if (end < 0) return { ok: false, reason: "unreadable front matter: no closing '---' line" };
  const front = lines.slice(1, end).join("\n");
  if (front.length > FRONT_MATTER_MAX_CHARS)
    return {
      ok: false,
      reason: `front matter too long: ${front.length} characters, at most ${FRONT_MATTER_MAX_CHARS}`,
    };
  if (nesting(front) > FRONT_MATTER_MAX_DEPTH)
    return { ok: false, reason: `front matter nested deeper than ${FRONT_MATTER_MAX_DEPTH} levels` };
  let data: unknown;
  try {
    const doc = parseDocument(front);
    if (doc.errors.length)
      return { ok: false, reason: `unreadable front matter: ${firstLine(doc.errors[0]!.message)}` };
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      reason: /alias/i.test(msg)
        ? "unreadable front matter: YAML aliases (*name) are not allowed"
        : `unreadable front matter: ${firstLine(msg)}`,
    };
  }
  if (data !== null && (typeof data !== "object" || Array.isArray(data))) {
    return { ok: false, reason: "unreadable front matter: expected 'key: value' lines" };
  }
  const fields = (data ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !(TASK_KEYS as readonly string[]).includes(k));
  if (unknown.length)
    return {
      ok: false,
      reason: `unknown front-matter key${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")} (allowed: ${TASK_KEYS.join(", ")})`,
    };
  return { ok: true, value: { ...fields, prompt: lines.slice(end + 1).join("\n") } };
}

/** Checks every field and fills the defaults; the first problem found is the reason. */
export function validateTask(f: TaskFields, ctx: ValidateContext): Parsed<TaskDraft> {
  const prompt = f.prompt.replace(/^\s*\n/, "").replace(/\s+$/, "");
  if (!prompt.trim()) return { ok: false, reason: "empty prompt: the file has no text after its front matter" };
  // Refused now, with the reason, rather than failed at dispatch: a `/word` start (the CLI would run it as
  // a slash command) or a control character (it would act as a key, or be stripped).
  const text = checkPromptText(prompt);
  if (!text.ok) return { ok: false, reason: text.reason };
  const project = checkProject(f.project ?? null, ctx);
  if (!project.ok) return project;
  const priority = f.priority ?? 0;
  if (
    typeof priority !== "number" ||
    !Number.isInteger(priority) ||
    priority < PRIORITY_MIN ||
    priority > PRIORITY_MAX
  ) {
    return {
      ok: false,
      reason: `priority: must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, got ${show(priority)}`,
    };
  }
  const account = f.account ?? null;
  if (account !== null && (typeof account !== "string" || !ctx.accounts.includes(account))) {
    return {
      ok: false,
      reason: `account: no account named ${show(account)} (configured: ${ctx.accounts.join(", ") || "none"})`,
    };
  }
  const model = f.model ?? null;
  if (model !== null && (typeof model !== "string" || !MODEL_RE.test(model))) {
    return { ok: false, reason: `model: must be a model name (letters, digits, . _ : - [ ]), got ${show(model)}` };
  }
  const id = f.id ?? null;
  if (id !== null && (typeof id !== "string" || !ID_RE.test(id))) {
    return {
      ok: false,
      reason: `id: must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${show(id)}`,
    };
  }
  const worktree = f.worktree ?? ctx.defaultWorktree ?? false;
  if (typeof worktree !== "boolean")
    return { ok: false, reason: `worktree: must be true or false, got ${show(worktree)}` };
  if (!worktree && ctx.worktreeRequired) {
    return {
      ok: false,
      reason:
        "worktree: false is refused: pool.permission_mode is bypassPermissions, so pool tasks run only in a git worktree of their own",
    };
  }
  const base = f.base ?? null;
  if (base !== null) {
    if (typeof base !== "string")
      return { ok: false, reason: `base: must be a branch, tag or commit name, got ${show(base)}` };
    const bad = checkBaseRef(base);
    if (bad) return { ok: false, reason: bad };
    if (!worktree) return { ok: false, reason: "base: only for a task that runs in a worktree (worktree: true)" };
  }
  let timeoutMs: number | null = null;
  if (f.timeout !== undefined && f.timeout !== null) {
    try {
      if (typeof f.timeout !== "string") throw new RangeError("not text");
      timeoutMs = parseDuration(f.timeout);
    } catch {
      return { ok: false, reason: `timeout: must be a duration like 30s, 10m or 2h, got ${show(f.timeout)}` };
    }
    if (timeoutMs < TIMEOUT_MIN_MS || timeoutMs > TIMEOUT_MAX_MS)
      return { ok: false, reason: `timeout: must be from 1s to 7d, got ${show(f.timeout)}` };
  }
  const pin = checkPin(f.box ?? null, ctx);
  if (!pin.ok) return pin;
  if (worktree) {
    const notGit = ctx.notGit?.(project.value) ?? null;
    if (notGit) return { ok: false, reason: notGit };
  }
  return {
    ok: true,
    value: {
      id,
      prompt,
      project: project.value,
      priority,
      account,
      model,
      worktree,
      base,
      timeoutMs,
      pinBox: pin.value,
    },
  };
}

/**
 * `box:`: the one box that may run the task (the shared queue's claim filters on it). Any well-formed name
 * is accepted with a shared queue, a box not seen yet included (boxes come and go: the task waits for it);
 * without one (store.backend: sqlite) only this box's own name is.
 */
function checkPin(b: unknown, ctx: ValidateContext): Parsed<string | null> {
  if (b === null) return { ok: true, value: null };
  if (typeof b !== "string" || !BOX_NAME.test(b))
    return {
      ok: false,
      reason: `box: must be a box name (1-63 letters, digits, '_', '.' or '-', starting with a letter or digit), got ${show(b)}`,
    };
  const boxes = ctx.boxes;
  if (boxes && !boxes.shared && b !== boxes.me)
    return {
      ok: false,
      reason: `box: pins the task to box ${show(b)}, but this box is ${show(boxes.me)} and store.backend is sqlite (no shared queue): no other box can take it`,
    };
  return { ok: true, value: b };
}

function checkProject(p: unknown, ctx: ValidateContext): Parsed<string> {
  if (p === null) {
    if (!ctx.defaultProject) return { ok: false, reason: "project: none given and pool.project is not set" };
    p = ctx.defaultProject;
  }
  if (typeof p !== "string" || !p) return { ok: false, reason: `project: must be a path, got ${show(p)}` };
  if (!isAbsolute(p)) return { ok: false, reason: `project: must be an absolute path, got ${show(p)}` };
  const abs = normalize(p).replace(/(.)\/+$/, "$1");
  if (!ctx.projectExists(abs)) return { ok: false, reason: `project: ${abs} does not exist or is not a directory` };
  const refused = ctx.projectRefused?.(abs) ?? null;
  if (refused) return { ok: false, reason: refused };
  return { ok: true, value: abs };
}

/** Parse and validate in one step (the intake's path). */
export function taskFromFile(bytes: Uint8Array, maxBytes: number, ctx: ValidateContext): Parsed<TaskDraft> {
  if (bytes.length > maxBytes)
    return { ok: false, reason: `file too large: ${bytes.length} bytes, inbox.max_file_bytes is ${maxBytes}` };
  const parsed = parseTaskFile(bytes);
  return parsed.ok ? validateTask(parsed.value, ctx) : parsed;
}

/** Inbox entries that are never tasks: hidden or temporary files a writer renames later. */
export function isCandidateName(name: string): boolean {
  return !name.startsWith(".") && !/(\.tmp|\.part|\.partial|\.swp|~)$/i.test(name);
}

export type Readiness = { ready: true } | { ready: false; recheckInMs: number };

/**
 * Is a file in the inbox complete? A file renamed in after it was written has a ctime (the rename)
 * later than its mtime (the last write): it is read at once. Anything else must have stopped changing
 * for `stableMs` (the kernel's timestamps are coarse, so a write-and-rename within a few milliseconds
 * looks like a write, and waits).
 */
export function readiness(st: { mtimeMs: number; ctimeMs: number }, now: number, stableMs: number): Readiness {
  if (st.ctimeMs > st.mtimeMs) return { ready: true };
  const age = now - st.mtimeMs;
  return age >= stableMs ? { ready: true } : { ready: false, recheckInMs: Math.max(10, stableMs - age) };
}

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : v === null ? "nothing" : (JSON.stringify(v) ?? String(v));
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} characters)` : s;
}

/**
 * An upper bound of the nesting depth: open flow brackets (counted even inside quotes, which only
 * over-counts) plus indentation levels (one per two columns).
 */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  for (const ch of text) {
    if (ch === "[" || ch === "{") max = Math.max(max, ++depth);
    else if ((ch === "]" || ch === "}") && depth > 0) depth--;
  }
  const indent = Math.max(0, ...text.split("\n").map((l) => l.length - l.trimStart().length));
  return Math.max(max, Math.ceil(indent / 2));
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
