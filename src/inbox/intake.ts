import { createHash } from "node:crypto";
import { lstatSync, readdirSync, renameSync, type Stats } from "node:fs";
import { extname, join } from "node:path";
import type { Clock, Timer } from "../util/clock.js";
import { watchDirEntries, type DirWatch } from "../util/dir-watch.js";
import { errorMessage } from "../util/errors.js";
import { ensureRealDir, fsyncDir, writeFileAtomic } from "../util/fs-atomic.js";
import type { Logger } from "../util/log.js";
import { entryKind, readRegularFile } from "../util/safe-read.js";
import { isCandidateName, readiness, taskFromFile, type ValidateContext } from "./task-file.js";
import type { TaskStore } from "./task-store.js";
import { inboxDirsFor } from "../config/paths.js";
import type { TaskRow } from "./task-types.js";

export interface IntakeOptions {
  dir: string;
  maxBytes: number;
  stableMs: number;
  /** a full rescan this often, in case a watcher event was missed */
  rescanMs?: number;
}

export interface IntakeHooks {
  /** what a task file is checked against (accounts, default project), read at each file */
  validation: () => ValidateContext;
  event: (kind: string, data: Record<string, unknown>) => void;
  /** told of each task queued */
  queued: (t: TaskRow) => void;
}

/** The intake's collaborators (Intake's constructor): its store, clock, log and hooks. */
export interface IntakeDeps extends IntakeHooks {
  tasks: TaskStore;
  clock: Clock;
  log: Logger;
}

/**
 * Turns files dropped in the inbox into queued tasks. The watch (fs.watch on the directory,
 * util/dir-watch.ts; not chokidar, which could watch again after close(), so a daemon stopped right after
 * taking files did not exit) is only the doorbell: each wake-up, and a rescan every few seconds, scans the
 * whole directory, oldest file first. A task is committed to SQLite before its file is moved to
 * `processed/`; a file whose task is already committed (the daemon died between the two) is only moved.
 * That commit is fully synced (TaskStore.insert durable) and the move is fsynced after it, so a power cut
 * leaves the file in the inbox (queued again, or only moved if its row made it) and never a moved file
 * without its row. Bad files go to `rejected/` with a `.reason` file beside them: anything that is not a
 * regular file (a symlink is moved as a link, never followed), files over the size cap, files that don't
 * parse. Each file is handled on its own: one that throws is rejected and the scan goes on.
 * `processed/` and `rejected/` must be real directories of ours (never followed through a symlink).
 */
export class Intake {
  private watcher: DirWatch | null = null;
  private scanning = false;
  private again = false;
  private recheck: Timer | null = null;
  private rescan: Timer | null = null;
  readonly processedDir: string;
  readonly rejectedDir: string;

  private readonly opts: IntakeOptions;
  private readonly tasks: TaskStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly hooks: IntakeHooks;

  constructor(deps: IntakeDeps, opts: IntakeOptions) {
    this.opts = opts;
    this.tasks = deps.tasks;
    this.clock = deps.clock;
    this.log = deps.log;
    this.hooks = deps;
    ({ inboxProcessedDir: this.processedDir, inboxRejectedDir: this.rejectedDir } = inboxDirsFor(opts.dir));
  }

  async start(): Promise<void> {
    for (const d of [this.opts.dir, this.processedDir, this.rejectedDir]) ensureRealDir(d);
    // Rows whose file did leave the inbox (moved, then the daemon died before noting it) are settled.
    for (const t of this.tasks.intakePending())
      if (!exists(join(this.opts.dir, t.intakeFile!))) this.tasks.clearIntake(t.id);
    const unwatched = (e: unknown) => {
      this.watcher = null;
      this.log.warn({ err: errorMessage(e) }, "inbox watcher error: the inbox is read by the rescan only");
    };
    try {
      this.watcher = watchDirEntries(this.opts.dir, () => this.kick(), { onError: unwatched });
    } catch (e) {
      unwatched(e);
    }
    this.rescan?.cancel();
    this.rescan = this.clock.every(this.opts.rescanMs ?? Math.max(2000, this.opts.stableMs), () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.rescan?.cancel();
    this.recheck?.cancel();
    this.rescan = this.recheck = null;
    this.watcher?.close();
    this.watcher = null;
  }

  /** Scans now; a kick during a scan runs one more scan after it. */
  kick(): void {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        this.scanOnce();
      } while (this.again);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "inbox scan failed");
    } finally {
      this.scanning = false;
    }
  }

  private scanOnce(): void {
    const now = this.clock.now();
    const files: { name: string; st: Stats }[] = [];
    let names: string[];
    try {
      names = readdirSync(this.opts.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!isCandidateName(name) || name === "processed" || name === "rejected") continue;
      let st: Stats;
      try {
        st = lstatSync(join(this.opts.dir, name));
      } catch {
        continue; // gone already
      }
      if (st.isFile()) files.push({ name, st });
      else this.reject(name, `not a regular file: ${entryKind(st)}`);
    }
    files.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let wait = Infinity;
    for (const f of files) {
      const r = readiness(f.st, now, this.opts.stableMs);
      if (!r.ready) wait = Math.min(wait, r.recheckInMs);
      else if (!this.ingestSafely(f.name, f.st)) wait = Math.min(wait, this.opts.stableMs);
    }
    if (wait !== Infinity && !this.recheck) {
      this.recheck = this.clock.after(wait, () => {
        this.recheck = null;
        this.kick();
      });
    }
  }

  /** ingest, but a file that throws (a bug, a store error) is rejected with the error and the scan goes on. */
  private ingestSafely(name: string, st: Stats): boolean {
    try {
      return this.ingest(name, st);
    } catch (e) {
      this.log.error({ file: name, err: errorMessage(e) }, "task file could not be taken in");
      this.reject(name, `could not be taken in: ${errorMessage(e)}`);
      return true;
    }
  }

  /** One complete file → a queued task (or a rejection). false: it changed while read; look again later. */
  private ingest(name: string, st: Stats): boolean {
    const path = join(this.opts.dir, name);
    if (st.size > this.opts.maxBytes) {
      this.reject(name, `file too large: ${st.size} bytes, inbox.max_file_bytes is ${this.opts.maxBytes}`);
      return true;
    }
    const read = readRegularFile(path, this.opts.maxBytes, st);
    if (!read.ok) {
      if (read.kind === "gone") return true;
      if (read.kind === "changed") return false;
      this.reject(
        name,
        read.kind === "too_large" ? `file ${read.reason}, inbox.max_file_bytes is ${this.opts.maxBytes}` : read.reason,
      );
      return true;
    }
    const bytes = read.bytes;
    if (read.st.size !== bytes.length || read.st.mtimeMs !== st.mtimeMs) return false;
    const hash = createHash("sha256").update(bytes).digest("hex");
    const pending = this.tasks.findIntake(name, hash);
    if (pending) {
      this.finishMove(pending.id, name, "task.intake_resumed");
      return true;
    }
    const r = taskFromFile(bytes, this.opts.maxBytes, this.hooks.validation());
    if (!r.ok) {
      this.reject(name, r.reason);
      return true;
    }
    const clash = r.value.id ? this.tasks.get(r.value.id) : undefined;
    if (clash) {
      this.reject(
        name,
        `duplicate id: task ${clash.id} already exists (${clash.state}${clash.contentHash === hash ? ", same content" : ", different content"})`,
      );
      return true;
    }
    // Durable: the file is moved out of the inbox only after this commit is on disk.
    const row = this.tasks.insert(
      r.value,
      { source: `file:${name}`, contentHash: hash, intakeFile: name },
      this.clock.now(),
      { durable: true },
    );
    this.hooks.event("task.queued", { id: row.id, source: row.source, priority: row.priority, project: row.project });
    this.finishMove(row.id, name, null);
    this.hooks.queued(row);
    return true;
  }

  private finishMove(id: string, name: string, event: string | null): void {
    try {
      ensureRealDir(this.processedDir);
      renameSync(join(this.opts.dir, name), join(this.processedDir, freeName(this.processedDir, name)));
      fsyncDir(this.processedDir);
      fsyncDir(this.opts.dir);
      this.tasks.clearIntake(id);
      if (event) this.hooks.event(event, { id, file: name });
    } catch (e) {
      // The task is committed; the next scan sees the same file and only retries the move.
      this.log.warn({ file: name, id, err: errorMessage(e) }, "could not move task file to processed/");
    }
  }

  /** Files that could not be moved to rejected/: skipped until they change, so one can't flood the log. */
  private readonly stuck = new Map<string, string>();

  private reject(name: string, reason: string): void {
    const from = join(this.opts.dir, name);
    const key = stuckKey(from);
    if (key !== null && this.stuck.get(name) === key) return;
    let to: string;
    try {
      ensureRealDir(this.rejectedDir);
      to = freeName(this.rejectedDir, name);
      // rename moves a symlink or a FIFO itself, never what it points to
      renameSync(from, join(this.rejectedDir, to));
      this.stuck.delete(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && key === null) return;
      // Kept in place (it may be someone's only copy) and skipped until it changes.
      if (key !== null) this.stuck.set(name, key);
      this.log.warn(
        { file: name, reason, err: errorMessage(e) },
        "could not move rejected file; it stays in the inbox, skipped until it changes",
      );
      this.hooks.event("task.rejected", { file: name, movedTo: null, reason, moveError: errorMessage(e) });
      return;
    }
    try {
      writeFileAtomic(join(this.rejectedDir, `${to}.reason`), `${reason}\n`, 0o600);
    } catch (e) {
      this.log.warn({ file: name, err: errorMessage(e) }, "could not write the reason file");
    }
    this.hooks.event("task.rejected", { file: name, movedTo: join(this.rejectedDir, to), reason });
    this.log.warn({ file: name, reason }, "task file rejected");
  }
}

/** `name`, or `stem-2.ext`, `stem-3.ext`, ... whichever is free in `dir` (a dangling symlink is not free). */
function freeName(dir: string, name: string): string {
  if (!exists(join(dir, name)) && !exists(join(dir, `${name}.reason`))) return name;
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 2; ; n++) {
    const c = `${stem}-${n}${ext}`;
    if (!exists(join(dir, c)) && !exists(join(dir, `${c}.reason`))) return c;
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

/** Identity of a directory entry as it is now (inode, size, mtime), or null if it is gone. */
function stuckKey(p: string): string | null {
  try {
    const st = lstatSync(p);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}
