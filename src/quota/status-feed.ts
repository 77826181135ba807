import { watch, type FSWatcher } from "chokidar";
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../store/store.js";
import type { Clock, Timer } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { UsageFigures } from "./policy-types.js";
import { parseFeedName, parseStatusLine } from "./status-line.js";
import type { StatusLineFiles } from "../claude/status-line-files.js";

/** A status-line input is a few KB; anything larger is not one. */
const MAX_FEED_BYTES = 256 * 1024;
/** Each session's file is read at most this often (the last write of a burst is always read). */
const READ_GAP_MS = 1000;

/** Reads a regular file of at most `max` bytes without following a symlink; null otherwise. */
function readSmallRegular(path: string, max: number): { text: string; mtimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > max) return null;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n <= 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString("utf8"), mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** StatusFeed's collaborators (it has no parameters). */
export interface StatusFeedDeps {
  /** where the status-line script writes each session's input (claude/status-line-files.ts) */
  files: StatusLineFiles;
  store: Store;
  clock: Clock;
  log: Logger;
  /** told after each new reading, with its account and session */
  onFigures: (account: string, session: string) => void;
}

/**
 * Turns the CLIs' status-line inputs into per-account usage figures (source "statusline", time = when the
 * CLI wrote them): the primary usage source, one reading per API response and no request of ours. A
 * reading never replaces a newer one, and keeps the usage endpoint poller's own error and schedule
 * fields. `onFigures(account)` runs after each new reading (the quota monitor ticks on it).
 */
export class StatusFeed {
  private watcher: FSWatcher | null = null;
  private lastRead = new Map<string, number>();
  private trailing = new Map<string, Timer>();
  readings = 0;

  private readonly files: StatusLineFiles;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly onFigures: (account: string, session: string) => void;

  constructor(deps: StatusFeedDeps) {
    this.files = deps.files;
    this.store = deps.store;
    this.clock = deps.clock;
    this.log = deps.log;
    this.onFigures = deps.onFigures;
  }

  async start(): Promise<void> {
    mkdirSync(this.files.feedDir, { recursive: true, mode: 0o700 });
    this.watcher = watch(this.files.feedDir, { depth: 0, ignoreInitial: true, ignored: (p) => p.endsWith(".tmp") });
    const wake = (p: string) => this.kick(p.slice(p.lastIndexOf("/") + 1));
    this.watcher.on("add", wake);
    this.watcher.on("change", wake);
    this.watcher.on("error", (e) => this.log.warn({ err: String(e) }, "status-line feed watcher error"));
    await new Promise<void>((r) => this.watcher!.once("ready", () => r()));
    for (const f of readdirSync(this.files.feedDir)) this.readNow(f);
  }

  async stop(): Promise<void> {
    for (const t of this.trailing.values()) t.cancel();
    this.trailing.clear();
    await this.watcher?.close();
    this.watcher = null;
  }

  /** A file changed: read it now, or once READ_GAP_MS after the last read (trailing edge). */
  kick(file: string): void {
    if (!parseFeedName(file) || this.trailing.has(file)) return;
    const wait = (this.lastRead.get(file) ?? -Infinity) + READ_GAP_MS - this.clock.now();
    if (wait <= 0) {
      this.readNow(file);
      return;
    }
    this.trailing.set(
      file,
      this.clock.after(wait, () => {
        this.trailing.delete(file);
        this.readNow(file);
      }),
    );
  }

  /** Reads one feed file and stores its figures; returns the account it updated, if any. */
  readNow(file: string): string | null {
    const who = parseFeedName(file);
    if (!who) return null;
    this.lastRead.set(file, this.clock.now());
    try {
      const got = readSmallRegular(join(this.files.feedDir, file), MAX_FEED_BYTES);
      if (!got) return null;
      const reading = parseStatusLine(got.text, Math.round(got.mtimeMs));
      if (!reading) return null;
      if (!this.put(who.account, reading.figures)) return null;
      this.readings++;
      this.onFigures(who.account, who.session);
      return who.account;
    } catch (e) {
      this.log.warn({ file, err: errorMessage(e) }, "status-line feed read failed");
      return null;
    }
  }

  private put(account: string, figures: UsageFigures): boolean {
    const prev = this.store.getUsage(account);
    if (prev?.fetchedAt != null && figures.fetchedAt != null && prev.fetchedAt >= figures.fetchedAt) return false;
    this.store.putUsage({
      account,
      figures,
      fetchedAt: figures.fetchedAt,
      source: "statusline",
      error: prev?.error ?? null,
      errorAt: prev?.errorAt ?? null,
      nextPollAt: prev?.nextPollAt ?? null,
      backoffMs: prev?.backoffMs ?? 0,
    });
    return true;
  }
}
