// Working with the parsed YAML document rather than plain data, because only
// the document knows which line each key came from: mapping an issue's key
// path to a line, ${VAR} substitution with line-accurate errors, and the
// conversion to plain data for validation.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar } from "yaml";

export type KeyPath = ReadonlyArray<PropertyKey>;

/** A problem located by key path and line, before the file name is attached. */
export interface LocatedIssue {
  path: KeyPath;
  line: number;
  message: string;
}

/** "quota.window_5h_threshold", "accounts[1].name"; "" for the top level. */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

function startLine(node: unknown, lc: LineCounter): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

/**
 * The 1-based line for a key path: the line of the last key found along it.
 * A path that leads to a missing key (a required key left out) therefore
 * lands on its parent map's key, which is where the key should be added.
 */
export function lineOf(doc: Document, lc: LineCounter, path: KeyPath): number {
  let node: unknown = doc.contents;
  let line = startLine(node, lc) ?? 1;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) break;
      line = startLine(pair.key, lc) ?? line;
      next = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      next = node.items[seg];
      if (next === undefined) break;
      line = startLine(next, lc) ?? line;
    } else {
      break;
    }
    node = next;
  }
  return line;
}

type Visit = (scalar: Scalar, path: KeyPath) => void;

/**
 * Visit every string scalar in value position (keys are never substituted).
 * A bare `~` is YAML for null, but in this file it only ever means "my home"
 * (`home: ~`), so it is turned back into the string "~" first.
 */
function eachStringValue(node: unknown, path: KeyPath, visit: Visit): void {
  if (isMap(node)) {
    for (const pair of node.items) eachStringValue(pair.value, [...path, keyText(pair.key) ?? "?"], visit);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => eachStringValue(item, [...path, i], visit));
  } else if (isScalar(node)) {
    if (node.value === null && node.type === "PLAIN" && node.source === "~") node.value = "~";
    if (typeof node.value === "string") visit(node, path);
  }
}

// "$${" is an escaped literal "${"; "${...}" is a reference (or an error).
const TOKEN = /\$\$\{|\$\{([^}]*)(\})?/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

type Expanded = { text: string; changed: boolean } | { error: string };

/** Shell-like expansion: ${VAR} must be set; ${VAR:-def} uses def when VAR is unset or empty. */
export function expandVars(text: string, env: NodeJS.ProcessEnv): Expanded {
  let error: string | undefined;
  let changed = false;
  const out = text.replace(TOKEN, (whole, inner: string | undefined, close: string | undefined) => {
    if (whole === "$${") return "${";
    if (error) return whole;
    const ref = close ? REFERENCE.exec(inner ?? "") : null;
    if (!ref || (ref[2] ?? "").includes("${")) {
      error = `invalid reference ${JSON.stringify(close ? whole : whole + "...")}: use \${NAME} or \${NAME:-default}`;
      return whole;
    }
    const [, name, fallback] = ref as unknown as [string, string, string | undefined];
    const value = env[name];
    changed = true;
    if (fallback !== undefined) return value ? value : fallback;
    if (value === undefined)
      error = `environment variable ${name} is not set (write \${${name}:-default} to give a default)`;
    return value ?? whole;
  });
  return error ? { error } : { text: out, changed };
}

/** The variable names `text` refers to with `${NAME}` or `${NAME:-default}` (an escaped `$${` is none). */
export function referencedNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const ref = m[2] ? REFERENCE.exec(m[1] ?? "") : null;
    if (ref) out.push(ref[1]!);
  }
  return out;
}

/** Every string value that refers to a variable, with the names it refers to; before substituteEnv. */
export function envReferences(doc: Document, lc: LineCounter): Array<{ path: KeyPath; line: number; names: string[] }> {
  const out: Array<{ path: KeyPath; line: number; names: string[] }> = [];
  eachStringValue(doc.contents, [], (scalar, path) => {
    const names = referencedNames(scalar.value as string);
    if (names.length) out.push({ path, line: startLine(scalar, lc) ?? 1, names });
  });
  return out;
}

/**
 * An unquoted `max: ${POOL_MAX}` should behave as if the number had been
 * typed there, so substituted plain scalars are re-typed like YAML would.
 */
function retype(text: string): string | number | boolean {
  if (text === "true" || text === "false") return text === "true";
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return Number(text);
  return text;
}

/** Replace ${...} references in place; returns one issue per bad scalar. */
export function substituteEnv(doc: Document, lc: LineCounter, env: NodeJS.ProcessEnv): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  eachStringValue(doc.contents, [], (scalar, path) => {
    const r = expandVars(scalar.value as string, env);
    if ("error" in r) {
      issues.push({ path, line: startLine(scalar, lc) ?? 1, message: r.error });
    } else if (r.changed) {
      scalar.value = scalar.type === "PLAIN" ? retype(r.text) : r.text;
    } else {
      scalar.value = r.text;
    }
  });
  return issues;
}

/**
 * Plain data for validation. A key with an empty value (`quota:` with all
 * children commented out) counts as absent, so its default applies.
 */
export function toPlain(doc: Document): unknown {
  return dropNullEntries(doc.toJS({ maxAliasCount: 100 }));
}

function dropNullEntries(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNullEntries);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    // defineProperty so a key spelled "__proto__" stays a plain (unknown) key.
    Object.defineProperty(out, k, { value: dropNullEntries(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
