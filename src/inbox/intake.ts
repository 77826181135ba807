import { watch, type FSWatcher } from "chokidar";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, type Stats } from "node:fs";
import { extname, join } from "node:path";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs-atomic.js";
import type { Logger } from "../util/log.js";
import { isCandidateName, readiness, taskFromFile, type ValidateContext } from "./task-file.js";
import type { TaskStore } from "./task-store.js";
import type { TaskRow } from "./task-types.js";

export interface IntakeOptions {
  dir: string;
  maxBytes: number;
  stableMs: number;
  /** a full rescan this often, in case a watcher event was missed */
  rescanMs?: number;
}

export interface IntakeHooks {
  validation: () => ValidateContext;
  event: (kind: string, data: Record<string, unknown>) => void;
  queued: (t: TaskRow) => void;
}

/**
 * Turns files dropped in the inbox into queued tasks. chokidar is only the doorbell: each wake-up scans
 * the whole directory, oldest file first. A task is committed to SQLite before its file is moved to
 * `processed/`; a file whose task is already committed (the daemon died between the two) is only moved.
 * Bad files go to `rejected/` with a `.reason` file beside them.
 */
export class Intake {
  private watcher: FSWatcher | null = null;
  private scanning = false;
  private again = false;
  private recheck: NodeJS.Timeout | null = null;
  private rescan: NodeJS.Timeout | null = null;
  readonly processedDir: string;
  readonly rejectedDir: string;

  constructor(private readonly opts: IntakeOptions, private readonly tasks: TaskStore, private readonly clock: Clock, private readonly log: Logger, private readonly hooks: IntakeHooks) {
    this.processedDir = join(opts.dir, "processed");
    this.rejectedDir = join(opts.dir, "rejected");
  }

  async start(): Promise<void> {
    for (const d of [this.opts.dir, this.processedDir, this.rejectedDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    // Rows whose file did leave the inbox (moved, then the daemon died before noting it) are settled.
    for (const t of this.tasks.intakePending()) if (!existsSync(join(this.opts.dir, t.intakeFile!))) this.tasks.clearIntake(t.id);
    this.watcher = watch(this.opts.dir, { depth: 0, ignoreInitial: true });
    this.watcher.on("add", () => this.kick());
    this.watcher.on("change", () => this.kick());
    this.watcher.on("error", (e) => this.log.warn({ err: String(e) }, "inbox watcher error"));
    await new Promise<void>((r) => this.watcher!.once("ready", () => r()));
    this.rescan = setInterval(() => this.kick(), this.opts.rescanMs ?? Math.max(2000, this.opts.stableMs));
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.rescan) clearInterval(this.rescan);
    if (this.recheck) clearTimeout(this.recheck);
    this.rescan = this.recheck = null;
    await this.watcher?.close();
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
      if (!isCandidateName(name)) continue;
      try {
        const st = statSync(join(this.opts.dir, name));
        if (st.isFile()) files.push({ name, st });
      } catch {
        /* gone already */
      }
    }
    files.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let wait = Infinity;
    for (const f of files) {
      const r = readiness(f.st, now, this.opts.stableMs);
      if (!r.ready) wait = Math.min(wait, r.recheckInMs);
      else if (!this.ingest(f.name, f.st)) wait = Math.min(wait, this.opts.stableMs);
    }
    if (wait !== Infinity && !this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = null;
        this.kick();
      }, wait);
    }
  }

  /** One complete file → a queued task (or a rejection). false: it changed while read; look again later. */
  private ingest(name: string, st: Stats): boolean {
    const path = join(this.opts.dir, name);
    if (st.size > this.opts.maxBytes) {
      this.reject(name, `file too large: ${st.size} bytes, inbox.max_file_bytes is ${this.opts.maxBytes}`);
      return true;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
      const again = statSync(path);
      if (again.size !== bytes.length || again.mtimeMs !== st.mtimeMs) return false;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
      this.reject(name, `unreadable: ${errorMessage(e)}`);
      return true;
    }
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
      this.reject(name, `duplicate id: task ${clash.id} already exists (${clash.state}${clash.contentHash === hash ? ", same content" : ", different content"})`);
      return true;
    }
    const row = this.tasks.insert(r.value, { source: `file:${name}`, contentHash: hash, intakeFile: name }, this.clock.now());
    this.hooks.event("task.queued", { id: row.id, source: row.source, priority: row.priority, project: row.project });
    this.finishMove(row.id, name, null);
    this.hooks.queued(row);
    return true;
  }

  private finishMove(id: string, name: string, event: string | null): void {
    try {
      renameSync(join(this.opts.dir, name), join(this.processedDir, freeName(this.processedDir, name)));
      this.tasks.clearIntake(id);
      if (event) this.hooks.event(event, { id, file: name });
    } catch (e) {
      // The task is committed; the next scan sees the same file and only retries the move.
      this.log.warn({ file: name, id, err: errorMessage(e) }, "could not move task file to processed/");
    }
  }

  private reject(name: string, reason: string): void {
    const to = freeName(this.rejectedDir, name);
    try {
      renameSync(join(this.opts.dir, name), join(this.rejectedDir, to));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.log.warn({ file: name, err: errorMessage(e) }, "could not move rejected file");
      return;
    }
    try {
      writeFileAtomic(join(this.rejectedDir, `${to}.reason`), `${reason}\n`, 0o644);
    } catch (e) {
      this.log.warn({ file: name, err: errorMessage(e) }, "could not write the reason file");
    }
    this.hooks.event("task.rejected", { file: name, movedTo: join(this.rejectedDir, to), reason });
    this.log.warn({ file: name, reason }, "task file rejected");
  }
}

/** `name`, or `stem-2.ext`, `stem-3.ext`, ... whichever is free in `dir`. */
function freeName(dir: string, name: string): string {
  if (!existsSync(join(dir, name)) && !existsSync(join(dir, `${name}.reason`))) return name;
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 2; ; n++) {
    const c = `${stem}-${n}${ext}`;
    if (!existsSync(join(dir, c)) && !existsSync(join(dir, `${c}.reason`))) return c;
  }
}
