import type { AccountService } from "../accounts/account-service.js";
import type { Config } from "../config/types.js";
import type { SessionService } from "../sessions/session-service.js";
import type { SwapService } from "../sessions/swap.js";
import type { AccountChoice, AccountChooser } from "../sessions/types.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { DEFAULT_FORECAST, forecastWindow } from "./forecast.js";
import { accountPressure, chooseInitialAccount, planTick } from "./policy.js";
import type {
  AccountForecasts, PolicyAccount, PolicyDecision, PolicyParams, PolicySession, UsageFigures, WindowFigure, WindowForecast,
} from "./policy-types.js";
import type { UsagePoller } from "./usage-poller.js";

const HOUR = 3_600_000;

/** Utilization one moved session is assumed to add to its target's 5-hour window while planning a tick. */
export const LOAD_PER_SESSION = 0.05;

export function policyParams(c: Config): PolicyParams {
  return {
    window5hThreshold: c.quota.window_5h_threshold, windowWeekThreshold: c.quota.window_week_threshold,
    hysteresis: c.quota.hysteresis, minDwellMs: c.quota.min_dwell, staleAfterMs: c.quota.stale_after,
    reactivateCooldownMs: c.quota.reactivate_cooldown, loadPerSession: LOAD_PER_SESSION, minRunwayMs: c.quota.min_runway,
  };
}

/** One window as `status`/`accounts` show it: utilization 0..1, burn per hour (fraction), times in epoch ms. */
export interface WindowView { utilization: number; burnPerHour: number | null; exhaustAt: number | null; resetsAt: number | null }

// The figures' utilization and reset (what the policy sees), with the forecast's burn and exhaustion.
function windowView(w: WindowFigure | null, f: WindowForecast | null | undefined): WindowView | null {
  if (!w && !f) return null;
  return {
    utilization: w?.utilization ?? f!.utilization, burnPerHour: f?.burnPerHour ?? null, exhaustAt: f?.exhaustAt ?? null,
    resetsAt: w?.resetsAt ?? f?.resetsAt ?? null,
  };
}

/** Every window of an account for display, keyed like UsageFigures. */
export function forecastView(figures: UsageFigures, forecasts: AccountForecasts | undefined) {
  const perModelWeekly: Record<string, WindowView> = {};
  for (const model of new Set([...Object.keys(figures.perModelWeekly), ...Object.keys(forecasts?.perModelWeekly ?? {})])) {
    const v = windowView(figures.perModelWeekly[model] ?? null, forecasts?.perModelWeekly[model]);
    if (v) perModelWeekly[model] = v;
  }
  return { fiveHour: windowView(figures.fiveHour, forecasts?.fiveHour), sevenDay: windowView(figures.sevenDay, forecasts?.sevenDay), perModelWeekly };
}

/**
 * The quota monitor: fuses the usage figures, local prompt counts and account states into the pure
 * policy's input, logs every decision (including "stay" and why) when it changes, and carries out the
 * moves through the swap service, re-checking the source account just before acting. It is also the
 * account chooser for new sessions and swaps.
 */
export class QuotaService implements AccountChooser {
  private lastLogged = new Map<string, string>();
  private acting = new Set<string>();
  private ticking = false;
  lastDecisions: PolicyDecision[] = [];
  lastTickMs = 0;

  constructor(
    private readonly store: Store,
    private readonly accounts: AccountService,
    private readonly sessions: SessionService,
    private readonly swaps: SwapService,
    readonly poller: UsagePoller,
    private readonly clock: Clock,
    private readonly log: Logger,
    private params: PolicyParams,
    private limitsOf: (account: string) => { hourly_msgs: number; weekly_msgs: number },
  ) {}

  setParams(p: PolicyParams): void {
    this.params = p;
  }

  policyAccounts(now: number): PolicyAccount[] {
    return this.accounts.names().map((name) => this.policyAccount(name, now));
  }

  /** Whether a CLI of ours runs on `account` (its status line would feed figures). */
  private hasLiveSession(account: string): boolean {
    return this.sessions.list().some((s) => s.account === account && s.state !== "exited" && s.state !== "failed" && s.state !== "parked");
  }

  private policyAccount(name: string, now: number): PolicyAccount {
    const row = this.accounts.row(name);
    const cfg = this.accounts.config(name)!;
    const snap = this.poller.snapshot(name);
    return {
      name, priority: cfg.priority, state: row.state, stateUntil: row.stateUntil,
      figures: snap.figures,
      hourlyCount: this.store.countPrompts(name, now - HOUR),
      weeklyCount: this.store.countPrompts(name, now - 7 * 24 * HOUR),
      limits: this.limitsOf(name),
      window5hThreshold: cfg.window_5h_threshold, windowWeekThreshold: cfg.window_week_threshold,
      figuresUnknown: snap.status === "token_expired" ? "token_expired" : snap.figures.fetchedAt === null && !this.hasLiveSession(name) ? "no_reading" : null,
      forecasts: this.forecasts(name, snap.figures, now),
    };
  }

  /** Each window's forecast from the samples of the last DEFAULT_FORECAST.lookbackMs (store.usageSamples). */
  forecasts(account: string, figures: UsageFigures, now: number): AccountForecasts {
    const since = now - DEFAULT_FORECAST.lookbackMs;
    const of = (window: string): WindowForecast | null => forecastWindow(this.store.usageSamples(account, window, since), now, DEFAULT_FORECAST);
    const perModelWeekly: Record<string, WindowForecast> = {};
    for (const model of Object.keys(figures.perModelWeekly)) {
      const f = of(`seven_day_${model}`);
      if (f) perModelWeekly[model] = f;
    }
    return { fiveHour: of("five_hour"), sevenDay: of("seven_day"), perModelWeekly };
  }

  policySessions(): PolicySession[] {
    const moving = new Map(this.store.unfinishedSwaps().map((sw) => [sw.session, sw.toAccount]));
    return this.sessions.list().map((s) => ({
      name: s.name, account: s.account,
      state: s.state === "stopped" ? "exited" : s.state,
      lastMoveAt: s.lastMoveAt, hardLimited: s.state === "limited", swapping: !!this.sessions.lockedBy(s.name),
      movingTo: moving.get(s.name) ?? null,
    }));
  }

  choose(opts: { preferred?: string | null; exclude?: string[] }): AccountChoice {
    const now = this.clock.now();
    const exclude = new Set(opts.exclude ?? []);
    const accounts = this.policyAccounts(now).filter((a) => !exclude.has(a.name));
    // A configured preference wins whenever the account can take the session at all (even before its
    // first usage reading); the policy's ranking decides only without one.
    const pref = accounts.find((a) => a.name === opts.preferred);
    if (pref) {
      const p = accountPressure(pref, this.params, now);
      if (p.usable || p.lastResort) return { ok: true, account: pref.name };
    }
    const c = chooseInitialAccount(accounts, this.params, now, opts.preferred ?? undefined);
    if ("account" in c) return { ok: true, account: c.account };
    return { ok: false, resumeAt: c.resumeAt, reason: c.reasons.slice(0, 4).join("; ") };
  }

  /** One policy tick: plan, log changed decisions, start the moves (without waiting for them). */
  async tick(): Promise<PolicyDecision[]> {
    if (this.ticking) return [];
    this.ticking = true;
    try {
      const now = this.clock.now();
      const t0 = performance.now();
      const decisions = planTick({ accounts: this.policyAccounts(now), sessions: this.policySessions(), params: this.params }, now);
      this.lastTickMs = performance.now() - t0;
      this.lastDecisions = decisions;
      for (const d of decisions) this.logDecision(d, now);
      for (const d of decisions) if (d.kind === "move" && !this.acting.has(d.session)) void this.act(d);
      return decisions;
    } finally {
      this.ticking = false;
    }
  }

  private logDecision(d: PolicyDecision, now: number): void {
    // Ticks are frequent, inputs change only with a poll, a prompt or a state change: log a session's
    // decision when it (or its reasons, figures included) differs from the one logged last.
    const key = `${d.kind}|${d.kind === "move" ? d.to : ""}|${d.reasons.join(";")}`;
    if (this.lastLogged.get(d.session) === key) return;
    this.lastLogged.set(d.session, key);
    const account = d.kind === "move" ? d.from : d.account;
    this.store.appendEvent(now, `quota.decision.${d.kind}`, d.session, account, { ...d });
  }

  private async act(d: Extract<PolicyDecision, { kind: "move" }>): Promise<void> {
    this.acting.add(d.session);
    try {
      // Figures lag and time passes between planning and acting: re-check the source account.
      const now = this.clock.now();
      const src = this.policyAccounts(now).find((a) => a.name === d.from);
      const row = this.sessions.get(d.session);
      if (!row || row.account !== d.from) return;
      // Its running turn got through: let it finish rather than cut it (the swap would Escape it and the
      // model would be asked again). A refusal inside the turn goes to the limit reactor; an idle session moves.
      if (d.hard && row.state === "busy") return;
      if (src && !d.hard) {
        const p = accountPressure(src, this.params, now);
        if (!p.over && this.accounts.row(d.from).state !== "disabled") {
          this.store.appendEvent(now, "quota.decision.cancelled", d.session, d.from, { reason: `${d.from} no longer over on re-check`, reasons: p.reasons });
          return;
        }
      }
      const out = await this.swaps.swap({ session: d.session, to: d.to, reason: d.hard ? "quota_hard" : "quota_threshold", urgent: false, hard: d.hard });
      if (out.ok) this.poller.pollSoon(d.to);
      else this.log.info({ session: d.session, outcome: out.outcome, reason: out.reason }, "planned move not made");
    } catch (e) {
      this.log.error({ session: d.session, err: errorMessage(e) }, "quota move failed");
    } finally {
      this.acting.delete(d.session);
    }
  }

  /** For status: the fused view of one account. */
  view(account: string) {
    const now = this.clock.now();
    const snap = this.poller.snapshot(account);
    const pa = this.accounts.config(account) ? this.policyAccount(account, now) : undefined;
    const pressure = pa ? accountPressure(pa, this.params, now) : null;
    const f = snap.figures;
    return {
      source: f.source, fetchedAt: f.fetchedAt, ageMs: f.fetchedAt ? now - f.fetchedAt : null, status: snap.status,
      error: snap.error, nextPollAt: snap.nextPollAt, backoffMs: snap.backoffMs,
      fiveHour: f.fiveHour, sevenDay: f.sevenDay, perModelWeekly: f.perModelWeekly,
      hourlyCount: pa?.hourlyCount ?? 0, weeklyCount: pa?.weeklyCount ?? 0, limits: this.limitsOf(account),
      over: pressure?.over ?? false, usable: pressure?.usable ?? false, headroom: pressure?.headroom ?? null, reasons: pressure?.reasons ?? [],
      forecast: pa ? forecastView(f, pa.forecasts) : null,
    };
  }
}
