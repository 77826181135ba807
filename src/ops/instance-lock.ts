// One daemon per state dir (issue 14). Node has no flock(2); SQLite has the kernel's fcntl locks, held by
// this process for as long as the connection is open and dropped by the kernel when the process dies
// (SIGKILL, OOM, power cut): no stale lock to guess about, no PID-reuse race. See docs/architecture.md.
import Database from "better-sqlite3";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { CfError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs-atomic.js";

/** Exit status of a daemon that finds another one on its state dir (systemd: RestartPreventExitStatus=2). */
export const EXIT_LOCKED = 2;

/** Thrown by acquire: `holderPid` is the running daemon's PID, or null if it could not be read in time. */
export class InstanceLockedError extends CfError {
  constructor(
    readonly lockPath: string,
    readonly holderPid: number | null,
  ) {
    super(
      "daemon_running",
      holderPid
        ? `another claude-failover daemon (PID ${holderPid}) is running on this state dir (it holds ${lockPath})`
        : `another claude-failover daemon is running on this state dir (it holds ${lockPath}; its PID is not known yet)`,
    );
  }
}

/**
 * The exclusive lock on the lock file (config/paths.ts lockFile, `<state_dir>/daemon.lock`): an SQLite connection in EXCLUSIVE locking mode inside an
 * open EXCLUSIVE transaction (no journal file: journal_mode MEMORY). Another process, or another
 * connection in this one, gets SQLITE_BUSY at once. The lock file must never be opened any other way in
 * this process: closing any descriptor of a file drops the process's fcntl locks on it.
 */
export class InstanceLock {
  private constructor(
    private db: Database.Database | null,
    readonly pidFile: string,
  ) {}

  /**
   * Takes the lock, then writes the PID file (`daemon.pid`, 0600). The state dir must exist. Throws InstanceLockedError
   * when another daemon holds it; waits up to `pidWaitMs` for that daemon's PID file (it writes it just
   * after taking the lock).
   */
  static acquire(
    files: { lockFile: string; pidFile: string },
    opts: { pid?: number; pidWaitMs?: number } = {},
  ): InstanceLock {
    const path = files.lockFile;
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma("journal_mode = MEMORY");
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
    } catch (e) {
      db.close();
      if ((e as { code?: string }).code !== "SQLITE_BUSY")
        throw new CfError("lock_failed", `cannot lock ${path}: ${(e as Error).message}`, { cause: e });
      throw new InstanceLockedError(path, waitForHolder(files.pidFile, opts.pidWaitMs ?? 500));
    }
    writeFileAtomic(files.pidFile, `${opts.pid ?? process.pid}\n`, 0o600);
    return new InstanceLock(db, files.pidFile);
  }

  /** Removes the PID file and drops the lock (idempotent). */
  release(): void {
    if (!this.db) return;
    rmSync(this.pidFile, { force: true });
    this.db.close();
    this.db = null;
  }
}

/** The PID in `daemon.pid` if it names a live process, polling until `waitMs` has passed. */
function waitForHolder(pidFile: string, waitMs: number): number | null {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const pid = readPid(pidFile);
    if (pid !== null && alive(pid)) return pid;
    if (Date.now() >= deadline) return pid;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // start-up only: a short synchronous pause
  }
}

function readPid(path: string): number | null {
  if (!existsSync(path)) return null;
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
