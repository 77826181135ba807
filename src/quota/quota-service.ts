import type { AccountService } from "../accounts/account-service.js";
import type { SessionService } from "../sessions/session-service.js";
import type { SwapService } from "../sessions/swap.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { QuotaChooser } from "./account-chooser.js";
import { reserveOnto } from "./move-gate.js";
import { accountPressure, planTick } from "./policy.js";
import type { OtherBoxReservation, PolicyDecision, PolicySession } from "./policy-types.js";
import type { UsagePoller } from "./usage-poller.js";

/** Kept here for the tests and benchmarks that import it; the value lives with the other config mappings. */
export { LOAD_PER_SESSION } from "../config/params.js";

export interface QuotaDeps {
  store: Store;
  accounts: AccountService;
  sessions: SessionService;
  swaps: SwapService;
  /** the backstop: a moved session's target is polled soon */
  poller: UsagePoller;
  /** account choice (account-chooser.ts): the policy's accounts and parameters come from it */
  chooser: QuotaChooser;
  clock: Clock;
  log: Logger;
  /** planned-move reservations shared with other boxes (boxes/move-reservations.ts; store.backend: postgres) */
  reservations?: MoveReserver | null;
}

/** What the quota monitor needs of the shared reservations (issue 19): boxes/move-reservations.ts. */
export interface MoveReserver {
  fromOtherBoxes(): readonly OtherBoxReservation[];
  reserve(
    session: string,
    account: string,
    capacity: number | null,
    now: number,
  ): Promise<{ ok: true; id: string | null } | { ok: false; held: number }>;
  end(id: string | null, moved: boolean, now: number): Promise<void>;
}

/**
 * The quota monitor: on each tick fuses the chooser's accounts (figures, prompt counts, states) with the
 * sessions into the pure policy's input, logs every decision (including "stay" and why) when it changes,
 * and carries out the moves through the swap service, re-checking the source account just before acting.
 * Account choice itself is the chooser's (account-chooser.ts), built before this and the services it drives.
 */
export class QuotaService {
  private lastLogged = new Map<string, string>();
  private acting = new Set<string>();
  private ticking = false;
  lastDecisions: PolicyDecision[] = [];
  lastTickMs = 0;
  private readonly store: Store;
  private readonly accounts: AccountService;
  private readonly sessions: SessionService;
  private readonly swaps: SwapService;
  readonly poller: UsagePoller;
  private readonly chooser: QuotaChooser;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly reservations: MoveReserver | null;

  constructor(deps: QuotaDeps) {
    this.reservations = deps.reservations ?? null;
    this.store = deps.store;
    this.accounts = deps.accounts;
    this.sessions = deps.sessions;
    this.swaps = deps.swaps;
    this.poller = deps.poller;
    this.chooser = deps.chooser;
    this.clock = deps.clock;
    this.log = deps.log;
  }

  policySessions(): PolicySession[] {
    const moving = new Map(this.store.unfinishedSwaps().map((sw) => [sw.session, sw.toAccount]));
    return this.sessions.list().map((s) => ({
      name: s.name,
      account: s.account,
      state: s.state === "stopped" ? "exited" : s.state,
      lastMoveAt: s.lastMoveAt,
      hardLimited: s.state === "limited",
      swapping: !!this.sessions.lockedBy(s.name),
      movingTo: moving.get(s.name) ?? null,
    }));
  }

  /** One policy tick: plan, log changed decisions, start the moves (without waiting for them). */
  async tick(): Promise<PolicyDecision[]> {
    if (this.ticking) return [];
    this.ticking = true;
    try {
      const now = this.clock.now();
      const t0 = performance.now();
      const decisions = planTick(
        {
          accounts: this.chooser.policyAccounts(now),
          sessions: this.policySessions(),
          params: this.chooser.params,
          reservations: this.reservations?.fromOtherBoxes() ?? [],
        },
        now,
      );
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
      const src = this.chooser.policyAccounts(now).find((a) => a.name === d.from);
      const row = this.sessions.get(d.session);
      if (!row || row.account !== d.from) return;
      // Its running turn got through: let it finish rather than cut it (the swap would Escape it and the
      // model would be asked again). A refusal inside the turn goes to the limit reactor; an idle session moves.
      if (d.hard && row.state === "busy") return;
      if (src && !d.hard) {
        const p = accountPressure(src, this.chooser.params, now);
        if (!p.over && this.accounts.row(d.from).state !== "disabled") {
          this.store.appendEvent(now, "quota.decision.cancelled", d.session, d.from, {
            reason: `${d.from} no longer over on re-check`,
            reasons: p.reasons,
          });
          return;
        }
      }
      // Several boxes: reserve the move's load on the target first, so every box's moves together stay
      // within its threshold (less the hysteresis for an optimisation move, as planned).
      let held: string | null = null;
      if (this.reservations) {
        const margin = d.hard ? 0 : this.chooser.params.hysteresis;
        const r = await reserveOnto(this.reservations, this.chooser, d.session, d.to, margin, now);
        if (!r.ok) {
          this.store.appendEvent(now, "quota.decision.cancelled", d.session, d.from, { reason: r.reason, to: d.to });
          return;
        }
        held = r.id;
      }
      let moved = false;
      let out: Awaited<ReturnType<SwapService["swap"]>>;
      try {
        out = await this.swaps.swap({
          session: d.session,
          to: d.to,
          reason: d.hard ? "quota_hard" : "quota_threshold",
          urgent: false,
          hard: d.hard,
        });
        moved = out.ok;
      } finally {
        await this.reservations?.end(held, moved, this.clock.now());
      }
      if (out.ok) this.poller.pollSoon(d.to);
      else this.log.info({ session: d.session, outcome: out.outcome, reason: out.reason }, "planned move not made");
    } catch (e) {
      this.log.error({ session: d.session, err: errorMessage(e) }, "quota move failed");
    } finally {
      this.acting.delete(d.session);
    }
  }

  /** For status: the fused view of one account (the chooser's). */
  view(account: string) {
    return this.chooser.view(account);
  }
}
