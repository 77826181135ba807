// Pure: usage figures shared between boxes (issue 19, planning together: "usage figures from any box count
// for all"). Each box publishes its own newest reading of each account (its status-line feed or its usage
// poll) with its time and its box; each box plans on the newest reading of each account, whichever box took
// it. The figures' shape is quota/policy-types.ts `UsageFigures` (boxes/ sits below quota/, so it is
// checked structurally here: a reading from another box is data from the network, not trusted blindly).

import type { SharedUsage } from "../store/shared/shared-types.js";

/** What this module needs of `UsageFigures`: when they were read, and from where. */
export interface FiguresLike {
  fetchedAt: number | null;
  source: string;
}

function isWindow(v: unknown): boolean {
  if (v === null) return true;
  if (typeof v !== "object") return false;
  const w = v as { utilization?: unknown; resetsAt?: unknown };
  return (
    typeof w.utilization === "number" &&
    Number.isFinite(w.utilization) &&
    (w.resetsAt === null || (typeof w.resetsAt === "number" && Number.isFinite(w.resetsAt)))
  );
}

/**
 * The figures of a shared reading when they have the `UsageFigures` shape (windows null or
 * { utilization: number, resetsAt: number | null }, perModelWeekly an object of windows, fetchedAt a
 * number, source a string); null otherwise (a reading written by a different version, or damaged).
 */
export function sharedFigures<F extends FiguresLike>(u: SharedUsage): F | null {
  const f = u.figures as Record<string, unknown> | null;
  if (!f || typeof f !== "object") return null;
  if (typeof f.fetchedAt !== "number" || !Number.isFinite(f.fetchedAt) || typeof f.source !== "string") return null;
  if (!isWindow(f.fiveHour ?? null) || !isWindow(f.sevenDay ?? null)) return null;
  const pm = f.perModelWeekly;
  if (!pm || typeof pm !== "object" || Array.isArray(pm) || !Object.values(pm).every((w) => w !== null && isWindow(w)))
    return null;
  return f as unknown as F;
}

/**
 * The figures this box plans on for one account: another box's reading (`shared`, the newest of any box)
 * when it is newer than this box's own (`local`), else its own. A reading of this box (`me`) in the shared
 * store is never preferred to the local one (that is where it came from).
 */
export function newestFigures<F extends FiguresLike>(local: F, shared: SharedUsage | undefined, me: string): F {
  if (!shared || shared.box === me) return local;
  const theirs = sharedFigures<F>(shared);
  if (!theirs || theirs.fetchedAt === null) return local;
  return local.fetchedAt === null || theirs.fetchedAt > local.fetchedAt ? theirs : local;
}

/** Whether this box's reading (`local`) should be written: newer than what it wrote last (`lastAt`). */
export function usageToPublish(local: FiguresLike, lastAt: number | undefined): boolean {
  return local.fetchedAt !== null && local.source !== "none" && (lastAt === undefined || local.fetchedAt > lastAt);
}
