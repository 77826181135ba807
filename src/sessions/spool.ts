import { lstatSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { systemClock, type Clock, type Timer } from "../util/clock.js";
import { watchDirEntries, type DirWatch, type DirWatchOptions } from "../util/dir-watch.js";
import { errorMessage } from "../util/errors.js";
import { ensureRealDir } from "../util/fs-atomic.js";
import type { Logger } from "../util/log.js";
import { readRegularFile } from "../util/safe-read.js";
import { compareEvents, type HookEvent, parsePayload, parseSpoolName } from "./hook-event.js";

export type EventHandler = (ev: HookEvent) => void | Promise<void>;

/** How the spool watches its directory (util/dir-watch.ts; a seam for tests of a watch that fails). */
export type WatchDir = (dir: string, ring: (name: string | null) => void, opts: DirWatchOptions) => DirWatch;

/**
 * The largest spool file read. A hook event is the CLI's hook input: a UserPromptSubmit carries the whole
 * prompt, so this is generous; anything bigger is not read at all (issue 14: a huge file was re-read at
 * every drain).
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** How often an event the store could not take (a full disk) is tried again, in ms. */
export const DEFERRED_RETRY_MS = 1000;

/**
 * Whether `e` says the state store (or the disk under it) can't take a write now, so the event is kept and
 * tried again rather than dropped: SQLite's SQLITE_FULL and SQLITE_IOERR_* (better-sqlite3's `code`), a
 * file write's ENOSPC/EDQUOT, writeFileAtomic's `disk_full`.
 */
export function isStorageUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return (
    code === "SQLITE_FULL" ||
    code.startsWith("SQLITE_IOERR") ||
    code === "ENOSPC" ||
    code === "EDQUOT" ||
    code === "disk_full"
  );
}

/** The spool's collaborators. */
export interface SpoolDeps {
  /** applies one hook event (the session service's handleHookEvent) */
  handle: EventHandler;
  log: Logger;
  /** default: the system clock */
  clock?: Clock;
  /** told once the store takes events again after a deferral (for an event in the log) */
  onResumed?: (info: { deferredMs: number; error: string }) => void;
  /** the directory watch (default: util/dir-watch.ts watchDirEntries; tests pass one that fails) */
  watchDir?: WatchDir;
}

/** The spool's parameters. */
export interface SpoolOptions {
  /** the spool directory the hooks write events into */
  dir: string;
}

/**
 * Watches the spool dir and hands events to `handle` in the order the hooks ran, deleting each once
 * applied. The watch (fs.watch on the directory, util/dir-watch.ts) is only the doorbell: every wake-up
 * drains the whole directory, sorted, so events that arrive together (or were written while we were down)
 * are still applied in order; without a watch (it could not be set up, or failed) the directory is drained
 * every DEFERRED_RETRY_MS instead. Only regular files up to MAX_EVENT_BYTES are read (lstat,
 * O_NOFOLLOW|O_NONBLOCK: a FIFO, a symlink to /dev/zero or a huge file can neither block nor exhaust the
 * daemon); anything else goes to `bad/` with the reason logged, or is removed if it can't be moved. An
 * event the handler could not apply because the store is full (isStorageUnavailable) stays in the spool,
 * and so do the ones after it (order): the drain stops there and is tried again every DEFERRED_RETRY_MS
 * until it goes through; any other handler error is logged and the event dropped (it would fail again).
 * stop() leaves nothing open (no watch, no timer), so a process that stopped its spool can exit.
 */
export class Spool {
  private watcher: DirWatch | null = null;
  /** the drain every DEFERRED_RETRY_MS while there is no watch */
  private poll: Timer | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  applied = 0;
  rejected = 0;
  /** since when events wait for the store (ms), null while it takes them */
  private deferredSince: number | null = null;
  private deferError = "";
  private retry: Timer | null = null;
  private readonly stopping = new AbortController();

  readonly dir: string;
  private readonly handle: EventHandler;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly onResumed?: (info: { deferredMs: number; error: string }) => void;
  private readonly watchDir: WatchDir;

  constructor(deps: SpoolDeps, opts: SpoolOptions) {
    this.dir = opts.dir;
    this.handle = deps.handle;
    this.log = deps.log;
    this.clock = deps.clock ?? systemClock;
    this.onResumed = deps.onResumed;
    this.watchDir = deps.watchDir ?? watchDirEntries;
  }

  async start(): Promise<void> {
    ensureRealDir(this.dir);
    ensureRealDir(join(this.dir, "bad"));
    try {
      // A hook writes `.<name>.tmp` and renames it into place: the rename rings; its temp file does not.
      this.watcher = this.watchDir(this.dir, () => this.kick(), {
        ignore: (name) => name.startsWith(".") || name === "bad",
        onError: (e) => this.unwatched(e),
      });
    } catch (e) {
      this.unwatched(e);
    }
    await this.drain();
  }

  /**
   * Stops watching and retrying, and waits for a drain under way. Nothing is left open: no watch, no timer
   * (the process can exit).
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.watcher?.close();
    this.watcher = null;
    this.poll?.cancel();
    this.poll = null;
    this.retry?.cancel();
    this.retry = null;
    await this.draining;
  }

  /** The watch could not be set up or failed: the spool is drained every DEFERRED_RETRY_MS from now on. */
  private unwatched(e: unknown): void {
    this.watcher = null;
    if (this.stopping.signal.aborted || this.poll) return;
    this.log.error(
      { err: errorMessage(e), dir: this.dir, pollMs: DEFERRED_RETRY_MS },
      "the spool can't be watched: it is drained on a timer instead",
    );
    this.poll = this.clock.every(DEFERRED_RETRY_MS, () => this.kick(), this.stopping.signal);
  }

  /** Schedules a drain; concurrent kicks coalesce into one more pass. */
  kick(): void {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drainLoop().finally(() => (this.draining = null));
  }

  async drain(): Promise<void> {
    this.kick();
    while (this.draining) await this.draining;
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      await this.drainOnce();
    } while (this.again);
  }

  private async drainOnce(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const events: HookEvent[] = [];
    for (const file of names) {
      if (file === "bad" || file.startsWith(".")) continue;
      const meta = parseSpoolName(file);
      const path = join(this.dir, file);
      if (!meta) {
        if (exists(path)) this.reject(file, "unrecognised file name");
        continue;
      }
      const r = readRegularFile(path, MAX_EVENT_BYTES);
      if (!r.ok) {
        if (r.kind !== "gone") this.reject(file, r.reason); // gone: someone else drained it
        continue;
      }
      const payload = parsePayload(r.bytes.toString("utf8"));
      if (!payload) {
        this.reject(file, "payload is not a JSON object");
        continue;
      }
      events.push({ ...meta, file, payload });
    }
    events.sort(compareEvents);
    for (const ev of events) {
      try {
        await this.handle(ev);
      } catch (e) {
        if (isStorageUnavailable(e)) return this.defer(ev, e);
        this.log.error({ err: String(e), file: ev.file }, "applying hook event failed");
      }
      this.resumed();
      try {
        unlinkSync(join(this.dir, ev.file));
      } catch {
        /* already gone */
      }
      this.applied++;
    }
  }

  /** Keeps `ev` and the events after it in the spool and drains again later; logged once per episode. */
  private defer(ev: HookEvent, e: unknown): void {
    if (this.deferredSince === null) {
      this.deferredSince = this.clock.now();
      this.deferError = errorMessage(e);
      this.log.error(
        { err: this.deferError, file: ev.file, retryMs: DEFERRED_RETRY_MS },
        "the store can't take hook events (disk full?): they stay in the spool and are applied once it can",
      );
    }
    if (this.retry || this.stopping.signal.aborted) return;
    this.retry = this.clock.after(
      DEFERRED_RETRY_MS,
      () => {
        this.retry = null;
        this.kick();
      },
      this.stopping.signal,
    );
  }
  private resumed(): void {
    if (this.deferredSince === null) return;
    const info = { deferredMs: this.clock.now() - this.deferredSince, error: this.deferError };
    this.deferredSince = null;
    this.log.warn(info, "the store takes hook events again: the spooled ones are applied in order");
    try {
      this.onResumed?.(info);
    } catch {
      /* an event about it is a nicety */
    }
  }

  /** Moves `file` (whatever it is: rename never follows a symlink) to bad/, else removes it. */
  private reject(file: string, reason: string): void {
    this.rejected++;
    const from = join(this.dir, file);
    try {
      ensureRealDir(join(this.dir, "bad"));
      renameSync(from, join(this.dir, "bad", file));
      this.log.warn({ file, reason, movedTo: "bad/" }, "spool file rejected");
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && !exists(from)) return;
      try {
        unlinkSync(from);
        this.log.warn(
          { file, reason, moveError: String(e) },
          "spool file rejected and removed (could not be moved to bad/)",
        );
      } catch (e2) {
        this.log.error({ file, reason, err: String(e2) }, "spool file rejected but can be neither moved nor removed");
      }
    }
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
