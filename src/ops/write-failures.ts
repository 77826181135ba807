// Failed durable writes (a full disk above all) made visible: an event per failure and the latest one in
// `status`, instead of only a log line from whichever service was writing (issue 14).
import type { Clock } from "../util/clock.js";
import { onWriteFailure, type WriteFailedError } from "../util/fs-atomic.js";
import type { Logger } from "../util/log.js";

export interface WriteFailureView {
  /** failures since the daemon started */
  count: number;
  /** the latest: when (ms), which file, `disk_full` or `write_failed`, and the system's words */
  last: { at: number; path: string; code: string; error: string } | null;
}

/** WriteFailureWatch's collaborators (it has no parameters). */
export interface WriteFailureDeps {
  /** appends an event (kind, data) to the store's log */
  event: (kind: string, data: Record<string, unknown>) => void;
  clock: Clock;
  log: Logger;
}

/** Listens to writeFileAtomic in this process from start() to stop(). */
export class WriteFailureWatch {
  private off: (() => void) | null = null;
  private view: WriteFailureView = { count: 0, last: null };

  private readonly event: (kind: string, data: Record<string, unknown>) => void;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(deps: WriteFailureDeps) {
    this.event = deps.event;
    this.clock = deps.clock;
    this.log = deps.log;
  }

  start(): void {
    this.off ??= onWriteFailure((e) => this.record(e));
  }

  stop(): void {
    this.off?.();
    this.off = null;
  }

  status(): WriteFailureView {
    return { count: this.view.count, last: this.view.last && { ...this.view.last } };
  }

  private record(e: WriteFailedError): void {
    const last = { at: this.clock.now(), path: e.path, code: e.code, error: e.message };
    this.view = { count: this.view.count + 1, last };
    this.log.error(
      { path: e.path, code: e.code, err: e.message },
      e.code === "disk_full"
        ? "disk full: a file could not be written (the old one is kept)"
        : "a file could not be written (the old one is kept)",
    );
    try {
      this.event("disk.write_failed", { path: e.path, code: e.code, errno: e.errno, error: e.message });
    } catch {
      /* the store itself may be on the full disk: the log line above has it */
    }
  }
}
