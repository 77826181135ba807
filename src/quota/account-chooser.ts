import type { AccountService } from "../accounts/account-service.js";
import type { AccountLimits } from "../config/params.js";
import type { Store } from "../store/store.js";
import type { SessionRow } from "../store/types.js";
import type { AccountChoice, AccountChooser } from "../sessions/types.js";
import type { Clock } from "../util/clock.js";
import { DEFAULT_FORECAST, forecastWindow } from "./forecast.js";
import { accountPressure, chooseInitialAccount } from "./policy.js";
import type {
  AccountForecasts,
  OtherBoxReservation,
  PolicyAccount,
  PolicyParams,
  UsageFigures,
  WindowFigure,
  WindowForecast,
} from "./policy-types.js";
import type { UsageSnapshot } from "./usage-poller.js";

const HOUR = 3_600_000;
const NO_LIMITS: AccountLimits = { hourly_msgs: 0, weekly_msgs: 0 };

/** One window as `status`/`accounts` show it: utilization 0..1, burn per hour (fraction), times in epoch ms. */
export interface WindowView {
  utilization: number;
  burnPerHour: number | null;
  exhaustAt: number | null;
  resetsAt: number | null;
}

// The figures' utilization and reset (what the policy sees), with the forecast's burn and exhaustion.
function windowView(w: WindowFigure | null, f: WindowForecast | null | undefined): WindowView | null {
  if (!w && !f) return null;
  return {
    utilization: w?.utilization ?? f!.utilization,
    burnPerHour: f?.burnPerHour ?? null,
    exhaustAt: f?.exhaustAt ?? null,
    resetsAt: w?.resetsAt ?? f?.resetsAt ?? null,
  };
}

/** Every window of an account for display, keyed like UsageFigures. */
export function forecastView(figures: UsageFigures, forecasts: AccountForecasts | undefined) {
  const perModelWeekly: Record<string, WindowView> = {};
  for (const model of new Set([
    ...Object.keys(figures.perModelWeekly),
    ...Object.keys(forecasts?.perModelWeekly ?? {}),
  ])) {
    const v = windowView(figures.perModelWeekly[model] ?? null, forecasts?.perModelWeekly[model]);
    if (v) perModelWeekly[model] = v;
  }
  return {
    fiveHour: windowView(figures.fiveHour, forecasts?.fiveHour),
    sevenDay: windowView(figures.sevenDay, forecasts?.sevenDay),
    perModelWeekly,
  };
}

/** What account choice reads: accounts, their figures and prompt counts, and which accounts a CLI of ours runs on. */
export interface ChooserDeps {
  store: Store;
  accounts: AccountService;
  /** the latest usage figures of an account and the backstop's status (UsagePoller.snapshot) */
  figures: { snapshot(account: string): UsageSnapshot };
  /**
   * The rows of the sessions the daemon supervises (what SessionService.list returns): an account with a
   * live CLI of ours gets figures from its status line, so "never read" is not held against it.
   */
  sessionRows: () => SessionRow[];
  clock: Clock;
  /** other boxes' planned-move reservations as of the last BoxSync round (issue 19); absent on one box */
  reservations?: () => readonly OtherBoxReservation[];
}

export interface ChooserOptions {
  /** config/params.ts policyParams */
  params: PolicyParams;
  /** config/params.ts accountLimits: local message caps by account */
  limits: Map<string, AccountLimits>;
}

/**
 * Account choice: which account a new session, a respawn or a swap should run on. Reads the accounts,
 * their usage figures and prompt counts and asks the pure policy (policy.ts); it acts on nothing, so it
 * is built before the services that use it (sessions, swaps, the limit reactor, the quota monitor).
 */
export class QuotaChooser implements AccountChooser {
  private opts: ChooserOptions;

  constructor(
    private readonly deps: ChooserDeps,
    opts: ChooserOptions,
  ) {
    this.opts = opts;
  }

  /** A reloaded config (config/params.ts): new thresholds and caps apply to the next choice. */
  configure(opts: ChooserOptions): void {
    this.opts = opts;
  }

  get params(): PolicyParams {
    return this.opts.params;
  }

  limitsOf(account: string): AccountLimits {
    return this.opts.limits.get(account) ?? NO_LIMITS;
  }

  policyAccounts(now: number): PolicyAccount[] {
    return this.deps.accounts.names().map((name) => this.policyAccount(name, now));
  }

  /** Whether a CLI of ours runs on `account` (its status line would feed figures). */
  private hasLiveSession(account: string): boolean {
    return this.deps
      .sessionRows()
      .some((s) => s.account === account && s.state !== "exited" && s.state !== "failed" && s.state !== "parked");
  }

  private policyAccount(name: string, now: number): PolicyAccount {
    const { accounts, store } = this.deps;
    const row = accounts.row(name);
    const cfg = accounts.config(name)!;
    const snap = this.deps.figures.snapshot(name);
    return {
      name,
      priority: cfg.priority,
      state: row.state,
      stateUntil: row.stateUntil,
      figures: snap.figures,
      hourlyCount: store.countPrompts(name, now - HOUR),
      weeklyCount: store.countPrompts(name, now - 7 * 24 * HOUR),
      limits: this.limitsOf(name),
      window5hThreshold: cfg.window_5h_threshold,
      windowWeekThreshold: cfg.window_week_threshold,
      figuresUnknown:
        snap.status === "token_expired"
          ? "token_expired"
          : snap.figures.fetchedAt === null && !this.hasLiveSession(name)
            ? "no_reading"
            : null,
      forecasts: this.forecasts(name, snap.figures, now),
    };
  }

  /** Each window's forecast from the samples of the last DEFAULT_FORECAST.lookbackMs (store.usageSamples). */
  forecasts(account: string, figures: UsageFigures, now: number): AccountForecasts {
    const since = now - DEFAULT_FORECAST.lookbackMs;
    const of = (window: string): WindowForecast | null =>
      forecastWindow(this.deps.store.usageSamples(account, window, since), now, DEFAULT_FORECAST);
    const perModelWeekly: Record<string, WindowForecast> = {};
    for (const model of Object.keys(figures.perModelWeekly)) {
      const f = of(`seven_day_${model}`);
      if (f) perModelWeekly[model] = f;
    }
    return { fiveHour: of("five_hour"), sevenDay: of("seven_day"), perModelWeekly };
  }

  choose(opts: { preferred?: string | null; exclude?: string[] }): AccountChoice {
    const now = this.deps.clock.now();
    const exclude = new Set(opts.exclude ?? []);
    const accounts = this.policyAccounts(now).filter((a) => !exclude.has(a.name));
    // A configured preference wins whenever the account can take the session at all (even before its
    // first usage reading); the policy's ranking decides only without one.
    const pref = accounts.find((a) => a.name === opts.preferred);
    if (pref) {
      const p = accountPressure(pref, this.opts.params, now);
      if (p.usable || p.lastResort) return { ok: true, account: pref.name };
    }
    const c = chooseInitialAccount(
      accounts,
      this.opts.params,
      now,
      opts.preferred ?? undefined,
      this.deps.reservations?.() ?? [],
    );
    if ("account" in c) return { ok: true, account: c.account };
    return { ok: false, resumeAt: c.resumeAt, reason: c.reasons.slice(0, 4).join("; ") };
  }

  /** For status: the fused view of one account. */
  view(account: string) {
    const now = this.deps.clock.now();
    const snap = this.deps.figures.snapshot(account);
    const pa = this.deps.accounts.config(account) ? this.policyAccount(account, now) : undefined;
    const pressure = pa ? accountPressure(pa, this.opts.params, now) : null;
    const f = snap.figures;
    return {
      source: f.source,
      fetchedAt: f.fetchedAt,
      ageMs: f.fetchedAt ? now - f.fetchedAt : null,
      status: snap.status,
      error: snap.error,
      nextPollAt: snap.nextPollAt,
      backoffMs: snap.backoffMs,
      fiveHour: f.fiveHour,
      sevenDay: f.sevenDay,
      perModelWeekly: f.perModelWeekly,
      hourlyCount: pa?.hourlyCount ?? 0,
      weeklyCount: pa?.weeklyCount ?? 0,
      limits: this.limitsOf(account),
      over: pressure?.over ?? false,
      usable: pressure?.usable ?? false,
      headroom: pressure?.headroom ?? null,
      reasons: pressure?.reasons ?? [],
      forecast: pa ? forecastView(f, pa.forecasts) : null,
    };
  }
}
