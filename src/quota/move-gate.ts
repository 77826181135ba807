// Reserving a move's load on its target before making it (issue 19, planning together; store.backend:
// postgres): the target's room in moves is worked out from its figures (policy.ts moveCapacity), and the
// shared store grants the reservation only while every box's reservations on it stay within that room.
// The quota monitor reserves its planned moves this way; the swap (sessions/swap.ts MoveGate) reserves the
// moves whose target it picks itself (a refusal's urgent move, a rejected token's, a manual swap).

import type { MoveGate } from "../sessions/swap.js";
import type { QuotaChooser } from "./account-chooser.js";
import { moveCapacity } from "./policy.js";
import type { MoveReserver } from "./quota-service.js";

export type ReserveOnto = { ok: true; id: string | null } | { ok: false; reason: string };

/**
 * Reserves one move of `session` onto `account`, its room counted with `margin` (utilization fraction kept
 * free below the threshold: the hysteresis for an optimisation move, 0 for a forced one). An account the
 * chooser does not know is reserved without a limit. Never rejects (MoveReserver grants when the database
 * is away).
 */
export async function reserveOnto(
  reserver: MoveReserver,
  chooser: QuotaChooser,
  session: string,
  account: string,
  margin: number,
  now: number,
): Promise<ReserveOnto> {
  const target = chooser.policyAccounts(now).find((a) => a.name === account);
  const capacity = target ? moveCapacity(target, chooser.params, now, margin) : null;
  const r = await reserver.reserve(session, account, capacity, now);
  if (r.ok) return r;
  return {
    ok: false,
    reason: `${account} is full: ${r.held} move(s) onto it reserved by every box, room for ${capacity}`,
  };
}

/** The swap's gate: forced moves (margin 0), as the policy's hard tiers take them. */
export function forcedMoveGate(reserver: MoveReserver, chooser: QuotaChooser): MoveGate {
  return {
    reserve: (session, account, now) => reserveOnto(reserver, chooser, session, account, 0, now),
    end: (id, moved, now) => reserver.end(id, moved, now),
  };
}
