// The status-line feed: Claude Code runs the `statusLine` command of its settings after API responses and
// gives it JSON on stdin that, for subscription logins, carries the account's unified rate-limit figures
// taken from the response headers (docs/claude-code.md, "Seen on 2.1.332"; since CLI 2.1.80 [reported],
// verified here on 2.1.197 and 2.1.332):
//   {"session_id":"…","version":"2.1.332","model":{…},
//    "rate_limits":{"five_hour":{"used_percentage":42.3,"resets_at":1796048228},"seven_day":{…}}}
// Our status-line script (STATUS_LINE_SCRIPT) keeps the latest input of each session in one file, then
// runs the user's own status-line command, if any, on the same input (the script and its files:
// claude/status-line-files.ts). Pure parts here; I/O in status-feed.ts.
import type { UsageFigures, WindowFigure } from "./policy-types.js";

export interface StatusLineReading {
  figures: UsageFigures;
  /** the CLI's conversation id and version, when it said */
  claudeSessionId: string | null;
  version: string | null;
}

function windowOf(v: unknown): WindowFigure | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const pct = o.used_percentage;
  if (typeof pct !== "number" || !Number.isFinite(pct)) return null;
  const reset = o.resets_at;
  const resetsAt = typeof reset === "number" && Number.isFinite(reset) && reset > 0 ? Math.round(reset * 1000) : null;
  return { utilization: Math.min(Math.max(pct, 0), 100) / 100, resetsAt };
}

/**
 * Parses one status-line input. `at` is when the CLI wrote it (epoch ms). Returns null when the input
 * is not JSON or carries no `rate_limits` window (API-key logins, or before the first response).
 * `used_percentage` is 0–100 and becomes utilization 0–1; `resets_at` is epoch seconds.
 */
export function parseStatusLine(text: string, at: number): StatusLineReading | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return null;
  const root = o as Record<string, unknown>;
  const rl = root.rate_limits;
  if (!rl || typeof rl !== "object" || Array.isArray(rl)) return null;
  const r = rl as Record<string, unknown>;
  const fiveHour = windowOf(r.five_hour);
  const sevenDay = windowOf(r.seven_day);
  const perModelWeekly: Record<string, WindowFigure> = {};
  for (const [k, v] of Object.entries(r)) {
    const m = /^seven_day_([a-z0-9_]+)$/.exec(k);
    const w = m ? windowOf(v) : null;
    if (m && w) perModelWeekly[m[1]!] = w;
  }
  if (!fiveHour && !sevenDay && Object.keys(perModelWeekly).length === 0) return null;
  return {
    figures: { fiveHour, sevenDay, perModelWeekly, fetchedAt: at, source: "statusline" },
    claudeSessionId: typeof root.session_id === "string" ? root.session_id : null,
    version: typeof root.version === "string" ? root.version : null,
  };
}

/** `<session>.<account>.json` → its parts; null for any other name (names are [A-Za-z0-9_-]). */
export function parseFeedName(file: string): { session: string; account: string } | null {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.json$/.exec(file);
  return m ? { session: m[1]!, account: m[2]! } : null;
}
