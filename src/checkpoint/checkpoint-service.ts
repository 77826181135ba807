import { Cron } from "croner";
import type { SessionRow } from "../store/types.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { buildCheckpoint, type Checkpoint, CheckpointFiles } from "./checkpoint.js";

/**
 * What checkpoints need of the sessions (SessionService provides it): their rows, the event log.
 * A narrow interface so checkpoint/ does not import sessions/ (sessions/swap.ts imports checkpoint/).
 */
export interface CheckpointSessions {
  get(name: string): SessionRow | undefined;
  list(): SessionRow[];
  event(kind: string, session: string | null, account: string | null, data?: Record<string, unknown>): void;
}

/** CheckpointService's collaborators. */
export interface CheckpointDeps {
  sessions: CheckpointSessions;
  /** the sessions' panes, whose text a checkpoint keeps */
  pane: Pick<Pane, "capture">;
  clock: Clock;
  log: Logger;
}

/** CheckpointService's parameters (config/params.ts checkpointParams; configure() changes the last two). */
export interface CheckpointOptions {
  /** checkpoint.dir */
  dir: string;
  /** how many checkpoints are kept per session */
  keep: number;
  /** how many lines of a pane's scrollback a checkpoint keeps */
  scrollbackLines: number;
}

/** Periodic (croner) and on-demand checkpoints of every live session; the swap takes one first. */
export class CheckpointService {
  readonly files: CheckpointFiles;
  private job: Cron | null = null;

  private scrollbackLines: number;
  private readonly sessions: CheckpointSessions;
  private readonly pane: Pick<Pane, "capture">;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(deps: CheckpointDeps, opts: CheckpointOptions) {
    this.sessions = deps.sessions;
    this.pane = deps.pane;
    this.clock = deps.clock;
    this.log = deps.log;
    this.scrollbackLines = opts.scrollbackLines;
    this.files = new CheckpointFiles(opts.dir, opts.keep);
  }

  configure(keep: number, scrollbackLines: number): void {
    this.files.setKeep(keep);
    this.scrollbackLines = scrollbackLines;
  }

  start(intervalMs: number): void {
    this.job?.stop();
    // croner's `interval` spaces runs by at least that many seconds on a once-a-second pattern.
    this.job = new Cron(
      "* * * * * *",
      { interval: Math.max(1, Math.round(intervalMs / 1000)), protect: true, catch: true },
      () => {
        void this.takeAll("periodic");
      },
    );
  }

  stop(): void {
    this.job?.stop();
    this.job = null;
  }

  async take(name: string, reason: string): Promise<{ path: string; checkpoint: Checkpoint }> {
    return this.save(await this.capture(name, reason));
  }

  /**
   * A checkpoint of the session as it is now (its row, its pane), not yet written: take() is capture + save.
   * A swap captures before its old CLI is gone and saves once the new one is launched, so the synchronous,
   * fsynced write does not hold up the respawn. Throws CfError("no_such_session").
   */
  async capture(name: string, reason: string): Promise<Checkpoint> {
    const row = this.sessions.get(name);
    if (!row) throw new CfError("no_such_session", `no session named ${name}`);
    let pane: Checkpoint["pane"];
    try {
      const visible = await this.pane.capture(name);
      const scrollback = this.scrollbackLines > 0 ? await this.pane.capture(name, this.scrollbackLines) : visible;
      pane = { visible, scrollback };
    } catch {
      pane = null; // no tmux session right now: the store still knows enough to restore
    }
    return buildCheckpoint(row, pane, this.clock.now(), reason);
  }

  /** Writes a captured checkpoint (atomically; blocks for the fsyncs) and records the event; throws what the write throws. */
  save(cp: Checkpoint): { path: string; checkpoint: Checkpoint } {
    const path = this.files.write(cp);
    this.sessions.event("checkpoint.taken", cp.session.name, cp.session.account, { path, reason: cp.reason });
    return { path, checkpoint: cp };
  }

  async takeAll(reason: string): Promise<number> {
    let n = 0;
    for (const s of this.sessions.list()) {
      if (s.state === "stopped") continue;
      try {
        await this.take(s.name, reason);
        n++;
      } catch (e) {
        this.log.warn({ session: s.name, err: errorMessage(e) }, "checkpoint failed");
      }
    }
    return n;
  }

  latest(name: string): Checkpoint | null {
    return this.files.latest(name, (file, why) => {
      this.log.warn({ session: name, file, why }, "skipping corrupt checkpoint");
      this.sessions.event("checkpoint.corrupt", name, null, { file, why });
    });
  }
}
