// Rows as the rest of the daemon sees them (camelCase), independent of column names.
export type SessionKind = "dedicated" | "autonomous";
export type SessionState =
  "starting" | "idle" | "busy" | "waiting" | "limited" | "exited" | "failed" | "parked" | "swapping" | "stopped";
export type AccountState = "active" | "cooldown" | "exhausted" | "revoked" | "disabled";

export interface SessionRow {
  name: string;
  kind: SessionKind;
  project: string;
  account: string | null;
  claudeSessionId: string | null;
  transcriptPath: string | null;
  state: SessionState;
  stateReason: string | null;
  lastPrompt: string | null;
  lastPromptAt: number | null;
  lastPromptAnswered: boolean;
  failedPrompt: string | null;
  lastActivity: number | null;
  lastMoveAt: number | null;
  parkedUntil: number | null;
  restarts: number;
  /** true once the CLI has been launched with --session-id (so later launches use --resume) */
  started: boolean;
  /** the current launch of the CLI (CLAUDE_FAILOVER_LAUNCH, in each hook event's spool name), null before the first */
  launchId: string | null;
  /** when that launch started (epoch ms) */
  launchedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface AccountRow {
  name: string;
  state: AccountState;
  stateUntil: number | null;
  stateReason: string | null;
  updatedAt: number;
  /** While revoked: the fingerprint of the credentials file at revocation (null: none, or not recorded). */
  revokedCreds: string | null;
}

export interface EventRow {
  id: number;
  ts: number;
  kind: string;
  session: string | null;
  account: string | null;
  data: Record<string, unknown>;
}

export interface SwapStep {
  step: string;
  at: number;
  ms: number;
  note?: string;
}

export interface SwapRow {
  id: number;
  session: string;
  fromAccount: string | null;
  toAccount: string;
  reason: string;
  urgent: boolean;
  startedAt: number;
  endedAt: number | null;
  step: string;
  outcome: "ok" | "rolled_back" | "parked" | "failed" | null;
  error: string | null;
  steps: SwapStep[];
  resend: string | null;
}
