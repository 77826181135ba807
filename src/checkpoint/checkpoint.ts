import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { SessionRow } from "../store/types.js";
import { writeFileAtomic } from "../util/fs-atomic.js";

export const CHECKPOINT_VERSION = 1;

/** Everything needed to bring a session back: who it is, where its conversation lives, what it was doing. */
export interface Checkpoint {
  version: number;
  takenAt: number;
  reason: string;
  session: {
    name: string;
    kind: SessionRow["kind"];
    project: string;
    account: string | null;
    claudeSessionId: string | null;
    transcriptPath: string | null;
    transcriptSize: number | null;
    state: SessionRow["state"];
    lastPrompt: string | null;
    lastPromptAt: number | null;
    lastPromptAnswered: boolean;
    failedPrompt: string | null;
  };
  pane: { visible: string; scrollback: string } | null;
}

export function buildCheckpoint(row: SessionRow, pane: Checkpoint["pane"], now: number, reason: string): Checkpoint {
  let transcriptSize: number | null = null;
  if (row.transcriptPath) {
    try {
      transcriptSize = statSync(row.transcriptPath).size;
    } catch {
      transcriptSize = null;
    }
  }
  return {
    version: CHECKPOINT_VERSION,
    takenAt: now,
    reason,
    session: {
      name: row.name,
      kind: row.kind,
      project: row.project,
      account: row.account,
      claudeSessionId: row.claudeSessionId,
      transcriptPath: row.transcriptPath,
      transcriptSize,
      state: row.state,
      lastPrompt: row.lastPrompt,
      lastPromptAt: row.lastPromptAt,
      lastPromptAnswered: row.lastPromptAnswered,
      failedPrompt: row.failedPrompt,
    },
    pane,
  };
}

/** Sortable, unique-enough file names: the ISO time with ':' and '.' made file-safe, plus a counter. */
function fileName(now: number, seq: number): string {
  return `${new Date(now).toISOString().replace(/[:.]/g, "-")}-${String(seq).padStart(4, "0")}.json`;
}

export class CheckpointFiles {
  private seq = 0;
  constructor(
    readonly dir: string,
    private keep: number,
  ) {}

  setKeep(keep: number): void {
    this.keep = keep;
  }

  sessionDir(name: string): string {
    return join(this.dir, name);
  }

  /** Written atomically (temp + rename), then the oldest beyond `keep` are pruned. */
  write(cp: Checkpoint): string {
    const dir = this.sessionDir(cp.session.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.seq = (this.seq + 1) % 10000;
    const path = join(dir, fileName(cp.takenAt, this.seq));
    writeFileAtomic(path, JSON.stringify(cp, null, 2), 0o600);
    this.prune(cp.session.name);
    return path;
  }

  list(name: string): string[] {
    try {
      return readdirSync(this.sessionDir(name))
        .filter((f) => f.endsWith(".json") && !f.startsWith("."))
        .sort();
    } catch {
      return [];
    }
  }

  prune(name: string): void {
    const files = this.list(name);
    for (const f of files.slice(0, Math.max(0, files.length - this.keep))) {
      try {
        unlinkSync(join(this.sessionDir(name), f));
      } catch {
        /* gone */
      }
    }
  }

  /** The newest readable checkpoint; corrupt ones are skipped and reported through `onCorrupt`. */
  latest(name: string, onCorrupt?: (file: string, why: string) => void): Checkpoint | null {
    const files = this.list(name).reverse();
    for (const f of files) {
      const path = join(this.sessionDir(name), f);
      try {
        const cp = JSON.parse(readFileSync(path, "utf8")) as Checkpoint;
        if (cp?.version !== CHECKPOINT_VERSION || cp.session?.name !== name || typeof cp.takenAt !== "number") {
          throw new Error("not a checkpoint of this session");
        }
        return cp;
      } catch (e) {
        onCorrupt?.(path, e instanceof Error ? e.message : String(e));
      }
    }
    return null;
  }
}
