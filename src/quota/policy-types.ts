// Inputs and outputs of the quota policy (src/quota/policy.ts). Plain data, so
// the policy can be driven from the store, from tests, and from the benchmark.

import type { WindowForecast } from "./forecast.js";

export type { WindowForecast } from "./forecast.js";

/** One usage window: utilization 0..1, and when it resets (epoch ms) if known. */
export interface WindowFigure {
  utilization: number;
  resetsAt: number | null;
}

export interface UsageFigures {
  fiveHour: WindowFigure | null;
  sevenDay: WindowFigure | null;
  /** Per-model weekly caps, e.g. { opus: …, sonnet: … }. */
  perModelWeekly: Record<string, WindowFigure>;
  /** When the figures were read (epoch ms); null when never. */
  fetchedAt: number | null;
  /** statusline: the CLIs' status-line feed (primary); usage_api: the usage endpoint (backstop). */
  source: "usage_api" | "statusline" | "headers" | "none";
}

export type AccountState = "active" | "cooldown" | "exhausted" | "revoked" | "disabled";

export interface PolicyAccount {
  name: string;
  /** Lower is preferred. */
  priority: number;
  state: AccountState;
  /** End of cooldown / exhaustion (epoch ms); null when open-ended or not applicable. */
  stateUntil: number | null;
  figures: UsageFigures;
  /** Local prompt counts (UserPromptSubmit) for the soft caps. */
  hourlyCount: number;
  weeklyCount: number;
  /** Soft caps; 0 means no cap. */
  limits: { hourly_msgs: number; weekly_msgs: number };
  /** This account's own thresholds (utilization 0..1), overriding PolicyParams' when set. */
  window5hThreshold?: number;
  windowWeekThreshold?: number;
  /**
   * Why the figures are unknown, when that is no reason to avoid the account. token_expired: the access
   * token expired and a refresh token is there (an idle spare: only a running CLI refreshes it, so the
   * usage endpoint can't be asked); it is then a target like an account with fresh figures, ranked after them.
   * no_reading: nothing has ever read its figures (the usage endpoint refuses this client or fails, and no
   * CLI runs on it to feed its status line): an idle spare, usable likewise. Without this, an endpoint that
   * refuses us (docs/claude-code.md) would leave every spare unusable and no threshold move possible.
   */
  figuresUnknown?: "token_expired" | "no_reading" | null;
  /** Burn rate and projected exhaustion per window (quota/forecast.ts); absent or null = no samples. */
  forecasts?: AccountForecasts;
}

/** Forecasts of an account's windows, keyed like UsageFigures. */
export interface AccountForecasts {
  fiveHour: WindowForecast | null;
  sevenDay: WindowForecast | null;
  perModelWeekly: Record<string, WindowForecast>;
}

export type PolicySessionState =
  "starting" | "idle" | "busy" | "waiting" | "limited" | "exited" | "failed" | "parked" | "swapping";

export interface PolicySession {
  name: string;
  account: string | null;
  state: PolicySessionState;
  /** When the session last changed account (epoch ms), persisted across restarts. */
  lastMoveAt: number | null;
  /** The CLI refused a request on its current account. */
  hardLimited: boolean;
  swapping: boolean;
  /** The target of a swap in progress: capacity already spoken for. */
  movingTo?: string | null;
}

export interface PolicyParams {
  /** 5-hour utilization (0..1) at which an account counts as over. */
  window5hThreshold: number;
  /** Weekly utilization (0..1), overall or per model, at which an account counts as over. */
  windowWeekThreshold: number;
  /** A target must sit this far below each threshold (utilization fraction). */
  hysteresis: number;
  /** No optimisation move of a session within this long of its last move. */
  minDwellMs: number;
  /** Figures older than this are not trusted for choosing a target. */
  staleAfterMs: number;
  /** An exhausted account is reused only this long after its reset. */
  reactivateCooldownMs: number;
  /** Utilization fraction one moved session is assumed to add to its target's 5 h window. */
  loadPerSession: number;
  /**
   * A target must last this long (ms) before any window reaches its threshold, at its own burn rate plus
   * the burn of the sessions moved to it (unless the window resets first). 0 turns the rule off.
   */
  minRunwayMs: number;
}

/**
 * Another box's planned move onto an account (issue 19, planning together; the shared store's
 * `MoveReservation`): load its target's figures need not show yet, counted like one of this box's own
 * planned moves while `expiresAt > now`.
 */
export interface OtherBoxReservation {
  account: string;
  box: string;
  /** load in sessions (a move is 1) */
  sessions: number;
  /** epoch ms */
  expiresAt: number;
}

export interface PolicyInput {
  accounts: PolicyAccount[];
  sessions: PolicySession[];
  params: PolicyParams;
  /** other boxes' reservations (store.backend: postgres); absent or empty on one box */
  reservations?: readonly OtherBoxReservation[];
}

export type PolicyDecision =
  | { kind: "move"; session: string; from: string; to: string; hard: boolean; reasons: string[] }
  | { kind: "stay"; session: string; account: string; reasons: string[] }
  | { kind: "park"; session: string; account: string; resumeAt: number | null; reasons: string[] };

export interface AccountPressure {
  /** Past a threshold or a soft cap: sessions should move off when convenient. */
  over: boolean;
  /** Refusing requests now (exhausted, revoked): sessions must move or park. */
  hard: boolean;
  /** A target for any move: state allows it, not over, figures fresh. */
  usable: boolean;
  /** State allows it and not over, but figures are stale or missing: a target for hard moves only. */
  lastResort: boolean;
  /** Smallest distance to any threshold or cap (fraction); 0 when nothing is known. */
  headroom: number;
  /** When the account is expected to be usable again (epoch ms); null when unknown or not blocked. */
  earliestReset: number | null;
  reasons: string[];
}

export type InitialChoice =
  { account: string; reasons: string[] } | { none: true; resumeAt: number | null; reasons: string[] };
