// This box's events mirrored into the shared store with its name (issue 19: "events (with the box name)";
// store.backend: postgres only: with sqlite the local log is every event there is). The local log
// (store/store.ts events) stays the record; the mirror never slows or blocks it: each event is put in a
// bounded memory buffer as it is appended, and a timer sends the buffer in batches (one statement each)
// every `flushMs`. While the database is away the buffer keeps the newest `maxBuffered` events (the oldest
// are dropped, counted and warned about) and they are sent when it returns. A batch sent again after its
// answer was lost is not doubled (the shared table keeps one row per box, local id and time). The same
// timer prunes the shared table by the retention settings once a day. Nothing else waits on any of it.
//
// Reading: `read` (the `events` command, route and MCP tool with boxes: all) reads the shared table; with
// sqlite `localEventsOfBox` answers the same query from the local log, every row this box's.

import type { Store } from "../store/store.js";
import type { EventRow } from "../store/types.js";
import type { SharedEvent, SharedEventDraft, SharedEventQuery, SharedStore } from "../store/shared/shared-types.js";
import type { Clock, Timer } from "../util/clock.js";
import { CfError, errorMessage, isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { EventBuffer } from "./event-buffer.js";

export interface SharedEventsOptions {
  box: string;
  /** the shared store when open (BoxSync.store), else null: the buffer waits for it */
  store: () => SharedStore | null;
  /** the local log mirrored (its listener) and where a drop is recorded */
  events: Pick<Store, "onEvent" | "appendEvent">;
  clock: Clock;
  log: Logger;
  /** ms between flushes; default 1000 */
  flushMs?: number;
  /** events per statement; default 500 */
  batchMax?: number;
  /** events held at most while the store is away; default 10 000 */
  maxBuffered?: number;
  /** retention.events (ms) and retention.events_max_rows: the shared table's bounds, per box; none: no prune */
  retention?: () => { maxAgeMs: number; maxRows: number };
}

/** Counters since the start (for tests and status). */
export interface SharedEventsStats {
  /** rows the shared store took */
  sent: number;
  /** statements that carried them */
  batches: number;
  /** events dropped because the buffer was full */
  dropped: number;
  /** events the shared store refused (not an outage: data it cannot take), dropped */
  rejected: number;
  /** events waiting in the buffer */
  buffered: number;
}

/** A read of every box's events: the newest `limit`, or the first `limit` after an id (following). */
export interface AllBoxesQuery {
  afterId?: number;
  limit: number;
  box?: string;
  session?: string;
  kindPrefix?: string;
}

const PRUNE_EVERY_MS = 24 * 3_600_000;

function toDraft(e: EventRow): SharedEventDraft {
  return { localId: e.id, ts: e.ts, kind: e.kind, session: e.session, account: e.account, data: e.data };
}

function storeQuery(q: AllBoxesQuery): SharedEventQuery {
  const out: SharedEventQuery =
    q.afterId !== undefined ? { afterId: q.afterId, limit: q.limit } : { newest: true, limit: q.limit };
  if (q.box !== undefined) out.box = q.box;
  if (q.session !== undefined) out.session = q.session;
  if (q.kindPrefix !== undefined) out.kindPrefix = q.kindPrefix;
  return out;
}

function unreachable(): CfError {
  return new CfError(
    "unavailable",
    "the shared store is unreachable now, so the events of every box cannot be read; this box's own events: drop boxes: all",
  );
}

export class SharedEventsMirror {
  private readonly buffer: EventBuffer<SharedEventDraft>;
  private timer: Timer | null = null;
  private unsubscribe: (() => void) | null = null;
  private flushing: Promise<void> | null = null;
  private pruning = false;
  private lastPrune = -Infinity;
  /** the last flush failed for want of the database: the next good one says it is back */
  private down = false;
  /** the buffer dropped events in the current stretch (warned once; the count is reported when it returns) */
  private warnedDrop = false;
  private readonly counts = { sent: 0, batches: 0, rejected: 0 };

  constructor(private readonly o: SharedEventsOptions) {
    this.buffer = new EventBuffer(o.maxBuffered ?? 10_000);
  }

  /** Starts mirroring: every event appended from now on is buffered; a flush runs every `flushMs`. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.o.events.onEvent((e) => this.add(toDraft(e)));
    this.timer = this.o.clock.every(this.o.flushMs ?? 1000, () => void this.flush());
  }

  stats(): SharedEventsStats {
    return { ...this.counts, dropped: this.buffer.droppedTotal, buffered: this.buffer.size };
  }

  private add(d: SharedEventDraft): void {
    if (this.buffer.push(d)) this.noteDropped();
  }

  private noteDropped(): void {
    if (this.warnedDrop) return;
    this.warnedDrop = true;
    this.o.log.warn(
      { box: this.o.box, max: this.buffer.max },
      "shared events: buffer full while the shared store is away; dropping the oldest (counted, reported when it returns)",
    );
  }

  /**
   * Sends what the buffer holds, batch by batch, until it is empty or the store fails. Never rejects; calls
   * during a flush get that flush.
   */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const s = this.o.store();
    if (!s) return; // not open yet (BoxSync opens it and logs the outage)
    try {
      while (this.buffer.size > 0) await this.send(s, this.buffer.take(this.o.batchMax ?? 500));
    } catch (e) {
      if (!this.down)
        this.o.log.warn(
          { box: this.o.box, err: errorMessage(e), buffered: this.buffer.size },
          "shared events: the shared store is away; events are kept and sent when it returns",
        );
      this.down = true;
      return;
    }
    this.caughtUp();
    this.maybePrune(s);
  }

  /**
   * One batch, taken out of the buffer: put back when the store is away (then this rejects). A batch the
   * store refuses otherwise is sent one by one, and what it still refuses is dropped (it stays in the local log).
   */
  private async send(s: SharedStore, batch: SharedEventDraft[]): Promise<void> {
    try {
      this.counts.sent += await s.appendEvents(batch);
      this.counts.batches++;
      return;
    } catch (e) {
      if (isCfError(e, "shared_store_unavailable")) {
        this.putBack(batch);
        throw e;
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const one = batch[i]!;
      try {
        this.counts.sent += await s.appendEvents([one]);
        this.counts.batches++;
      } catch (e) {
        if (isCfError(e, "shared_store_unavailable")) {
          this.putBack(batch.slice(i));
          throw e;
        }
        this.counts.rejected++;
        this.o.log.error(
          { box: this.o.box, kind: one.kind, localId: one.localId, err: errorMessage(e) },
          "shared events: the shared store refused an event; dropped (it stays in the local log)",
        );
      }
    }
  }

  private putBack(batch: SharedEventDraft[]): void {
    if (this.buffer.putBack(batch) > 0) this.noteDropped();
  }

  private caughtUp(): void {
    const dropped = this.buffer.takeDropped();
    this.warnedDrop = false;
    if (dropped > 0) {
      this.o.log.warn(
        { box: this.o.box, dropped, max: this.buffer.max },
        "shared events: dropped while the shared store was away (the local log has them)",
      );
      this.o.events.appendEvent(this.o.clock.now(), "box.events_dropped", null, null, {
        box: this.o.box,
        dropped,
        max: this.buffer.max,
      });
    }
    if (this.down) this.o.log.info({ box: this.o.box }, "shared events: the shared store takes events again");
    this.down = false;
  }

  private maybePrune(s: SharedStore): void {
    const r = this.o.retention?.();
    const now = this.o.clock.now();
    if (!r || this.pruning || now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.pruning = true;
    this.lastPrune = now;
    void s
      .pruneEvents(now - r.maxAgeMs, r.maxRows)
      .then((n) => {
        if (n > 0) this.o.log.info({ box: this.o.box, events: n }, "shared events: pruned");
      })
      .catch((e: unknown) => this.o.log.error({ box: this.o.box, err: errorMessage(e) }, "shared events: prune failed"))
      .finally(() => {
        this.pruning = false;
      });
  }

  /**
   * Every box's events in the shared table (`q`: the newest `limit`, or the first after `afterId`), oldest
   * first. Rejects with CfError `unavailable` while the shared store is unreachable. This box's newest
   * events reach the table within a flush (a second) of being recorded.
   */
  async read(q: AllBoxesQuery): Promise<SharedEvent[]> {
    const s = this.o.store();
    if (!s) throw unreachable();
    try {
      return await s.readEvents(storeQuery(q));
    } catch (e) {
      throw isCfError(e, "shared_store_unavailable") ? unreachable() : e;
    }
  }

  /** Stops the timer and the listener; one last flush when the store was reachable (bounded by `waitMs`). */
  async stop(waitMs = 3000): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.flushing;
    if (this.down || this.buffer.size === 0) return;
    const ac = new AbortController();
    await Promise.race([this.flush(), this.o.clock.sleep(waitMs, ac.signal)]);
    ac.abort();
  }
}

/**
 * `q` answered from this box's own log (store.backend: sqlite, one box: its log is every box's), each row
 * with this box's name and its local id as both `id` and `localId`.
 */
export function localEventsOfBox(
  store: Pick<Store, "eventsAfter" | "tailEvents">,
  box: string,
  q: AllBoxesQuery,
): SharedEvent[] {
  if (q.box !== undefined && q.box !== box) return [];
  const filter = {
    ...(q.session !== undefined ? { session: q.session } : {}),
    ...(q.kindPrefix !== undefined ? { kindPrefix: q.kindPrefix } : {}),
  };
  const rows =
    q.afterId !== undefined ? store.eventsAfter(q.afterId, q.limit, filter) : store.tailEvents(q.limit, filter);
  return rows.map((e) => ({ ...e, box, localId: e.id }));
}
