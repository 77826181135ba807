// The config's deprecated key names (issue 15: one vocabulary) and their translation to the current ones.
// Pure: plain data in (what the loader parsed), plain data out, plus what was moved (for the warnings and
// for locating issues at the key the file really has) and where both shapes were mixed (an error).
//
//   pool.dedicated            → dedicated                    (dedicated sessions are not pool sessions)
//   pool.shared_projects_dir  → sessions.shared_projects_dir (it concerns every session)
//   pool.autonomous.<key>     → pool.<key>                   (the pool's own settings)
//
// pool.keep_worktrees keeps its name in both shapes.

import { formatPath, type KeyPath } from "./yaml-doc.js";

/** One deprecated key, with the key it is read as (the old names' table in docs/configuration.md). */
export interface RenamedKey {
  old: KeyPath;
  new: KeyPath;
  /** the warning's text: the new key and what to do */
  hint: string;
}

export const RENAMED_KEYS: readonly RenamedKey[] = [
  {
    old: ["pool", "dedicated"],
    new: ["dedicated"],
    hint: "deprecated name of dedicated (a top-level list): move the list there",
  },
  {
    old: ["pool", "shared_projects_dir"],
    new: ["sessions", "shared_projects_dir"],
    hint: "deprecated name of sessions.shared_projects_dir: move it there",
  },
  {
    old: ["pool", "autonomous"],
    new: ["pool"],
    hint: "deprecated: its keys are now directly under pool (pool.autonomous.max is pool.max): move them up one level",
  },
];

/** A key moved from where the file has it to where the schema reads it. */
export interface KeyMove {
  from: KeyPath;
  to: KeyPath;
}

/** A deprecated key that was read: the file has `old` (line found by the loader); it is read as `new`. */
export interface LegacyUse {
  old: KeyPath;
  new: KeyPath;
  hint: string;
}

/** Both shapes given for one thing: `path` (the deprecated key) and `other` (its current name). */
export interface LegacyConflict {
  path: KeyPath;
  other: KeyPath;
  message: string;
}

export interface Translated {
  /** the data in the current shape (the input itself when no deprecated key is in it) */
  raw: unknown;
  used: LegacyUse[];
  /** every move, leaf by leaf for pool.autonomous, so an issue at pool.max is shown at pool.autonomous.max */
  moves: KeyMove[];
  conflicts: LegacyConflict[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The pool's own keys when written directly under pool (the current shape). */
const POOL_SHARED_KEYS = new Set(["dedicated", "shared_projects_dir", "autonomous", "keep_worktrees"]);

function put(o: Obj, k: string, v: unknown): void {
  // defineProperty, as toPlain does, so a key spelled "__proto__" stays a plain key.
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * Rewrites the deprecated keys of a parsed config into the current shape. A deprecated key whose current
 * name is also given is a conflict and stays where it is (the schema then also reports it as unknown,
 * which the loader drops in favour of the conflict). A pool.autonomous that is not a map is left for the
 * schema to report as an unknown key of pool.
 */
export function translateLegacyKeys(raw: unknown): Translated {
  const root = obj(raw);
  const pool = obj(root?.pool);
  if (!root || !pool) return { raw, used: [], moves: [], conflicts: [] };
  const out: Obj = { ...root };
  const newPool: Obj = { ...pool };
  const used: LegacyUse[] = [];
  const moves: KeyMove[] = [];
  const conflicts: LegacyConflict[] = [];
  const rename = (r: RenamedKey) => used.push({ old: r.old, new: r.new, hint: r.hint });
  const [dedicatedKey, sharedKey, autonomousKey] = RENAMED_KEYS as [RenamedKey, RenamedKey, RenamedKey];

  if ("dedicated" in pool) {
    if ("dedicated" in root) {
      conflicts.push(conflict(dedicatedKey));
    } else {
      put(out, "dedicated", pool.dedicated);
      delete newPool.dedicated;
      moves.push({ from: dedicatedKey.old, to: dedicatedKey.new });
      rename(dedicatedKey);
    }
  }
  if ("shared_projects_dir" in pool) {
    const sessions = obj(root.sessions);
    if (sessions && "shared_projects_dir" in sessions) {
      conflicts.push(conflict(sharedKey));
    } else {
      // A sessions: that is not a map is left as it is: the schema reports it.
      if (root.sessions === undefined || sessions)
        put(out, "sessions", { ...sessions, shared_projects_dir: pool.shared_projects_dir });
      delete newPool.shared_projects_dir;
      moves.push({ from: sharedKey.old, to: sharedKey.new });
      rename(sharedKey);
    }
  }
  const auto = obj(pool.autonomous);
  if (auto) {
    // keep_worktrees has one name in both shapes: given under pool.autonomous too, it is given twice.
    const current = Object.keys(pool).filter((k) => !POOL_SHARED_KEYS.has(k) || (k === "keep_worktrees" && k in auto));
    if (current.length) {
      conflicts.push({
        path: autonomousKey.old,
        other: ["pool", current[0]!],
        message: `the pool's settings are given twice: under pool.autonomous (the deprecated name) and directly under pool (${current.map((k) => `pool.${k}`).join(", ")}); keep them directly under pool`,
      });
    } else {
      delete newPool.autonomous;
      for (const [k, v] of Object.entries(auto)) {
        put(newPool, k, v);
        moves.push({ from: [...autonomousKey.old, k], to: [...autonomousKey.new, k] });
      }
      rename(autonomousKey);
    }
  }
  if (used.length === 0) return { raw, used, moves, conflicts };
  put(out, "pool", newPool);
  return { raw: out, used, moves, conflicts };
}

function conflict(r: RenamedKey): LegacyConflict {
  const [o, n] = [formatPath(r.old), formatPath(r.new)];
  return {
    path: r.old,
    other: r.new,
    message: `given twice: as ${n} and as ${o} (its deprecated name); keep ${n} only`,
  };
}

/** The key path as the file has it: an issue found at a moved key's new place is reported at its old one. */
export function pathInFile(path: KeyPath, moves: readonly KeyMove[]): KeyPath {
  for (const m of moves) {
    if (m.to.length <= path.length && m.to.every((seg, i) => path[i] === seg))
      return [...m.from, ...path.slice(m.to.length)];
  }
  return path;
}
