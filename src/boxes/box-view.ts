// What `status` shows of the boxes sharing the store (issue 19 point 5): pure, from the leases and the
// running tasks' boxes read by BoxSync's last round.
import type { BoxLease } from "../store/shared/shared-types.js";

export interface BoxView {
  box: string;
  /** this daemon's own box */
  self: boolean;
  /** alive while its lease's expiresAt is after `now`; lapsed after it; `gone`: running tasks but no lease row (a clean stop) */
  lease: "alive" | "lapsed" | "gone";
  /** ms since its last heartbeat at `now`; null without a lease row */
  heartbeatAgeMs: number | null;
  /** when its lease was taken (or re-taken after it lapsed), epoch ms; null without a lease row */
  since: number | null;
  expiresAt: number | null;
  /** tasks of the shared queue in state running on it */
  runningTasks: number;
}

/**
 * Every box with a lease row or a running task, by name. `runningOn` holds the `box` of each running task
 * (null entries ignored). Times are epoch ms.
 */
export function boxesView(
  leases: readonly BoxLease[],
  runningOn: readonly (string | null)[],
  me: string,
  now: number,
): BoxView[] {
  const running = new Map<string, number>();
  for (const b of runningOn) if (b !== null) running.set(b, (running.get(b) ?? 0) + 1);
  const names = new Set([...leases.map((l) => l.box), ...running.keys()]);
  return [...names].sort().map((box) => {
    const l = leases.find((x) => x.box === box);
    return {
      box,
      self: box === me,
      lease: !l ? "gone" : l.expiresAt > now ? "alive" : "lapsed",
      heartbeatAgeMs: l ? Math.max(0, now - l.heartbeatAt) : null,
      since: l?.since ?? null,
      expiresAt: l?.expiresAt ?? null,
      runningTasks: running.get(box) ?? 0,
    };
  });
}
