import type { AccountService } from "../accounts/account-service.js";
import type { Store, UsageRow } from "../store/store.js";
import type { Clock, Timer } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import {
  budgetAllows,
  INITIAL_ENDPOINT,
  nextBackoff,
  nextEndpointState,
  nextInterval,
  pickDue,
  REFUSED_TEXT,
  usageChanged,
  type EndpointState,
  type PollParams,
} from "./poll-schedule.js";
import type { UsageFigures } from "./policy-types.js";
import type { UsageSource } from "./usage-client.js";

export interface UsageSnapshot {
  figures: UsageFigures;
  /**
   * ok: fresh reading (endpoint or status-line feed); never: none yet; unavailable: the endpoint
   * refuses this token (401/403) or there are no credentials; token_expired: the access token expired
   * and a refresh token is there (not polled: it would 401; a running CLI refreshes it); refused: the
   * endpoint refuses this client (429 with retry-after 0, repeatedly); error / backoff: failing.
   */
  status: "ok" | "unavailable" | "token_expired" | "refused" | "error" | "backoff" | "never";
  error: string | null;
  errorAt: number | null;
  nextPollAt: number | null;
  backoffMs: number;
}

/** Reason shown for an account whose access token expired while a refresh token is there. */
export const TOKEN_EXPIRED_TEXT = "access token expired; a running CLI refreshes it";

/** Row `source` values that mark a status rather than where figures came from (figures keep theirs). */
const MARKS = new Set(["unavailable", "token_expired", "refused"]);

const EMPTY: UsageFigures = { fiveHour: null, sevenDay: null, perModelWeekly: {}, fetchedAt: null, source: "none" };

function weeklyOf(f: UsageFigures | null): number | null {
  if (!f) return null;
  const all = [f.sevenDay?.utilization, ...Object.values(f.perModelWeekly ?? {}).map((w) => w.utilization)].filter(
    (x): x is number => typeof x === "number",
  );
  return all.length ? Math.max(...all) : null;
}

export interface PollerDeps {
  store: Store;
  accounts: AccountService;
  clock: Clock;
  log: Logger;
  /** True when the account's status-line figures are fresh: it is then not polled. */
  feedFresh: (account: string) => boolean;
}

export interface PollerOptions {
  /** the usage endpoint (usage-client.ts httpUsageSource) */
  source: UsageSource;
  /** config/params.ts pollParams */
  params: PollParams;
}

/**
 * The usage endpoint as a BACKSTOP to the CLIs' status-line feed: polls, one request at a time and at
 * most one per `requestGapMs` for the whole box (the limit is per IP), only accounts whose feed is not
 * fresh (`feedFresh`), accounts near a threshold first. Keeps last-known-good figures with their age and
 * never lets an endpoint reading overwrite a newer status-line one. Honours retry-after for every
 * account; a repeated 429 with `retry-after: 0` is reported as "refuses this client", logged once, and
 * probed only every maxMs. Accounts whose access token expired (with a refresh token) are not polled
 * (they would 401): status token_expired. Never touches account states.
 */
export class UsagePoller {
  private timer: Timer | null = null;
  private running = false;
  private endpoint: EndpointState = INITIAL_ENDPOINT;
  private lastRequestAt: number | null = null;
  pollErrors = 0;
  requests = 0;
  private readonly store: Store;
  private readonly accounts: AccountService;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly feedFresh: (account: string) => boolean;
  private source: UsageSource;
  private params: PollParams;

  constructor(deps: PollerDeps, opts: PollerOptions) {
    this.store = deps.store;
    this.accounts = deps.accounts;
    this.clock = deps.clock;
    this.log = deps.log;
    this.feedFresh = deps.feedFresh;
    this.source = opts.source;
    this.params = opts.params;
  }

  /** A reloaded config: the endpoint (base URL, timeout) and the schedule apply from the next request. */
  configure(opts: PollerOptions): void {
    this.source = opts.source;
    this.params = opts.params;
  }

  /** Ticks every `tickMs` of the clock until stop() or `signal` aborts. */
  start(tickMs = 500, signal?: AbortSignal): void {
    this.stop();
    this.timer = this.clock.every(tickMs, () => void this.tick(), signal);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Since when the endpoint is taken to refuse this client (null: it does not). */
  refusedSince(): number | null {
    return this.endpoint.refusedSince;
  }

  snapshot(account: string): UsageSnapshot {
    const row = this.store.getUsage(account);
    const notBefore = this.endpoint.notBefore;
    if (!row)
      return {
        figures: EMPTY,
        status: this.endpoint.refusedSince !== null ? "refused" : "never",
        error: this.endpoint.refusedSince !== null ? REFUSED_TEXT : null,
        errorAt: null,
        nextPollAt: notBefore || null,
        backoffMs: 0,
      };
    const stored = (row.figures as UsageFigures | null) ?? EMPTY;
    const source: UsageFigures["source"] = !row.fetchedAt
      ? "none"
      : row.source === "statusline"
        ? "statusline"
        : stored.source && stored.source !== "none"
          ? stored.source
          : "usage_api";
    const figures = { ...EMPTY, ...stored, fetchedAt: row.fetchedAt, source };
    const nextPollAt = row.nextPollAt === null ? null : Math.max(row.nextPollAt, notBefore);
    const base = { figures, error: row.error, errorAt: row.errorAt, nextPollAt, backoffMs: row.backoffMs };
    if (this.feedFresh(account)) return { ...base, status: "ok", error: null, errorAt: null };
    const failing = row.error !== null && (row.errorAt ?? 0) >= (row.fetchedAt ?? 0);
    if (failing && row.source === "token_expired") return { ...base, status: "token_expired" };
    if (failing && row.source === "unavailable") return { ...base, status: "unavailable" };
    if (this.endpoint.refusedSince !== null)
      return { ...base, status: "refused", error: REFUSED_TEXT, errorAt: row.errorAt ?? this.endpoint.refusedSince };
    if (!failing) return { ...base, status: row.fetchedAt ? "ok" : "never" };
    if (row.source === "refused") return { ...base, status: "refused" };
    return { ...base, status: row.backoffMs > 0 ? "backoff" : "error" };
  }

  /**
   * One step of the loop: settles every due account that needs no request (no credentials, expired
   * access token), then sends at most one request if the box's budget allows it.
   */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.clock.now();
      const items = this.accounts
        .names()
        .filter((name) => !this.feedFresh(name))
        .map((name) => {
          const r = this.store.getUsage(name);
          const f = (r?.figures as UsageFigures | null) ?? null;
          return { name, dueAt: r?.nextPollAt ?? 0, urgent: this.near(f) };
        });
      for (const due of pickDue(items, now)) {
        if (!this.needsRequest(due.name, now)) continue;
        if (!budgetAllows(this.params, now, this.lastRequestAt, this.endpoint.notBefore)) break;
        await this.pollOne(due.name);
        break;
      }
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "usage poll failed");
    } finally {
      this.running = false;
    }
  }

  private near(f: UsageFigures | null): boolean {
    const p = this.params;
    const five = f?.fiveHour?.utilization ?? null;
    const weekly = weeklyOf(f);
    return (
      (five !== null && five >= p.window5hThreshold - 2 * p.hysteresis) ||
      (weekly !== null && weekly >= p.windowWeekThreshold - 2 * p.hysteresis)
    );
  }

  private rowBase(account: string): UsageRow {
    const prev = this.store.getUsage(account);
    return {
      account,
      figures: prev?.figures ?? EMPTY,
      fetchedAt: prev?.fetchedAt ?? null,
      source:
        prev && !MARKS.has(prev.source)
          ? prev.source
          : !prev?.fetchedAt
            ? "none"
            : (prev.figures as UsageFigures | null)?.source === "statusline"
              ? "statusline"
              : "usage_api",
      error: prev?.error ?? null,
      errorAt: prev?.errorAt ?? null,
      nextPollAt: prev?.nextPollAt ?? null,
      backoffMs: prev?.backoffMs ?? 0,
    };
  }

  /** Settles an account that can't or needn't be asked (returns false), else true. */
  private needsRequest(account: string, now: number): boolean {
    const creds = this.accounts.credentials(account);
    const base = this.rowBase(account);
    if (!creds.ok) {
      this.store.putUsage({
        ...base,
        error: creds.detail,
        errorAt: now,
        source: "unavailable",
        nextPollAt: now + this.params.maxMs,
        backoffMs: 0,
      });
      return false;
    }
    const { expiresAt, refreshToken } = creds.creds;
    if (expiresAt !== null && expiresAt <= now) {
      // The endpoint would answer 401; only a CLI refreshes the token (we never do). Look again soon:
      // reading the file costs no request.
      const [source, error] = refreshToken
        ? ["token_expired", TOKEN_EXPIRED_TEXT]
        : ["unavailable", "access token expired and no refresh token: needs login"];
      this.store.putUsage({ ...base, error, errorAt: now, source, nextPollAt: now + this.params.minMs, backoffMs: 0 });
      return false;
    }
    return true;
  }

  /** Asks the endpoint for one account (credentials present and not expired) and records the answer. */
  async pollOne(account: string): Promise<void> {
    const creds = this.accounts.credentials(account);
    if (!creds.ok) return;
    const t0 = this.clock.now();
    this.lastRequestAt = t0;
    this.requests++;
    const r = await this.source(creds.creds.accessToken);
    const now = this.clock.now();
    // Read after the request: the status-line feed may have written meanwhile.
    const base = this.rowBase(account);
    const newerFeed = base.source === "statusline" && base.fetchedAt !== null && base.fetchedAt >= t0;
    const step = nextEndpointState(
      this.params,
      this.endpoint,
      r.ok ? { kind: "ok" } : r.kind === "rate_limited" ? r : { kind: "other" },
      now,
    );
    const wasRefused = this.endpoint.refusedSince !== null;
    this.endpoint = step.state;
    if (r.ok) {
      if (wasRefused) {
        this.log.info({ account }, "the usage endpoint answers this client again");
        this.store.appendEvent(now, "quota.usage_refused_ended", null, account, {});
      }
      const f = r.figures;
      const prev = (base.figures as UsageFigures | null) ?? EMPTY;
      const changed = usageChanged(
        [prev.fiveHour?.utilization ?? null, weeklyOf(prev)],
        [f.fiveHour?.utilization ?? null, weeklyOf(f)],
      );
      const next = now + nextInterval(this.params, f.fiveHour?.utilization ?? null, weeklyOf(f), changed);
      if (newerFeed) this.store.putUsage({ ...base, nextPollAt: next, backoffMs: 0 });
      else
        this.store.putUsage({
          account,
          figures: f,
          fetchedAt: now,
          source: "usage_api",
          error: null,
          errorAt: null,
          nextPollAt: next,
          backoffMs: 0,
        });
      return;
    }
    this.pollErrors++;
    if (r.kind === "rate_limited") {
      const refused = this.endpoint.refusedSince !== null && r.retryAfterMs === 0;
      this.store.putUsage({
        ...base,
        error: refused ? REFUSED_TEXT : r.detail,
        errorAt: now,
        nextPollAt: now + step.waitMs,
        backoffMs: step.waitMs,
        ...(refused ? { source: "refused" } : {}),
      });
      if (step.entered) {
        this.store.appendEvent(now, "quota.usage_refused", null, account, {
          detail: REFUSED_TEXT,
          probeEveryMs: step.waitMs,
        });
        this.log.warn(
          { account, probeEveryMs: step.waitMs },
          `${REFUSED_TEXT}: figures come from the status-line feed only; see docs/operations.md`,
        );
      }
    } else if (r.kind === "unauthorized") {
      // Not an account failure: the CLI may still work with this token (setup-tokens can't read usage).
      this.store.putUsage({
        ...base,
        error: r.detail,
        errorAt: now,
        source: "unavailable",
        nextPollAt: now + this.params.maxMs,
        backoffMs: 0,
      });
    } else {
      const backoff = nextBackoff(this.params, base.backoffMs);
      this.store.putUsage({ ...base, error: r.detail, errorAt: now, nextPollAt: now + backoff, backoffMs: backoff });
    }
    this.store.appendEvent(now, "quota.poll_error", null, account, { kind: r.kind, detail: r.detail });
    // Refusals are logged once (above), not at every probe.
    if (!(r.kind === "rate_limited" && r.retryAfterMs === 0 && wasRefused))
      this.log.warn({ account, kind: r.kind, detail: r.detail }, "usage poll failed");
  }

  /** Makes an account due now (e.g. a session just moved onto it). */
  pollSoon(account: string): void {
    const r = this.store.getUsage(account);
    if (r && (r.nextPollAt ?? 0) > this.clock.now() && r.backoffMs === 0)
      this.store.putUsage({ ...r, nextPollAt: this.clock.now() });
  }
}
