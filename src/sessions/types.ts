import type { SessionKind } from "../store/types.js";

export interface SessionSpec {
  name: string;
  kind: SessionKind;
  project: string;
  /** preferred account, if any */
  account: string | null;
  args: string[];
}

export type AccountChoice = { ok: true; account: string } | { ok: false; resumeAt: number | null; reason: string };

/** Picks the account a session starts (or moves) on. The quota service implements it. */
export interface AccountChooser {
  choose(opts: { preferred?: string | null; exclude?: string[]; session?: string }): AccountChoice;
}

export interface SessionTuning {
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  crashLoopRestarts: number;
  crashLoopWindowMs: number;
  startTimeoutMs: number;
}
