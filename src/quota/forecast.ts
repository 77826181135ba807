// Burn rate and projected exhaustion of one usage window of one account, from its recent samples
// (the status-line feed and the usage endpoint, stored by Store.putUsage). Pure: `now` is a parameter.
//
// Method:
// 1. The current window period: walk back from the newest sample and stop at the first reset between
//    two samples. A reset is a drop in utilization of more than DROP_TOLERANCE (the two feeds round
//    differently: 42.3 % from the status line, 42 % from the endpoint), a reset time that moved by more
//    than RESET_TOLERANCE_MS (the endpoint's reset time jitters by seconds), or an older sample whose
//    reset time had passed when the newer one was taken. Samples before it are ignored.
// 2. Of that period, the samples within `lookbackMs` of `now` (none after `now`).
// 3. Burn: the ordinary least-squares slope of utilization against time over those samples, in
//    utilization fraction per hour. Least squares rather than first-to-last so one late or rounded
//    reading doesn't swing the rate. Null with fewer than 2 samples or a span under `minSpanMs`: a few
//    seconds of readings say nothing about the next hour.
// 4. Exhaustion: from the newest reading, (1 − utilization) / burn hours later; null when the burn is
//    unknown or ≤ 0, or when the window resets first. A window already at 100 % is exhausted at its
//    newest reading.

/** One reading of one window: utilization 0..1 and the window's reset (epoch ms, null when unknown). */
export interface UsageSample {
  at: number;
  utilization: number;
  resetsAt: number | null;
}

export interface WindowForecast {
  /** The newest reading's utilization (0..1). */
  utilization: number;
  /** Utilization fraction per hour over the lookback; null when too few samples or too short a span. */
  burnPerHour: number | null;
  /** When it reaches 100 % at that burn (epoch ms); null when burn is unknown or ≤ 0, or it resets first. */
  exhaustAt: number | null;
  /** When the window resets (epoch ms), from the newest reading that has one; null when unknown. */
  resetsAt: number | null;
  /** How many samples of the current period fall within the lookback. */
  samples: number;
}

export interface ForecastOptions {
  /** How far back samples count for the burn (ms). */
  lookbackMs: number;
  /** Shortest span of samples that gives a burn (ms). */
  minSpanMs: number;
}

export const DEFAULT_FORECAST: ForecastOptions = { lookbackMs: 60 * 60_000, minSpanMs: 5 * 60_000 };

const HOUR = 3_600_000;
export const DROP_TOLERANCE = 0.02;
export const RESET_TOLERANCE_MS = 10 * 60_000;

// Whether `older` and `newer` belong to the same window period.
function samePeriod(older: UsageSample, newer: UsageSample): boolean {
  if (older.utilization - newer.utilization > DROP_TOLERANCE + 1e-9) return false; // 1e-9: float noise
  if (older.resetsAt !== null && older.resetsAt <= newer.at) return false;
  if (
    older.resetsAt !== null &&
    newer.resetsAt !== null &&
    Math.abs(older.resetsAt - newer.resetsAt) > RESET_TOLERANCE_MS
  )
    return false;
  return true;
}

/** The samples of the current window period, oldest first (step 1 above). */
export function currentPeriod(samples: readonly UsageSample[], now: number): UsageSample[] {
  const sorted = samples.filter((s) => s.at <= now && Number.isFinite(s.utilization)).sort((l, r) => l.at - r.at);
  let start = sorted.length - 1;
  while (start > 0 && samePeriod(sorted[start - 1]!, sorted[start]!)) start--;
  return start < 0 ? [] : sorted.slice(start);
}

/** Least-squares slope of utilization per hour; null with fewer than 2 distinct times. */
export function leastSquaresSlope(samples: readonly UsageSample[]): number | null {
  if (samples.length < 2) return null;
  const t0 = samples[0]!.at;
  const xs = samples.map((s) => (s.at - t0) / HOUR);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = samples.reduce((a, s) => a + s.utilization, 0) / samples.length;
  let sxy = 0;
  let sxx = 0;
  samples.forEach((s, i) => {
    const dx = xs[i]! - mx;
    sxy += dx * (s.utilization - my);
    sxx += dx * dx;
  });
  return sxx === 0 ? null : sxy / sxx;
}

/**
 * The forecast of one window of one account at `now`; null when no sample of the current period is
 * known, or the period's reset has passed (the window rolled over and its figures no longer apply).
 */
export function forecastWindow(
  samples: readonly UsageSample[],
  now: number,
  opts: ForecastOptions = DEFAULT_FORECAST,
): WindowForecast | null {
  const period = currentPeriod(samples, now);
  const last = period[period.length - 1];
  if (last === undefined) return null;
  let resetsAt: number | null = null;
  for (const s of period) if (s.resetsAt !== null) resetsAt = s.resetsAt;
  if (resetsAt !== null && resetsAt <= now) return null;
  const recent = period.filter((s) => s.at >= now - opts.lookbackMs);
  const span = recent.length ? last.at - recent[0]!.at : 0;
  const burnPerHour = recent.length >= 2 && span >= opts.minSpanMs ? leastSquaresSlope(recent) : null;
  let exhaustAt = reachesAt(last.at, last.utilization, burnPerHour, 1);
  if (exhaustAt !== null && resetsAt !== null && exhaustAt >= resetsAt) exhaustAt = null;
  return { utilization: last.utilization, burnPerHour, exhaustAt, resetsAt, samples: recent.length };
}

/**
 * When utilization reaches `threshold` at `burnPerHour` from the reading (`at`, `utilization`);
 * `at` itself when already there, null when it never does (burn unknown or ≤ 0).
 */
export function reachesAt(
  at: number,
  utilization: number,
  burnPerHour: number | null,
  threshold: number,
): number | null {
  if (utilization >= threshold) return at;
  if (burnPerHour === null || burnPerHour <= 0) return null;
  return Math.round(at + ((threshold - utilization) / burnPerHour) * HOUR);
}
