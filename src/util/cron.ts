// Cron expressions, through croner (computation only: a Cron built paused and without a function starts no
// timer). Times are epoch ms; a schedule without a time zone runs in the daemon's local time, as croner does.
import { Cron } from "croner";

/**
 * Five fields (minute hour day-of-month month day-of-week) or six (seconds first); croner's nicknames
 * (@hourly, @daily, @weekly, @monthly, @yearly) too. Seven fields (years) are refused: a schedule that ends
 * is not what a recurring task is.
 */
export const CRON_MODE = "5-or-6-parts" as const;

export interface CronSpec {
  cron: string;
  /** an IANA time zone name; undefined = the daemon's local time */
  timezone?: string | undefined;
}

export interface CronTimes {
  /** the first run strictly after `after`, or null if there is none */
  next: (after: number) => number | null;
  /** the latest run at or before `atOrBefore`, or null if there is none */
  latest: (atOrBefore: number) => number | null;
}

/** The canonical IANA name of a time zone ("europe/berlin" → "Europe/Berlin"), or null when Intl knows no such zone. */
export function canonicalTimezone(tz: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** null when croner accepts the expression (in that zone), else croner's reason. */
export function cronProblem(spec: CronSpec): string | null {
  try {
    build(spec).nextRun();
    return null;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, "");
  }
}

const cache = new Map<string, Cron>();

/** The run times of a valid expression (throws for an invalid one: check it with cronProblem first). */
export function cronTimes(spec: CronSpec): CronTimes {
  const key = cronKey(spec);
  let c = cache.get(key);
  if (!c) {
    c = build(spec);
    if (cache.size > 256) cache.clear();
    cache.set(key, c);
  }
  const job = c;
  return {
    next: (after) => job.nextRun(new Date(after))?.getTime() ?? null,
    // croner's previousRuns includes a run earlier in the same second as the reference, not one at it: +1 ms
    // makes "at or before" exact.
    latest: (atOrBefore) => job.previousRuns(1, new Date(atOrBefore + 1))[0]?.getTime() ?? null,
  };
}

/** What a schedule's times depend on: a change of either is a new schedule for catch-up purposes. */
export function cronKey(spec: CronSpec): string {
  return `${spec.cron.trim()}|${spec.timezone ?? ""}`;
}

function build(spec: CronSpec): Cron {
  return new Cron(spec.cron.trim(), {
    paused: true,
    mode: CRON_MODE,
    ...(spec.timezone ? { timezone: spec.timezone } : {}),
  });
}

/** `2026-11-30` for `at` in the schedule's zone (local time without one): the `{{date}}` placeholder. */
export function dateIn(at: number, timezone: string | undefined): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(new Date(at));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}
