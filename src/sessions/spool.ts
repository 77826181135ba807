import { watch, type FSWatcher } from "chokidar";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../util/log.js";
import { compareEvents, type HookEvent, parsePayload, parseSpoolName } from "./hook-event.js";

export type EventHandler = (ev: HookEvent) => void | Promise<void>;

/**
 * Watches the spool dir and hands events to `handle` in the order the hooks ran, deleting each once
 * applied. chokidar is only the doorbell: every wake-up drains the whole directory, sorted, so events
 * that arrive together (or were written while we were down) are still applied in order.
 */
export class Spool {
  private watcher: FSWatcher | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  applied = 0;
  rejected = 0;

  constructor(readonly dir: string, private readonly handle: EventHandler, private readonly log: Logger) {}

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.dir, "bad"), { recursive: true, mode: 0o700 });
    this.watcher = watch(this.dir, { depth: 0, ignoreInitial: true, ignored: (p) => p.endsWith(".tmp") });
    this.watcher.on("add", () => this.kick());
    this.watcher.on("error", (e) => this.log.warn({ err: String(e) }, "spool watcher error"));
    await new Promise<void>((r) => this.watcher!.once("ready", () => r()));
    await this.drain();
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = null;
    await this.draining;
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
        if (isFile(path)) this.reject(file, "unrecognised file name");
        continue;
      }
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        continue; // vanished: someone else drained it
      }
      const payload = parsePayload(text);
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
        this.log.error({ err: String(e), file: ev.file }, "applying hook event failed");
      }
      try {
        unlinkSync(join(this.dir, ev.file));
      } catch {
        /* already gone */
      }
      this.applied++;
    }
  }

  private reject(file: string, reason: string): void {
    this.rejected++;
    this.log.warn({ file, reason }, "spool file rejected");
    try {
      renameSync(join(this.dir, file), join(this.dir, "bad", file));
    } catch {
      /* gone */
    }
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
