// Parses Claude Code's limit messages ("You've hit your 5-hour limit · resets
// 2:18pm (UTC)") into a kind and a reset instant. Pure: `now` is a parameter and
// time zones go through Intl only, so DST is handled by the ICU database.
//
// Wordings seen across CLI versions (../shared/docs/claude-code.md, "Seen on 2.1.332"):
//   You've hit your {5-hour|session|weekly|Opus|Sonnet|usage} limit · resets 2:18pm (UTC)   2.1.332 [verified]
//   You've hit your weekly limit · resets Dec 3, 2:18pm (UTC)                                2.1.332 [verified]
//   Weekly limit reached · resets Dec 2, 7pm (Europe/Moscow)                                 [reported]
//   5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or …          [reported]
//   Opus weekly limit reached ∙ resets Oct 31, 9am                                           [reported]
//   You're out of extra usage · resets 1:30am (Asia/Calcutta)                                [reported]
//   Claude AI usage limit reached|<epoch s>                                                  oldest CLIs [reported]
//   Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).                older CLIs [reported]

/**
 * What ran out. session: the 5-hour window; weekly: the overall 7-day window; opus / sonnet: a
 * per-model weekly cap; usage: a limit the message doesn't name; extra_usage: paid overage credit.
 */
export type LimitKind = "session" | "weekly" | "opus" | "sonnet" | "usage" | "extra_usage" | "unknown";
export interface LimitInfo {
  kind: LimitKind;
  resetAt: number | null;
}
export interface UsageWarning {
  kind: LimitKind;
  percent: number | null;
  resetAt: number | null;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
// The CLI floors the reset to the minute and a pane may be read a little late:
// a time of day up to this far in the past means "just reset", not "tomorrow".
const PAST_GRACE_MS = 5 * MINUTE;

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

const APOS = "['’]";
// Order matters: the first match names the kind.
const HEADS: { re: RegExp; kind: (m: RegExpMatchArray) => LimitKind | null }[] = [
  // "You've hit your 5-hour limit", "You’ve reached your weekly limit", "You've hit your limit"
  {
    re: new RegExp(`You${APOS}ve (?:hit|reached) your (?:([\\w -]{1,30}?) )?limit`, "i"),
    kind: (m) => kindOfWords(m[1] ?? "usage"),
  },
  { re: new RegExp(`You${APOS}re out of extra usage`, "i"), kind: () => "extra_usage" },
  // "Weekly limit reached", "5-hour limit reached", "Opus weekly limit reached", "Claude AI usage limit reached".
  // Only known kind words count: "Context limit reached" is not a quota.
  { re: /(?<![\w-])((?:[\w-]+ ){0,2}[\w-]+) limit reached/i, kind: (m) => knownKind(m[1] ?? "") },
];
// "You've used 90% of your session limit" and "Approaching weekly limit" are
// warnings: the request still went through, so they are never a hit limit.
const WARNING = new RegExp(
  `You${APOS}ve used (\\d{1,3})% of your ([\\w -]{1,30}?) limit|Approaching (?:your )?([\\w -]{1,30}?) limit`,
  "i",
);
// A bare "resets 5am (UTC)" fragment, e.g. the second half of a wrapped line.
const BARE_RESET = /^[\s·∙•|-]*resets?\b/i;
const RESET_AT = /\b(?:will reset|resets?)(?:\s+(?:at|on))?\s+(.*)/i;
// Optional "Feb 7, " / "Feb 7, 2027, " / "Feb 7 at ", then "11am", "3:58am", "17:00", then "(Zone)".
const WHEN =
  /^(?:([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?(?:,? (\d{4}))?(?:,|\s+at)?\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap])?\.?(?:m\.?)?(?![\w:])(?:\s*\(([^)]+)\))?/i;
// The oldest CLI wrote "Claude AI usage limit reached|1712345678".
const PIPE_EPOCH = /usage limit reached\|(\d{9,11})\b/i;
// Pane layout around a wrapped message: box borders and the result gutter at a row's ends.
const ROW_EDGES = /^[\s│┃╭╰├⎿]+|[\s│┃╮╯┤]+$/gu;

// The kind named by the words before "limit"; model names win over the window ("Opus weekly" is the Opus cap).
function kindOfWords(words: string): LimitKind {
  const w = ` ${words.trim().toLowerCase()} `;
  if (/ opus /.test(w)) return "opus";
  if (/ sonnet /.test(w)) return "sonnet";
  if (/ (?:5|five)[- ]?hours? | session /.test(w)) return "session";
  if (/ (?:weekly|7[- ]?day|seven[- ]day) /.test(w)) return "weekly";
  if (/ extra usage /.test(w)) return "extra_usage";
  if (/ usage /.test(w)) return "usage";
  return "unknown";
}

function knownKind(words: string): LimitKind | null {
  const k = kindOfWords(words);
  return k === "unknown" ? null : k;
}

/** One line of text from a message that may be wrapped over pane rows (borders and gutters dropped). */
export function unwrapLimitText(text: string): string {
  return text
    .split(/\r\n?|\n/)
    .map((row) => row.replace(ROW_EDGES, ""))
    .filter((row) => row !== "")
    .join(" ")
    .replace(/[ \t]+/g, " ");
}

/** The kind named by a limit message's head, or null when `text` holds no hit-limit wording. */
export function limitHeadKind(text: string): LimitKind | null {
  const t = unwrapLimitText(text);
  if (WARNING.test(t)) return null;
  for (const h of HEADS) {
    const m = t.match(h.re);
    const kind = m ? h.kind(m) : null;
    if (kind !== null) return kind;
  }
  return null;
}

/**
 * Recognises a hit-limit message (any wording above, `·` or `∙`, straight or curly apostrophe, with or
 * without a date and a zone, possibly wrapped over several rows); null for unrelated text and for
 * usage warnings. `resetAt` is epoch ms, null when the message has no reset time we can resolve.
 * A time without a zone is read in `defaultTz`; a time of day is the next one after `now` (a few
 * minutes in the past still count as today); a date without a year is the next one.
 */
export function parseLimitMessage(raw: string, now: number, defaultTz = "UTC"): LimitInfo | null {
  const text = unwrapLimitText(raw);
  const head = limitHeadKind(text);
  if (head === null) {
    if (WARNING.test(text) || !BARE_RESET.test(text)) return null;
    const resetAt = parseResetPhrase(text, now, defaultTz);
    return resetAt === undefined ? null : { kind: "unknown", resetAt };
  }
  const pipe = text.match(PIPE_EPOCH);
  if (pipe) return { kind: head, resetAt: Number(pipe[1]) * 1000 };
  return { kind: head, resetAt: parseResetPhrase(text, now, defaultTz) ?? null };
}

/** "You've used 90% of your session limit · resets 5pm" → percent 90; null when not a warning. */
export function parseUsageWarning(raw: string, now: number, defaultTz = "UTC"): UsageWarning | null {
  const text = unwrapLimitText(raw);
  const m = text.match(WARNING);
  if (!m) return null;
  const percent = m[1] !== undefined ? Number(m[1]) : null;
  const kind = kindOfWords(m[2] ?? m[3] ?? "");
  return { kind, percent, resetAt: parseResetPhrase(text, now, defaultTz) ?? null };
}

/** `anthropic-ratelimit-unified-reset` (epoch seconds) → epoch ms; null when absent or malformed. */
export function parseResetHeader(epochSec: string | undefined): number | null {
  if (epochSec === undefined) return null;
  const s = epochSec.trim();
  if (!/^\d+(?:\.\d+)?$/.test(s)) return null;
  const ms = Math.round(Number(s) * 1000);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

// undefined: no reset phrase at all; null: a phrase we could not resolve (bad zone).
function parseResetPhrase(text: string, now: number, defaultTz: string): number | null | undefined {
  const tail = text.match(RESET_AT)?.[1];
  if (tail === undefined) return undefined;
  const w = tail.match(WHEN);
  if (!w) return undefined;
  const [, monName, dayStr, yearStr, hourStr, minStr, ampm, zone] = w;
  // A bare number ("resets 5") is too ambiguous to be a time.
  if (ampm === undefined && minStr === undefined) return undefined;
  const hour = toHour24(Number(hourStr), ampm);
  const minute = minStr === undefined ? 0 : Number(minStr);
  if (hour === null || minute > 59) return undefined;
  const tz = zone?.trim() || defaultTz;
  if (!isValidZone(tz)) return null;
  if (monName === undefined) return nextTimeOfDay(hour, minute, tz, now);
  const month = MONTHS.indexOf(monName.slice(0, 3).toLowerCase()) + 1;
  if (month === 0) return undefined;
  return nextDate(month, Number(dayStr), yearStr ? Number(yearStr) : null, hour, minute, tz, now);
}

function toHour24(h: number, ampm: string | undefined): number | null {
  if (ampm === undefined) return h <= 23 ? h : null;
  if (h < 1 || h > 12) return null;
  const pm = ampm.toLowerCase() === "p";
  return (h % 12) + (pm ? 12 : 0);
}

function nextTimeOfDay(hour: number, minute: number, tz: string, now: number): number | null {
  const today = wallClock(now, tz);
  let t = zonedToEpoch(today.y, today.m, today.d, hour, minute, tz);
  if (t !== null && t < now - PAST_GRACE_MS) {
    // Tomorrow's date in the zone: step the civil date, not the instant (DST days are 23/25 h).
    const tomorrow = new Date(Date.UTC(today.y, today.m - 1, today.d) + DAY);
    t = zonedToEpoch(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth() + 1, tomorrow.getUTCDate(), hour, minute, tz);
  }
  return t;
}

function nextDate(
  month: number,
  day: number,
  year: number | null,
  hour: number,
  minute: number,
  tz: string,
  now: number,
): number | null {
  if (year !== null) return zonedToEpoch(year, month, day, hour, minute, tz);
  const thisYear = wallClock(now, tz).y;
  const t = zonedToEpoch(thisYear, month, day, hour, minute, tz);
  if (t !== null && t >= now - PAST_GRACE_MS) return t;
  return zonedToEpoch(thisYear + 1, month, day, hour, minute, tz);
}

interface WallClock {
  y: number;
  m: number;
  d: number;
  h: number;
  min: number;
}

function isValidZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The civil date and time at instant `t` in zone `tz` (month 1-based). Throws on an unknown zone. */
export function wallClock(t: number, tz: string): WallClock {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
  });
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(t)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { y: parts.year ?? 0, m: parts.month ?? 0, d: parts.day ?? 0, h: parts.hour ?? 0, min: parts.minute ?? 0 };
}

// Offset of `tz` from UTC at instant t, in ms (whole minutes: seconds are dropped on both sides).
function offsetAt(t: number, tz: string): number {
  const w = wallClock(t, tz);
  const floored = Math.floor(t / MINUTE) * MINUTE;
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min) - floored;
}

/**
 * The instant whose civil time in `tz` is y-m-d h:min (month 1-based); null for an unknown zone.
 * Ambiguous times (the repeated hour when clocks go back) resolve to the earlier instant;
 * times that don't exist (clocks go forward) move forward by the gap, like Temporal's "compatible".
 */
export function zonedToEpoch(y: number, m: number, d: number, h: number, min: number, tz: string): number | null {
  if (!isValidZone(tz)) return null;
  const asUtc = Date.UTC(y, m - 1, d, h, min);
  // Offsets a day either side bracket any single DST transition near the target.
  const before = offsetAt(asUtc - DAY, tz);
  const after = offsetAt(asUtc + DAY, tz);
  const matches = [asUtc - before, asUtc - after].filter((t) => {
    const w = wallClock(t, tz);
    return w.y === y && w.m === m && w.d === d && w.h === h && w.min === min;
  });
  if (matches.length > 0) return Math.min(...matches);
  return asUtc - before;
}
