// Retention: what the daemon accumulates is kept within bounds (the `retention` config section).
// Rows: events (age, then a row cap), prompts (age; the weekly soft cap needs 7 days). Files:
// spool/bad (junk hook events), the inbox's processed/ and rejected/ (with their .reason files) and
// the outbox's results, each by age and then to the newest `max_files`. Run once at start and daily.
import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Cron } from "croner";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { Store } from "./store.js";

/** Ages in ms. */
export interface RetentionParams {
  events: number;
  events_max_rows: number;
  prompts: number;
  spool_bad: number;
  inbox_done: number;
  outbox: number;
  max_files: number;
}

/** The directories pruned, by the age key that applies to them. */
export interface RetentionDirs {
  spoolBad: string;
  processed: string;
  rejected: string;
  outbox: string;
}

export interface FileEntry {
  name: string;
  mtimeMs: number;
}

/**
 * Pure: which entries to delete — those older than `now - maxAgeMs`, then the oldest beyond the
 * newest `maxFiles`. Dot-files (a temp file being written) count only by age, never against the cap.
 */
export function planFilePrune(entries: FileEntry[], now: number, maxAgeMs: number, maxFiles: number): string[] {
  const cutoff = now - maxAgeMs;
  const out: string[] = [];
  const kept: FileEntry[] = [];
  for (const e of entries) {
    if (e.mtimeMs < cutoff) out.push(e.name);
    else if (!e.name.startsWith(".")) kept.push(e);
  }
  kept.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : -1));
  for (const e of kept.slice(maxFiles)) out.push(e.name);
  return out;
}

/**
 * Deletes what planFilePrune picks among the regular files and symlinks directly in `dir` (a symlink
 * is removed itself, never followed; directories are left alone). A missing dir is 0.
 */
export function pruneDir(dir: string, now: number, maxAgeMs: number, maxFiles: number): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
  const entries: FileEntry[] = [];
  for (const name of names) {
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile() || st.isSymbolicLink()) entries.push({ name, mtimeMs: st.mtimeMs });
    } catch {
      /* gone meanwhile */
    }
  }
  let n = 0;
  for (const name of planFilePrune(entries, now, maxAgeMs, maxFiles)) {
    try {
      unlinkSync(join(dir, name));
      n++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  return n;
}

export interface RetentionReport {
  events: number;
  prompts: number;
  /** applied-spool-file records older than a day (spool_applied: the once-only guard needs only recent ones) */
  spoolApplied: number;
  spoolBad: number;
  processed: number;
  rejected: number;
  outbox: number;
}

/** How long an applied spool file is remembered: far longer than a file can wait in the spool for a restart. */
export const SPOOL_APPLIED_KEEP_MS = 24 * 3_600_000;

/** RetentionService's collaborators. */
export interface RetentionDeps {
  store: Store;
  clock: Clock;
  log: Logger;
}

/** RetentionService's parameters (configure() changes `params` on reload). */
export interface RetentionOptions {
  /** the directories whose old files it prunes */
  dirs: RetentionDirs;
  /** the config's retention section */
  params: RetentionParams;
}

export class RetentionService {
  private job: Cron | null = null;

  private readonly store: Store;
  private readonly dirs: RetentionDirs;
  private params: RetentionParams;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(deps: RetentionDeps, opts: RetentionOptions) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.log = deps.log;
    this.dirs = opts.dirs;
    this.params = opts.params;
  }

  configure(params: RetentionParams): void {
    this.params = params;
  }

  /** One pass now; the report is also an event (`retention.pruned`) when anything went. */
  runOnce(): RetentionReport {
    const p = this.params;
    const now = this.clock.now();
    const r: RetentionReport = {
      events: this.store.pruneEvents(now - p.events, p.events_max_rows),
      prompts: this.store.prunePrompts(now - p.prompts),
      spoolApplied: this.store.pruneSpoolApplied(now - SPOOL_APPLIED_KEEP_MS),
      spoolBad: pruneDir(this.dirs.spoolBad, now, p.spool_bad, p.max_files),
      processed: pruneDir(this.dirs.processed, now, p.inbox_done, p.max_files),
      rejected: pruneDir(this.dirs.rejected, now, p.inbox_done, p.max_files),
      outbox: pruneDir(this.dirs.outbox, now, p.outbox, p.max_files),
    };
    if (Object.values(r).some((n) => n > 0)) {
      this.store.appendEvent(now, "retention.pruned", null, null, { ...r });
      this.log.info(r, "retention: pruned");
    }
    return r;
  }

  /** Runs once now, then every day at 04:17 local time (a quiet hour; overruns are skipped). */
  start(): void {
    this.stop();
    this.runSafe();
    this.job = new Cron("17 4 * * *", { protect: true, catch: true }, () => this.runSafe());
  }

  stop(): void {
    this.job?.stop();
    this.job = null;
  }

  private runSafe(): void {
    try {
      this.runOnce();
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "retention: prune failed");
    }
  }
}
