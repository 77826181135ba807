import type { AccountService } from "../accounts/account-service.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { nextBackoff, nextInterval, pickDue, type PollParams } from "./poll-schedule.js";
import type { UsageFigures } from "./policy-types.js";
import type { UsageSource } from "./usage-client.js";

export interface UsageSnapshot {
  figures: UsageFigures;
  /** ok: fresh reading; unavailable: the endpoint refuses this token (401/403); error / backoff: failing */
  status: "ok" | "unavailable" | "error" | "backoff" | "never";
  error: string | null;
  errorAt: number | null;
  nextPollAt: number | null;
  backoffMs: number;
}

const EMPTY: UsageFigures = { fiveHour: null, sevenDay: null, perModelWeekly: {}, fetchedAt: null, source: "none" };

/**
 * Polls the usage endpoint for every account, one request at a time with a minimum gap (the endpoint is
 * rate-limited per IP), live accounts first; keeps last-known-good figures with their age; backs off on
 * 429 (honouring retry-after, for all accounts: the limit is per IP) and on errors; marks figures
 * unavailable on 401/403 without touching the account's state.
 */
export class UsagePoller {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private globalNotBefore = 0;
  private lastRequestAt = 0;
  pollErrors = 0;
  requests = 0;
  onUpdate: ((account: string) => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly accounts: AccountService,
    private source: UsageSource,
    private readonly clock: Clock,
    private readonly log: Logger,
    private params: PollParams,
    private readonly liveAccounts: () => Set<string>,
    private readonly gapMs = 1000,
  ) {}

  configure(source: UsageSource, params: PollParams): void {
    this.source = source;
    this.params = params;
  }

  start(tickMs = 500): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  snapshot(account: string): UsageSnapshot {
    const row = this.store.getUsage(account);
    if (!row) return { figures: EMPTY, status: "never", error: null, errorAt: null, nextPollAt: null, backoffMs: 0 };
    const figures = (row.figures as UsageFigures | null) ?? EMPTY;
    const failing = row.error !== null && (row.errorAt ?? 0) >= (row.fetchedAt ?? 0);
    const status = !failing ? (row.fetchedAt ? "ok" : "never") : row.source === "unavailable" ? "unavailable" : row.backoffMs > 0 ? "backoff" : "error";
    return { figures: { ...figures, source: row.fetchedAt ? "usage_api" : "none" }, status, error: row.error, errorAt: row.errorAt, nextPollAt: row.nextPollAt, backoffMs: row.backoffMs };
  }

  /** One step of the loop: poll at most one due account. */
  async tick(): Promise<void> {
    if (this.running) return;
    const now = this.clock.now();
    if (now < this.globalNotBefore || now - this.lastRequestAt < this.gapMs) return;
    const live = this.liveAccounts();
    const items = this.accounts.names().map((name) => {
      const r = this.store.getUsage(name);
      return { name, dueAt: r?.nextPollAt ?? 0, live: live.has(name) };
    });
    const due = pickDue(items, now);
    if (!due) return;
    this.running = true;
    try {
      await this.pollOne(due.name, due.live);
    } catch (e) {
      this.log.error({ account: due.name, err: errorMessage(e) }, "usage poll failed");
    } finally {
      this.running = false;
    }
  }

  async pollOne(account: string, live: boolean): Promise<void> {
    const prev = this.store.getUsage(account);
    const base = {
      account, figures: prev?.figures ?? EMPTY, fetchedAt: prev?.fetchedAt ?? null, source: prev?.source ?? "none",
      error: prev?.error ?? null, errorAt: prev?.errorAt ?? null, backoffMs: prev?.backoffMs ?? 0,
    };
    const creds = this.accounts.credentials(account);
    const now0 = this.clock.now();
    if (!creds.ok) {
      this.store.putUsage({ ...base, error: creds.detail, errorAt: now0, source: "unavailable", nextPollAt: now0 + this.params.maxMs });
      return;
    }
    this.lastRequestAt = now0;
    this.requests++;
    const r = await this.source(creds.creds.accessToken);
    const now = this.clock.now();
    if (r.ok) {
      const f = r.figures;
      const weekly = Math.max(f.sevenDay?.utilization ?? 0, ...Object.values(f.perModelWeekly).map((w) => w.utilization));
      const next = now + nextInterval(this.params, live, f.fiveHour?.utilization ?? null, weekly);
      this.store.putUsage({ account, figures: f, fetchedAt: now, source: "usage_api", error: null, errorAt: null, nextPollAt: next, backoffMs: 0 });
      this.onUpdate?.(account);
      return;
    }
    this.pollErrors++;
    if (r.kind === "rate_limited") {
      const wait = r.retryAfterMs || nextBackoff(this.params, base.backoffMs);
      this.globalNotBefore = now + wait;
      this.store.putUsage({ ...base, error: r.detail, errorAt: now, nextPollAt: now + wait, backoffMs: wait, source: base.source === "unavailable" ? "none" : base.source });
    } else if (r.kind === "unauthorized") {
      // Not an account failure: the CLI may still work with this token (setup-tokens can't read usage).
      this.store.putUsage({ ...base, error: r.detail, errorAt: now, source: "unavailable", nextPollAt: now + this.params.maxMs, backoffMs: 0 });
    } else {
      const backoff = nextBackoff(this.params, base.backoffMs);
      this.store.putUsage({ ...base, error: r.detail, errorAt: now, nextPollAt: now + backoff, backoffMs: backoff, source: base.source === "unavailable" ? "none" : base.source });
    }
    this.store.appendEvent(now, "quota.poll_error", null, account, { kind: r.kind, detail: r.detail });
    this.log.warn({ account, kind: r.kind, detail: r.detail }, "usage poll failed");
  }

  /** Makes an account due now (e.g. a session just moved onto it). */
  pollSoon(account: string): void {
    const r = this.store.getUsage(account);
    if (r && (r.nextPollAt ?? 0) > this.clock.now() && r.backoffMs === 0) this.store.putUsage({ ...r, nextPollAt: this.clock.now() });
  }
}
