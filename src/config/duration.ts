// Durations as written in the config file and on the command line:
// a number followed by a unit, e.g. "500ms", "30s", "5m", "2h", "7d", or a
// sequence of such parts ("1h30m"). A unit is always required, so that a bare
// "30" can never be silently read as seconds by one reader and ms by another.
// Pure functions only: no clock, no I/O.

/** Milliseconds per unit, largest first (formatDuration relies on the order). */
export const DURATION_UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
];

const UNIT_MS: ReadonlyMap<string, number> = new Map(DURATION_UNITS);

// One part: digits with an optional fraction, then a unit. "ms" is listed
// before "m" so "500ms" is not read as "500m" followed by garbage "s".
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;

/** The hint shown to people when a duration cannot be read. */
export const DURATION_HINT = "a duration like 500ms, 30s, 5m, 2h or 7d";

/**
 * Parse a duration into whole milliseconds (fractions are rounded:
 * "1.5s" is 1500, "0.5ms" is 1).
 * Throws a RangeError for anything else: empty text, a missing or unknown
 * unit, signs, spaces, or a value too large to be represented exactly.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string" || text.length === 0) throw invalid(text);
  let total = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) throw invalid(text);
    total += Number(m[1]) * (UNIT_MS.get(m[2] as string) as number);
    at = PART.lastIndex;
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration "${text}" is too large`);
  return ms;
}

/** Like parseDuration, but undefined instead of throwing. */
export function tryParseDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/**
 * Format milliseconds the way people write them, exactly and compactly:
 * 90_000 → "1m30s", 500 → "500ms", 0 → "0s". Round-trips through
 * parseDuration. Fractions of a millisecond are rounded away.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return "0s";
  let out = "";
  for (const [unit, size] of DURATION_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

function invalid(text: unknown): RangeError {
  return new RangeError(`invalid duration ${JSON.stringify(text)}: expected ${DURATION_HINT}`);
}
