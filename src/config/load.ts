// Entry points: locate, read, parse and validate config.yaml.
// Everything is reported as ConfigIssues carrying file, line and key path,
// and every problem in the file is reported at once, so a person fixes the
// file in one go instead of one error per run.

import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { LineCounter, isMap, parseDocument, type Document, type YAMLError } from "yaml";
import type { z } from "zod";
import { crossChecks } from "./checks.js";
import { describe, errorMap, expandHome } from "./fields.js";
import { pathInFile, translateLegacyKeys } from "./legacy-keys.js";
import { configSchema } from "./schema.js";
import type { Config, ConfigContext, ConfigIssue, ConfigResult } from "./types.js";
import {
  envReferences,
  formatPath,
  lineOf,
  substituteEnv,
  toPlain,
  type KeyPath,
  type LocatedIssue,
} from "./yaml-doc.js";

export type { Config, ConfigContext, ConfigIssue, ConfigResult } from "./types.js";

/** Thrown by loadConfig; the message is every issue formatted, one per line. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** "config.yaml:12: quota.window_5h_threshold: must be between 0 and 1" (line 0 and empty path are left out). */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}` : i.file;
  return i.path ? `${where}: ${i.path}: ${i.message}` : `${where}: ${i.message}`;
}

/**
 * Which file to read: --config, else $CLAUDE_FAILOVER_CONFIG, else
 * $XDG_CONFIG_HOME/claude-failover/config.yaml (XDG_CONFIG_HOME defaults to
 * ~/.config; a relative one is ignored, as the XDG spec says). "~" is
 * expanded and the result made absolute, so a later reload reads the same
 * file whatever the working directory is then.
 */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv, home: string): string {
  const given = flag || env.CLAUDE_FAILOVER_CONFIG;
  if (given) return resolve(expandHome(given, home));
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(home, ".config");
  return join(base, "claude-failover", "config.yaml");
}

/** Read and parse a file; an unreadable file is a single issue with line 0. */
export function loadConfigFile(path: string, ctx: ConfigContext): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const message = `cannot read: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, issues: [{ file: path, line: 0, path: "", message }] };
  }
  return parseConfig(text, path, ctx);
}

/**
 * ConfigContext.isDir for `config check` and a reload: a schedule's project must exist then. Not at start,
 * and not for the other commands: a project folder that went away refuses that schedule's runs (recorded and
 * notified) but stops neither the daemon nor `status`.
 */
export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** loadConfigFile for callers that want an exception (startup). */
export function loadConfig(path: string, ctx: ConfigContext): Config {
  const r = loadConfigFile(path, ctx);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.config;
}

/** Parse and validate config text; file is only used to label issues. */
export function parseConfig(text: string, file: string, ctx: ConfigContext): ConfigResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const located = doc.errors.length > 0 ? syntaxIssues(doc.errors, lc) : validate(doc, lc, ctx);
  if (Array.isArray(located)) return { ok: false, issues: located.map((i) => withFile(i, file)) };
  return { ok: true, config: located.config, warnings: located.warnings.map((i) => withFile(i, file)) };
}

function withFile(i: LocatedIssue, file: string): ConfigIssue {
  return { file, line: i.line, path: formatPath(i.path), message: i.message };
}

/**
 * One issue per line. After the first error the parser reports every
 * following token it cannot place as "unexpected"; those echoes of the first
 * mistake are dropped, while independent errors (a tab further down) stay.
 */
function syntaxIssues(errors: YAMLError[], lc: LineCounter): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const e of errors) {
    const line = lc.linePos(e.pos[0]).line;
    if (issues.some((i) => i.line === line)) continue;
    if (issues.length > 0 && e.code === "UNEXPECTED_TOKEN") continue;
    const message = e.code === "DUPLICATE_KEY" ? "duplicate key (each key may appear once per map)" : e.message;
    issues.push({ path: [], line, message: `YAML syntax error: ${message}` });
  }
  return issues;
}

/** Returns the Config and the warnings (deprecated keys), or the issues found (sorted by line). */
function validate(
  doc: Document,
  lc: LineCounter,
  ctx: ConfigContext,
): { config: Config; warnings: LocatedIssue[] } | LocatedIssue[] {
  if (!isMap(doc.contents)) {
    const got = doc.contents === null ? "an empty file" : describe(doc.toJS());
    return [
      {
        path: [],
        line: lineOf(doc, lc, []),
        message: `the file must be a map of settings (with at least accounts:), got ${got}`,
      },
    ];
  }
  const refs = envReferences(doc, lc);
  const substitution = [...argvReferences(refs), ...substituteEnv(doc, lc, ctx.env)];
  // Deprecated key names are read as their current ones; an issue is still shown at the key the file has.
  const legacy = translateLegacyKeys(toPlain(doc));
  const raw = legacy.raw;
  const parsed = configSchema(ctx).safeParse(raw, { error: errorMap });
  const mixed = new Set(legacy.conflicts.map((c) => formatPath(c.path)));
  const found: Array<{ path: KeyPath; message: string }> = [
    ...legacy.conflicts.map((c) => ({
      path: c.path,
      message: `${c.message} (${formatPath(c.other)} is on line ${lineOf(doc, lc, c.other)})`,
    })),
    ...[
      ...(parsed.success ? [] : parsed.error.issues.flatMap(splitIssue)),
      ...crossChecks(raw, ctx.home, (p) => pathInFile(p, legacy.moves)),
    ]
      .map((i) => ({ ...i, path: pathInFile(i.path, legacy.moves) }))
      // A key given in both shapes is that one error, not also an unknown key.
      .filter((i) => !mixed.has(formatPath(i.path))),
  ];
  // A value whose ${VAR} failed is left unexpanded; do not also report
  // whatever the schema thinks of the leftover text.
  const failed = new Set(substitution.map((i) => formatPath(i.path)));
  const rest = found
    .filter((i) => !failed.has(formatPath(i.path)))
    .map((i) => ({ ...i, line: lineOf(doc, lc, i.path) }));
  const issues = [...substitution, ...rest];
  if (issues.length === 0 && parsed.success) {
    // Kept out of the environment of command and desktop targets (notify/child-env.ts).
    const notifyVars = [...new Set(refs.filter((r) => r.path[0] === "notify").flatMap((r) => r.names))];
    const config = notifyVars.length
      ? { ...parsed.data, notify: { ...parsed.data.notify, referenced_env: notifyVars } }
      : parsed.data;
    const warnings = legacy.used.map((u) => ({ path: u.old, line: lineOf(doc, lc, u.old), message: u.hint }));
    return { config, warnings: warnings.sort((a, b) => a.line - b.line) };
  }
  // Stable sort: issues on one line keep the order they were found in.
  return issues.sort((a, b) => a.line - b.line);
}

/**
 * A command target's argv is refused any `${VAR}`: a program's arguments are readable by every local user
 * (ps, /proc/<pid>/cmdline), so a secret put there leaks.
 */
function argvReferences(refs: ReturnType<typeof envReferences>): LocatedIssue[] {
  return refs
    .filter((r) => r.path[0] === "notify" && r.path[1] === "targets" && r.path[3] === "argv")
    .map((r) => ({
      path: r.path,
      line: r.line,
      message:
        `must not hold \${${r.names[0]}}: a program's arguments are readable by every local user (ps); ` +
        "let the command read its secret from a file (docs/notifications.md)",
    }));
}

/** One issue per unknown key, located at that key rather than its parent. */
function splitIssue(i: z.core.$ZodIssue): Array<{ path: KeyPath; message: string }> {
  const path = i.path as KeyPath;
  if (i.code === "unrecognized_keys") return i.keys.map((k) => ({ path: [...path, k], message: "unknown key" }));
  return [{ path, message: i.message }];
}
