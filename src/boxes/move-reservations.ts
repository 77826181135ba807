// Planned-move reservations of this box in the shared store (issue 19, planning together; store.backend:
// postgres). The quota monitor reserves a move's load on its target before it starts the swap, and ends the
// reservation when the swap ends: released when the session did not move, kept for the dwell time when it
// did (the arrival is load the target's figures need not show yet, as the policy counts its own recent
// arrivals). Other boxes' reservations are read at every BoxSync round and handed to the policy.
// While the database is away this box plans alone: a move is not held back for want of a reservation.

import { randomUUID } from "node:crypto";
import type { MoveReservation, SharedStore } from "../store/shared/shared-types.js";
import { errorMessage, isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";

/** An in-flight move's reservation lapses after this long unless ended first (a box that stalls mid-swap). */
export const RESERVATION_TTL_MS = 10 * 60_000;

export type ReserveOutcome =
  /** `id` null: not recorded (the database is away), the move goes ahead on this box's own view */
  | { ok: true; id: string | null }
  /** refused: `held` moves are reserved on the account by every box, its capacity reached */
  | { ok: false; held: number };

export interface MoveReservationsOptions {
  box: string;
  /** the shared store when open */
  store: () => SharedStore | null;
  log: Logger;
  /** how long a made move keeps counting (ms): the policy's minimum dwell (quota.min_dwell) */
  keepMs: () => number;
  ttlMs?: number;
}

export class MoveReservations {
  private others: MoveReservation[] = [];

  constructor(private readonly o: MoveReservationsOptions) {}

  /** Other boxes' reservations as of the last round (the policy drops those expired at its `now`). */
  fromOtherBoxes(): readonly MoveReservation[] {
    return this.others;
  }

  /** Reads the reservations in force at `now` (a BoxSync round). Rejects like the store. */
  async refresh(now: number): Promise<void> {
    const s = this.o.store();
    if (!s) return;
    this.others = (await s.listReservations(now)).filter((r) => r.box !== this.o.box);
  }

  /**
   * Reserves one move of `session` onto `account` whose capacity (quota/policy.ts moveCapacity; null = no
   * limit) covers every box's reservations. Never rejects: an unreachable database grants without a record.
   */
  async reserve(session: string, account: string, capacity: number | null, now: number): Promise<ReserveOutcome> {
    const s = this.o.store();
    if (!s) return { ok: true, id: null };
    try {
      const r = await s.reserveMove(
        { id: randomUUID(), account, session, capacity, ttlMs: this.o.ttlMs ?? RESERVATION_TTL_MS },
        now,
      );
      if (r.ok) return { ok: true, id: r.reservation.id };
      await this.refresh(now).catch(() => {}); // the next tick counts what filled it
      return { ok: false, held: r.held };
    } catch (e) {
      if (!isCfError(e, "shared_store_unavailable"))
        this.o.log.error({ box: this.o.box, account, err: errorMessage(e) }, "move reservation failed");
      // Seen, not silent: the move goes ahead on this box's own figures, unchecked against other boxes.
      else
        this.o.log.warn(
          { box: this.o.box, session, account, err: errorMessage(e) },
          "shared store unreachable: move made without a reservation",
        );
      return { ok: true, id: null };
    }
  }

  /** Ends reservation `id` (null: none was recorded): kept for `keepMs` when the session moved, else released. */
  async end(id: string | null, moved: boolean, now: number): Promise<void> {
    const s = this.o.store();
    if (id === null || !s) return;
    try {
      await s.endReservation(id, moved ? now + this.o.keepMs() : null, now);
    } catch (e) {
      // It lapses at its TTL anyway.
      if (!isCfError(e, "shared_store_unavailable"))
        this.o.log.error({ box: this.o.box, err: errorMessage(e) }, "ending a move reservation failed");
    }
  }
}
