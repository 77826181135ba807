// Notifications: the daemon's events (Store.onEvent) → the catalog (which ones, what they say) → per target:
// filter, dedup and rate limit (gate.ts) → a queue → delivery with retries (deliver.ts). The event listener
// only enqueues: delivery runs on its own async loop per target, so a slow or failing target never delays
// the code that recorded the event (a swap, a park). A delivery that fails for good is recorded as a
// `notify.failed` event and counted in status.
import type { EventRow } from "../store/types.js";
import type { Clock, Timer } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { dedupKey, sampleNotification, toNotification } from "./catalog.js";
import type { Deliver, DeliveryResult } from "./deliver.js";
import { redactor, targetSecrets } from "./redact.js";
import { NotifyGate, retryDelay, type GateParams } from "./gate.js";
import { render, type ResolvedTarget } from "./render.js";
import type { NotifyConfig, NotifyTargetConfig } from "../config/notify-config.js";
import type { Notification } from "./types.js";
import { DialogWatch, ForecastWatch, outlookWindows, type WaitingRow } from "./watchers.js";

/** Notifications waiting per target at most; past it the oldest is dropped (and counted). */
export const MAX_QUEUE = 200;

export interface NotifyDeps {
  clock: Clock;
  log: Logger;
  deliver: Deliver;
  /** appends a daemon event (store.appendEvent at now) */
  record: (kind: string, session: string | null, account: string | null, data: Record<string, unknown>) => void;
  /** the sessions' rows (for dialog waits) */
  sessions: () => readonly WaitingRow[];
  /** each account's forecast view (quota/account-chooser.ts view().forecast) */
  forecasts: () => readonly { account: string; view: Parameters<typeof outlookWindows>[0] }[];
  /** waits `ms` unless `signal` aborts first (retries); default: the clock's sleep */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One target in `status`: never its URL or argv (they may hold secrets). */
export interface TargetStatus {
  name: string;
  kind: string;
  /** why it cannot be used (a missing variable), or null */
  problem: string | null;
  sent: number;
  failed: number;
  /** refused by dedup (duplicates) or the rate limit, or pushed out of a full queue */
  duplicates: number;
  rateLimited: number;
  dropped: number;
  queued: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSentAt: number | null;
}

interface Target {
  cfg: NotifyTargetConfig;
  resolved: ResolvedTarget | null;
  problem: string | null;
  redact: (t: string) => string;
  gate: NotifyGate;
  queue: Notification[];
  running: boolean;
  st: TargetStatus;
}

export class NotifyService {
  private targets: Target[] = [];
  private cfg: NotifyConfig;
  private readonly abort = new AbortController();
  private readonly dialogs = new DialogWatch();
  private readonly forecastWatch = new ForecastWatch();
  private timer: Timer | null = null;
  private lastForecastCheck = 0;
  private readonly sleep: NonNullable<NotifyDeps["sleep"]>;

  constructor(
    private readonly deps: NotifyDeps,
    cfg: NotifyConfig,
  ) {
    this.cfg = cfg;
    this.sleep = deps.sleep ?? ((ms, signal) => deps.clock.sleep(ms, signal));
    this.configure(cfg);
  }

  /** (Re)reads the config: targets resolved again, counters kept for targets of the same name. */
  configure(cfg: NotifyConfig): void {
    this.cfg = cfg;
    const old = new Map(this.targets.map((t) => [t.cfg.name, t]));
    this.targets = cfg.targets.map((tc) => {
      const prev = old.get(tc.name);
      const r = resolveTarget(tc);
      if (r.problem) this.deps.log.warn({ target: tc.name }, `notify target unusable: ${r.problem}`);
      const st: TargetStatus = { ...(prev?.st ?? emptyStatus(tc)), name: tc.name, kind: tc.kind, problem: r.problem };
      if (prev) {
        // The same object: a drain loop running on it keeps going with the new settings.
        Object.assign(prev, { cfg: tc, resolved: r.target, problem: r.problem, redact: redactor(r.secrets), st });
        prev.gate.configure(this.gateParams());
        return prev;
      }
      return {
        cfg: tc,
        resolved: r.target,
        problem: r.problem,
        redact: redactor(r.secrets),
        gate: new NotifyGate(this.gateParams()),
        queue: [],
        running: false,
        st,
      };
    });
    const kept = new Set(this.targets);
    for (const t of old.values()) if (!kept.has(t)) t.queue.length = 0; // a removed target gets nothing more
    if (this.timer) this.startTimer();
  }

  private gateParams(): GateParams {
    return { dedupWindowMs: this.cfg.dedup_window, ratePerMinute: this.cfg.rate_per_minute };
  }

  /** Starts the watchers' timer (dialog waits, forecasts). Events arrive through `onEvent`. */
  start(): void {
    this.startTimer();
  }

  private startTimer(): void {
    this.timer?.cancel();
    // Often enough that a wait is reported within a quarter of dialog_after (at most 5 s late).
    const every = Math.max(200, Math.min(5_000, Math.floor(this.cfg.dialog_after / 4)));
    this.timer = this.deps.clock.every(every, () => this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.abort.abort();
  }

  /** Store.onEvent: runs inside whoever recorded the event, so it only decides and enqueues (delivery starts on a later turn). */
  onEvent(e: EventRow): void {
    try {
      this.dialogs.note(e);
      const x = toNotification(e);
      if (x) this.dispatch(x);
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err), kind: e.kind }, "notify: event not handled");
    }
  }

  private dispatch(x: Notification): void {
    const now = this.deps.clock.now();
    for (const t of this.targets) {
      if (!t.resolved || (t.cfg.events.length && !t.cfg.events.includes(x.event as never))) continue;
      const a = t.gate.admit(dedupKey(x), now);
      if (!a.ok) {
        if (a.why === "duplicate") t.st.duplicates++;
        else t.st.rateLimited++;
        continue;
      }
      if (t.queue.length >= MAX_QUEUE) {
        t.queue.splice(t.running ? 1 : 0, 1); // the oldest not being delivered right now
        t.st.dropped++;
      }
      t.queue.push(x);
      t.st.queued = t.queue.length;
      if (!t.running) {
        // Next turn of the event loop: render, spawn and fetch never run inside the caller's appendEvent
        // (swap.done and session.resume are recorded in the middle of a swap or a resume).
        t.running = true;
        setImmediate(() => {
          this.drain(t).catch((err) =>
            this.deps.log.error({ target: t.cfg.name, err: errorMessage(err) }, "notify: delivery loop failed"),
          );
        });
      }
    }
  }

  private async drain(t: Target): Promise<void> {
    t.running = true;
    try {
      while (t.queue.length && !this.abort.signal.aborted) {
        const x = t.queue[0]!;
        await this.deliverWithRetries(t, x);
        t.queue.shift();
        t.st.queued = t.queue.length;
      }
    } finally {
      t.running = false;
    }
  }

  private async deliverWithRetries(t: Target, x: Notification): Promise<void> {
    const target = t.resolved;
    if (!target) return;
    for (let attempt = 1; ; attempt++) {
      const r = await this.attempt(target, x);
      if (this.abort.signal.aborted) return;
      if (r.ok) {
        t.st.sent++;
        t.st.lastSentAt = this.deps.clock.now();
        return;
      }
      const error = t.redact(r.error);
      t.st.lastError = error;
      t.st.lastErrorAt = this.deps.clock.now();
      const wait = r.retry ? retryDelay(attempt) : null;
      if (wait === null) {
        t.st.failed++;
        this.deps.log.warn(
          { target: t.cfg.name, event: x.event, attempts: attempt, err: error },
          "notification not delivered",
        );
        try {
          this.deps.record("notify.failed", x.session, x.account, {
            target: t.cfg.name,
            event: x.event,
            eventId: x.eventId,
            attempts: attempt,
            error,
          });
        } catch (err) {
          // The store may be full or closed (shutdown): the log line above already tells.
          this.deps.log.error({ target: t.cfg.name, err: errorMessage(err) }, "notify: notify.failed not recorded");
        }
        return;
      }
      this.deps.log.info(
        { target: t.cfg.name, event: x.event, attempt, err: error, retryInMs: wait },
        "notification failed; retrying",
      );
      await this.sleep(wait, this.abort.signal);
    }
  }

  private async attempt(target: ResolvedTarget, x: Notification): Promise<DeliveryResult> {
    try {
      return await this.deps.deliver(render(target, x), this.abort.signal);
    } catch (e) {
      return { ok: false, error: errorMessage(e), retry: true };
    }
  }

  /**
   * `claude-failover notify test [TARGET]`: one sample to each target (or the named one), once, no dedup or
   * rate limit, no retries; the result of each. An unknown name is an error that lists the known ones.
   */
  async test(
    name?: string,
  ): Promise<{ results: { target: string; kind: string; ok: boolean; error: string | null }[] }> {
    const list = name ? this.targets.filter((t) => t.cfg.name === name) : this.targets;
    if (name && !list.length) {
      const known = this.targets.map((t) => t.cfg.name);
      throw new CfError(
        "no_such_target",
        `no notify target named ${name}${known.length ? ` (targets: ${known.join(", ")})` : " (notify.targets is empty)"}`,
      );
    }
    const results = await Promise.all(
      list.map(async (t) => {
        if (!t.resolved) return { target: t.cfg.name, kind: t.cfg.kind, ok: false, error: t.problem };
        const r = await this.attempt(t.resolved, sampleNotification(this.deps.clock.now(), t.cfg.name));
        return { target: t.cfg.name, kind: t.cfg.kind, ok: r.ok, error: r.ok ? null : t.redact(r.error) };
      }),
    );
    return { results };
  }

  status(): { targets: TargetStatus[]; dialogAfterMs: number } {
    return {
      targets: this.targets.map((t) => ({ ...t.st, queued: t.queue.length })),
      dialogAfterMs: this.cfg.dialog_after,
    };
  }

  /** The watchers: dialog waits past dialog_after, and (every 30 s) forecasts that run out before the reset. */
  tick(): void {
    const now = this.deps.clock.now();
    try {
      for (const o of this.dialogs.check(this.deps.sessions(), now, this.cfg.dialog_after)) {
        this.deps.record("session.dialog_overdue", o.session, o.account, {
          dialog: o.dialog,
          since: o.since,
          waitingMs: o.waitingMs,
        });
      }
      if (now - this.lastForecastCheck >= 30_000) {
        this.lastForecastCheck = now;
        const accounts = this.deps.forecasts().map((f) => ({ account: f.account, windows: outlookWindows(f.view) }));
        for (const s of this.forecastWatch.check(accounts, now)) {
          this.deps.record("account.forecast_short", null, s.account, {
            window: s.window,
            utilization: s.utilization,
            burnPerHour: s.burnPerHour,
            exhaustAt: s.exhaustAt,
            resetsAt: s.resetsAt,
          });
        }
      }
    } catch (e) {
      this.deps.log.error({ err: errorMessage(e) }, "notify watchers failed");
    }
  }
}

function emptyStatus(tc: NotifyTargetConfig): TargetStatus {
  return {
    name: tc.name,
    kind: tc.kind,
    problem: null,
    sent: 0,
    failed: 0,
    duplicates: 0,
    rateLimited: 0,
    dropped: 0,
    queued: 0,
    lastError: null,
    lastErrorAt: null,
    lastSentAt: null,
  };
}

/** A target ready to use: its url checked (the config loader has filled in `${VAR}`), its secrets known for redaction. */
export function resolveTarget(tc: NotifyTargetConfig): {
  target: ResolvedTarget | null;
  problem: string | null;
  secrets: string[];
} {
  const secrets = targetSecrets(tc);
  if (tc.url !== undefined) {
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(tc.url).protocol);
    } catch {
      /* not a URL */
    }
    if (!ok) return { target: null, problem: `notify target ${tc.name}: url is not an http(s) URL`, secrets };
  }
  if (tc.kind === "command" && !tc.argv?.length)
    return { target: null, problem: `notify target ${tc.name}: argv is empty`, secrets };
  return {
    target: { name: tc.name, kind: tc.kind, url: tc.url, argv: tc.argv, format: tc.format },
    problem: null,
    secrets,
  };
}
