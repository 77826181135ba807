// Checks that relate entries to each other: duplicate names, references to
// accounts, session names that would collide with the pool's sessions.
// They read the raw (pre-validation) data defensively so that they still
// report when some unrelated key elsewhere is wrong: one run of the
// validator should list every problem in the file.

import { resolve } from "node:path";
import { expandHome } from "./fields.js";
import { formatPath, type KeyPath } from "./yaml-doc.js";

export interface PathIssue {
  path: KeyPath;
  message: string;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Report each repeat of a key after its first occurrence.
 * key returns undefined for entries that cannot be compared (wrong type).
 */
function duplicates(
  items: unknown[],
  base: KeyPath,
  field: string,
  key: (item: Obj) => string | undefined,
  what: string,
  inFile: InFile = (p) => p,
): PathIssue[] {
  const first = new Map<string, number>();
  const issues: PathIssue[] = [];
  items.forEach((item, i) => {
    const o = obj(item);
    const k = o && key(o);
    if (k === undefined) return;
    const seen = first.get(k);
    if (seen === undefined) first.set(k, i);
    else issues.push({ path: [...base, i, field], message: `${what} as ${formatPath(inFile([...base, seen]))}` });
  });
  return issues;
}

function accountIssues(accounts: unknown[], home: string): PathIssue[] {
  // Names are compared without case: people type them on the command line.
  const byName = duplicates(accounts, ["accounts"], "name", (a) => str(a.name)?.toLowerCase(), "same name");
  // Two accounts in one home would share one login, which defeats failover.
  const byHome = duplicates(
    accounts,
    ["accounts"],
    "home",
    (a) => {
      const h = str(a.home);
      return h === undefined ? undefined : resolve(expandHome(h, home));
    },
    "same home",
  );
  return [...byName, ...byHome];
}

/** `dedicated[]` against accounts and the pool's names (raw data in the current shape: config/legacy-keys.ts ran). */
function dedicatedIssues(root: Obj, accounts: unknown[], inFile: InFile): PathIssue[] {
  const dedicated = list(root.dedicated);
  const prefix = str(obj(root.pool)?.prefix) ?? "auto-";
  const known = accounts.map((a) => str(obj(a)?.name)).filter((n) => n !== undefined);
  // "same name as X" names X as the file has it (pool.dedicated[0] in a file with the deprecated name).
  const issues = duplicates(dedicated, ["dedicated"], "name", (d) => str(d.name), "same name", inFile);
  dedicated.forEach((item, i) => {
    const d = obj(item);
    const name = str(d?.name);
    // Pool sessions are named prefix + serial number; a dedicated
    // session with such a name would be mistaken for (or block) one of them.
    if (name !== undefined && name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) {
      issues.push({
        path: ["dedicated", i, "name"],
        message: `clashes with pool session names (${JSON.stringify(prefix)} + number, from pool.prefix)`,
      });
    }
    const account = str(d?.account); // a non-string is reported by the schema
    if (account !== undefined && !known.includes(account)) {
      const message = `no account named ${JSON.stringify(account)} (accounts: ${known.join(", ") || "none"})`;
      issues.push({ path: ["dedicated", i, "account"], message });
    }
  });
  return issues;
}

/** A key path as the file has it (config/legacy-keys.ts pathInFile); the identity when nothing was renamed. */
export type InFile = (path: KeyPath) => KeyPath;

/** All cross-entry problems in the raw top-level map (paths in the current shape; messages name paths via inFile). */
export function crossChecks(raw: unknown, home: string, inFile: InFile = (p) => p): PathIssue[] {
  const root = obj(raw);
  if (!root) return [];
  const accounts = list(root.accounts);
  // A schedule's name is in its runs' task ids: two of one name would share (and skip) each other's runs.
  const schedules = duplicates(list(root.schedules), ["schedules"], "name", (s) => str(s.name), "same name");
  return [...accountIssues(accounts, home), ...dedicatedIssues(root, accounts, inFile), ...schedules];
}
