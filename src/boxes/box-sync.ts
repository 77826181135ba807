// This box in the shared store (issue 19, the first piece wired into the daemon; store.backend: postgres):
// - holds its lease: a heartbeat every `heartbeatMs` with a TTL of `leaseTtlMs` (other boxes see it alive);
// - shares its account exhaustions: an `account.state` event to `exhausted` (LimitReactor, a refused
//   prompt) is written to the shared store, kept in memory and written again while the database is away;
// - takes other boxes' exhaustions: every `syncMs` it reads the marks in force and sets those accounts
//   exhausted here too (account-marks.ts decides which), so the quota policy moves its sessions off them;
// - reads the other boxes' planned-move reservations at the same rounds (move-reservations.ts), for the policy;
// - listens for other boxes' change notices (store/shared/shared-notify.ts, PostgreSQL LISTEN/NOTIFY): a mark
//   or reservation written elsewhere brings the next round forward at once, a change to the task queue kicks
//   the queue (`onTasksChanged`); the polled rounds go on regardless, so a lost connection loses nothing.
// The database being unreachable never stops the daemon: each failed round is logged once per outage and
// the next round tries again (opening the store too, when the first open at boot failed).

import type { AccountService } from "../accounts/account-service.js";
import type { Store } from "../store/store.js";
import { isNotifier, type SharedListener, type SharedNotice } from "../store/shared/shared-notify.js";
import type { BoxLease, SharedStore, SharedUsage } from "../store/shared/shared-types.js";
import type { Clock, Timer } from "../util/clock.js";
import { errorMessage, isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { markToPublish, marksToApply, type MarkToPublish } from "./account-marks.js";
import { boxesView, type BoxView } from "./box-view.js";
import { MoveReservations } from "./move-reservations.js";
import { newestFigures, usageToPublish, type FiguresLike } from "./shared-usage.js";

export interface BoxSyncOptions {
  box: string;
  /** opens the shared store; called again after a failure (CfError `shared_store_unavailable`) */
  open: () => Promise<SharedStore>;
  store: Store;
  accounts: AccountService;
  clock: Clock;
  log: Logger;
  /** ms between rounds (read marks, publish pending ones); default 1000 */
  syncMs?: number;
  /** ms between heartbeats; default 10 000 */
  heartbeatMs?: number;
  /** lease TTL (ms); default 30 000: three missed heartbeats */
  leaseTtlMs?: number;
  /** what the lease row says about this box (JSON) */
  info?: () => Record<string, unknown>;
  /** how long a made move's reservation keeps counting (ms): quota.min_dwell; default 15 min */
  reservationKeepMs?: () => number;
  /** this box's own newest figures of an account (the usage poller's, fed by the status lines), to share */
  localUsage?: (account: string) => FiguresLike;
  /** another box changed the shared task queue (a notice): called once running, e.g. to kick this box's claims */
  onTasksChanged?: () => void;
}

export class BoxSync {
  private shared: SharedStore | null = null;
  private opening: Promise<void> | null = null;
  private timer: Timer | null = null;
  private running: Promise<void> | null = null;
  /** a notice came during a round: run one more after it (the running one may have read before the write) */
  private again = false;
  /** the live LISTEN connection (PostgreSQL), null before the first round or after it was lost */
  private listener: SharedListener | null = null;
  private listenFailed = false;
  private lastBeat = -Infinity;
  private down = false;
  private stopped = false;
  /** exhaustions not yet written, by account (the newest wins), with when they happened */
  private readonly pending = new Map<string, MarkToPublish & { at: number }>();
  private unsubscribe: (() => void) | null = null;
  /** this box's planned-move reservations, and the other boxes' ones as of the last round */
  readonly reservations: MoveReservations;
  /** the newest reading of each account, whichever box took it, as of the last round */
  private sharedUsage = new Map<string, SharedUsage>();
  /** the time of the reading of each account this box wrote last */
  private readonly published = new Map<string, number>();
  /** the leases and running tasks' boxes read by the last round that got through, and when (for status) */
  private seen: { leases: BoxLease[]; runningOn: (string | null)[]; at: number } | null = null;

  constructor(private readonly o: BoxSyncOptions) {
    this.reservations = new MoveReservations({
      box: o.box,
      store: () => this.shared,
      log: o.log,
      keepMs: o.reservationKeepMs ?? (() => 15 * 60_000),
    });
  }

  /**
   * Subscribes to account state changes and opens the store once. Rejects on a configuration problem
   * (CfError `config`: the URL variable unset or not a URL; `db_too_new`), which the daemon should not
   * start with; an unreachable database is only logged (the rounds retry).
   */
  async connect(): Promise<void> {
    this.unsubscribe = this.o.store.onEvent((e) => {
      if (e.kind !== "account.state" || !e.account) return;
      const d = e.data as { to?: unknown; until?: unknown; reason?: unknown };
      const m = markToPublish(
        e.account,
        String(d.to),
        typeof d.until === "number" ? d.until : null,
        typeof d.reason === "string" ? d.reason : null,
      );
      if (!m) return;
      this.pending.set(m.account, { ...m, at: e.ts });
      if (this.timer) this.kick(); // written at once (once running), not at the next polled round
    });
    try {
      await this.openStore();
    } catch (e) {
      if (!isCfError(e, "shared_store_unavailable")) throw e;
    }
  }

  /** Starts the rounds on the clock's timer (stop() cancels it). */
  start(): void {
    this.timer = this.o.clock.every(this.o.syncMs ?? 1000, () => void this.syncOnce());
    void this.syncOnce();
  }

  /** The shared store when open (for status and tests). */
  get store(): SharedStore | null {
    return this.shared;
  }

  private async openStore(): Promise<void> {
    if (this.shared) return;
    this.opening ??= (async () => {
      try {
        this.shared = await this.o.open();
        if (this.down) this.o.log.info({ box: this.o.box }, "shared store reachable again");
        this.down = false;
      } catch (e) {
        this.noteDown(e);
        throw e;
      } finally {
        this.opening = null;
      }
    })();
    await this.opening;
  }

  private noteDown(e: unknown): void {
    if (!this.down)
      this.o.log.error(
        { box: this.o.box, err: errorMessage(e) },
        "shared store unreachable: running on this box's own view until it returns",
      );
    this.down = true;
  }

  /**
   * One round: open the store if needed, heartbeat when due, write pending exhaustions, take other boxes'
   * marks. Never rejects (failures are logged). Rounds never overlap; a call during one waits for it and
   * for one more started after it (the running one may have read before what the caller wants seen: a
   * notice's write, a lease dropped), several such calls sharing that one.
   */
  async syncOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      await this.running;
      return this.running ?? this.syncOnce(); // the round started after it (set as that one ended)
    }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.syncOnce();
      }
    });
    return this.running;
  }

  /** Brings a round forward: one now, or one more right after the running one. Never rejects. */
  kick(): void {
    if (!this.stopped) void this.syncOnce();
  }

  /** Whether this box listens for other boxes' notices now (for tests and status). */
  get listening(): boolean {
    return this.listener !== null;
  }

  private onNotice(n: SharedNotice): void {
    if (n.box === this.o.box || this.stopped) return; // our own write: nothing new to read
    if (n.topic === "tasks") this.o.onTasksChanged?.();
    else this.kick();
  }

  /** Opens the LISTEN connection when the store sends notices and none is live. Rejects like the store. */
  private async listen(s: SharedStore): Promise<void> {
    if (this.listener || !isNotifier(s)) return;
    let lost = false;
    let l: SharedListener | null = null; // set once listen resolves; onLost may come before
    l = await s.listen(
      (n) => this.onNotice(n),
      (err) => {
        lost = true;
        if (l === null || this.listener !== l) return;
        this.listener = null;
        if (!this.stopped)
          this.o.log.warn({ box: this.o.box, err }, "shared store notices lost: polling only until the next round");
      },
    );
    if (lost || this.stopped) return void (await l.close());
    this.listener = l;
    this.listenFailed = false;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.openStore();
      const s = this.shared!;
      const now = this.o.clock.now();
      if (now - this.lastBeat >= (this.o.heartbeatMs ?? 10_000)) {
        const hb = await s.heartbeat(now, this.o.leaseTtlMs ?? 30_000, this.o.info?.() ?? {});
        this.lastBeat = now;
        if (hb.lapsed)
          this.o.log.warn(
            { box: this.o.box },
            "this box's lease had lapsed (the database was away or the daemon stalled); renewed",
          );
      }
      for (const [account, m] of [...this.pending]) {
        await s.setAccountState(account, "exhausted", m.until, m.reason, m.at);
        if (this.pending.get(account) === m) this.pending.delete(account);
      }
      const marks = await s.listAccountStates(now);
      const names = new Set(this.o.accounts.names());
      const local = this.o.store.listAccounts().filter((r) => names.has(r.name));
      for (const a of marksToApply(local, marks, this.o.box, this.o.clock.now())) {
        this.o.accounts.setState(a.account, "exhausted", a.until, a.reason);
      }
      await this.shareUsage();
      await this.reservations.refresh(this.o.clock.now());
      const leases = await s.leases();
      const runningOn = (await s.listTasks(["running"])).map((t) => t.box);
      this.seen = { leases, runningOn, at: this.o.clock.now() };
      await this.listen(s).catch((e: unknown) => {
        if (isCfError(e, "shared_store_unavailable")) throw e;
        if (!this.listenFailed)
          this.o.log.warn({ box: this.o.box, err: errorMessage(e) }, "could not listen for shared store notices");
        this.listenFailed = true;
      });
      if (this.down) this.o.log.info({ box: this.o.box }, "shared store reachable again");
      this.down = false;
    } catch (e) {
      if (isCfError(e, "shared_store_unavailable")) this.noteDown(e);
      else this.o.log.error({ box: this.o.box, err: errorMessage(e) }, "shared store round failed");
    }
  }

  /** Writes this box's readings newer than those it wrote last; reads the newest of every box. */
  private async shareUsage(): Promise<void> {
    const s = this.shared!;
    if (this.o.localUsage) {
      for (const name of this.o.accounts.names()) {
        const f = this.o.localUsage(name);
        if (!usageToPublish(f, this.published.get(name))) continue;
        await s.putUsage(name, f, f.fetchedAt!, f.source);
        this.published.set(name, f.fetchedAt!);
      }
    }
    this.sharedUsage = new Map((await s.latestUsage()).map((u) => [u.account, u]));
  }

  /**
   * `src`'s snapshots with each account's figures replaced by another box's reading when that is newer
   * (shared-usage.ts newestFigures): what account choice and the quota policy read, so a reading taken on
   * any box counts for all. The rest of the snapshot (this box's poll status) is this box's.
   */
  withSharedUsage<F extends FiguresLike, S extends { figures: F }>(src: {
    snapshot(account: string): S;
  }): { snapshot(account: string): S } {
    return {
      snapshot: (account) => {
        const snap = src.snapshot(account);
        const figures = newestFigures(snap.figures, this.sharedUsage.get(account), this.o.box);
        return figures === snap.figures ? snap : { ...snap, figures };
      },
    };
  }

  /**
   * Every box sharing the store as of the last round that reached it (box-view.ts): lease state, heartbeat
   * age at `now`, running tasks. `asOf` is that round's time (epoch ms); null before any round got through.
   * `reachable` is false while the store is unreachable (the figures are then the last known ones).
   */
  boxesStatus(now: number): { asOf: number | null; reachable: boolean; boxes: BoxView[] } {
    const seen = this.seen;
    return {
      asOf: seen?.at ?? null,
      reachable: !this.down && this.shared !== null,
      boxes: seen ? boxesView(seen.leases, seen.runningOn, this.o.box, now) : [],
    };
  }

  /** Stops the rounds, drops this box's lease (a clean stop) when the store is reachable, closes it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe?.();
    await this.running?.catch(() => {});
    const l = this.listener;
    this.listener = null;
    await l?.close();
    const s = this.shared;
    this.shared = null;
    if (!s) return;
    await s.releaseLease().catch(() => {});
    await s.close().catch(() => {});
  }
}
