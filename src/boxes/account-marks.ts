// Pure: which account states this box shares with the others, and which of theirs it takes (issue 19,
// the first piece wired into the daemon). Only exhaustion is shared: an account's quota is one number on
// the service's side, so a limit one box ran into holds for every box until the reset. A revoked login or
// an operator's disable is about this box's own credentials and config, and stays local.

import type { SharedAccountState } from "../store/shared/shared-types.js";
import type { AccountRow } from "../store/types.js";

/** The reason an account state taken from another box carries; such a state is never shared back. */
export const FROM_BOX = "exhausted on box ";

export interface MarkToPublish {
  account: string;
  until: number;
  reason: string | null;
}

/**
 * The mark to share for a local account state change (an `account.state` event's `to`, `until`, `reason`),
 * or null: only `exhausted` with a reset time, and not one this box took from another box.
 */
export function markToPublish(
  account: string,
  to: string,
  until: number | null,
  reason: string | null,
): MarkToPublish | null {
  if (to !== "exhausted" || until === null) return null;
  if (reason?.startsWith(FROM_BOX)) return null;
  return { account, until, reason };
}

export interface MarkToApply {
  account: string;
  until: number;
  /** `exhausted on box <box>: <their reason>` */
  reason: string;
}

/**
 * Other boxes' exhaustion marks in force at `now` that this box should take: for accounts it has
 * (`local`, its rows) that are `active` or `cooldown` here. An account already exhausted, revoked or
 * disabled here keeps its own state (its own reset time, or a reason the other box cannot know).
 */
export function marksToApply(
  local: readonly AccountRow[],
  marks: readonly SharedAccountState[],
  me: string,
  now: number,
): MarkToApply[] {
  const rows = new Map(local.map((r) => [r.name, r]));
  const out: MarkToApply[] = [];
  for (const m of marks) {
    if (m.box === me || m.state !== "exhausted" || m.until === null || m.until <= now) continue;
    const row = rows.get(m.account);
    if (!row || (row.state !== "active" && row.state !== "cooldown")) continue;
    out.push({ account: m.account, until: m.until, reason: `${FROM_BOX}${m.box}: ${m.reason ?? "limit reached"}` });
  }
  return out;
}
