// Changing an account home's `.claude.json` without ever losing a key (issue 13 point 8). The CLI rewrites
// this file while it runs and a reader can see it half written (anthropics/claude-code 29158, 28898), so:
// read with retries, never replace a file that does not parse, write only when a change is needed, and
// then under the CLI's own lock (`<path>.lock`, a directory made with mkdir, stale after 10 s: the
// proper-lockfile convention, read from the CLI's code; docs/notes/claude-json.md), merging into the
// content read under that lock.
import { lstatSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { writeFileAtomic } from "../util/fs-atomic.js";
import { systemClock } from "../util/clock.js";

export type JsonDoc = Record<string, unknown>;

export interface ClaudeJsonIo {
  /** file text, or null when it does not exist; throws for other errors */
  read(path: string): string | null;
  write(path: string, text: string): void;
  /** mkdir `<path>.lock`: true when taken, false when it exists */
  tryLock(lockPath: string): boolean;
  /** mtime of the lock directory in ms, or null when gone */
  lockAge(lockPath: string, now: number): number | null;
  unlock(lockPath: string): void;
  sleep(ms: number): void;
  now(): number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export const nodeClaudeJsonIo: ClaudeJsonIo = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  },
  write: (path, text) => writeFileAtomic(path, text, 0o600),
  tryLock(lockPath) {
    try {
      mkdirSync(lockPath, { mode: 0o700 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
  },
  lockAge(lockPath, now) {
    try {
      return now - lstatSync(lockPath).mtimeMs;
    } catch {
      return null;
    }
  },
  unlock(lockPath) {
    try {
      rmdirSync(lockPath);
    } catch {
      /* already gone (taken over as stale) */
    }
  },
  // Synchronous on purpose: callers are synchronous, and the waits are short (a torn read, a held lock).
  sleep: (ms) => void Atomics.wait(sleeper, 0, 0, ms),
  // The lock's age is compared with its directory's mtime: the wall clock, as the file system keeps it.
  now: () => systemClock.now(),
};

export interface UpdateOptions {
  /** how long to read again while the file does not parse (the CLI finishing its write); default 2000 ms */
  readRetryMs?: number;
  /** how long to wait for the CLI's lock; default 2000 ms */
  lockWaitMs?: number;
  io?: ClaudeJsonIo;
}

export type UpdateResult =
  | { outcome: "unchanged" | "written"; tornReads: number }
  | { outcome: "not_json" | "locked"; tornReads: number; reason: string };

/** The CLI treats a lock whose directory has not been touched for this long as abandoned (proper-lockfile stale). */
export const LOCK_STALE_MS = 10_000;
const POLL_MS = 50;

/**
 * Applies `change` (which edits the document in place and returns true if it changed anything) to the JSON
 * object in `path`. A missing file counts as `{}`. A file that does not parse is read again for
 * `readRetryMs` (a writer may be mid-write); if it still does not parse, nothing is written ("not_json").
 * When a change is needed, it is made again on the content read under the CLI's lock, then written
 * atomically (temp + rename, 0600). Never throws for a torn or locked file; I/O errors propagate.
 */
export function updateClaudeJson(
  path: string,
  change: (doc: JsonDoc) => boolean,
  opts: UpdateOptions = {},
): UpdateResult {
  const io = opts.io ?? nodeClaudeJsonIo;
  const retryMs = opts.readRetryMs ?? 2000;
  // Unlocked look first: most calls (a pool start for a project already trusted) change nothing.
  const first = readParsed(path, io, retryMs);
  if (!first.ok) return { outcome: "not_json", tornReads: first.tornReads, reason: first.reason };
  if (!change(first.doc)) return { outcome: "unchanged", tornReads: first.tornReads };
  const lockPath = `${path}.lock`;
  const deadline = io.now() + (opts.lockWaitMs ?? 2000);
  for (;;) {
    if (io.tryLock(lockPath)) break;
    const age = io.lockAge(lockPath, io.now());
    if (age !== null && age > LOCK_STALE_MS) {
      io.unlock(lockPath); // abandoned, as the CLI would judge it
      continue;
    }
    if (io.now() >= deadline) {
      return {
        outcome: "locked",
        tornReads: first.tornReads,
        reason: `${lockPath} is held (a CLI is writing ${path}); nothing written, tried again next time`,
      };
    }
    io.sleep(POLL_MS);
  }
  try {
    const again = readParsed(path, io, retryMs);
    const torn = first.tornReads + again.tornReads;
    if (!again.ok) return { outcome: "not_json", tornReads: torn, reason: again.reason };
    if (!change(again.doc)) return { outcome: "unchanged", tornReads: torn };
    io.write(path, JSON.stringify(again.doc, null, 2));
    return { outcome: "written", tornReads: torn };
  } finally {
    io.unlock(lockPath);
  }
}

type Read = { ok: true; doc: JsonDoc; tornReads: number } | { ok: false; reason: string; tornReads: number };

function readParsed(path: string, io: ClaudeJsonIo, retryMs: number): Read {
  const deadline = io.now() + retryMs;
  let torn = 0;
  for (;;) {
    const text = io.read(path);
    if (text === null) return { ok: true, doc: {}, tornReads: torn };
    const why = parseObject(text);
    if (typeof why !== "string") return { ok: true, doc: why, tornReads: torn };
    torn++;
    if (io.now() >= deadline) {
      return {
        ok: false,
        tornReads: torn,
        reason: `${path} is not a JSON object (${why}) after ${torn} reads over ${retryMs} ms; left as it is, nothing written`,
      };
    }
    io.sleep(POLL_MS);
  }
}

function parseObject(text: string): JsonDoc | string {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as JsonDoc) : "not an object";
  } catch (e) {
    return (e as Error).message;
  }
}
