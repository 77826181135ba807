// The status-line feed: Claude Code runs the `statusLine` command of its settings after API responses and
// gives it JSON on stdin that, for subscription logins, carries the account's unified rate-limit figures
// taken from the response headers (docs/claude-code.md, "Seen on 2.1.332"; since CLI 2.1.80 [reported],
// verified here on 2.1.197 and 2.1.332):
//   {"session_id":"…","version":"2.1.332","model":{…},
//    "rate_limits":{"five_hour":{"used_percentage":42.3,"resets_at":1796048228},"seven_day":{…}}}
// Our status-line script (STATUS_LINE_SCRIPT) keeps the latest input of each session in one file, then
// runs the user's own status-line command, if any, on the same input. Pure parts here; I/O in status-feed.ts.
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

/**
 * The status-line command. It must be quick and print only what the user's own status line prints:
 * it saves its stdin as `feed/<session>.<account>.json` (temp file + rename, so the daemon never reads
 * half of it; one file per session, replaced each time, so a busy CLI leaves no backlog), then runs
 * `user/<session>.sh` — the user's own status-line command, written there by the daemon at launch —
 * with the same input, so nobody loses their status line. Without one it prints the account's name.
 * Paths are relative to the script's own folder; session and account come from the CLI's environment.
 */
export const STATUS_LINE_SCRIPT = `#!/bin/sh
# claude-failover status line: keeps the CLI's latest status input (usage figures) for the daemon,
# then shows the user's own status line. Keep it tiny.
dir=\${0%/*}
s=\${CLAUDE_FAILOVER_SESSION:-unknown}
a=\${CLAUDE_FAILOVER_ACCOUNT:-unknown}
f="$dir/feed/$s.$a.json"
t="$dir/feed/.$s.$a.$$.tmp"
if cat > "$t" 2>/dev/null; then mv -f "$t" "$f" 2>/dev/null || rm -f "$t"; else rm -f "$t"; fi
u="$dir/user/$s.sh"
if [ -f "$u" ]; then
  sh "$u" < "$f"
else
  printf 'claude-failover · account %s' "$a"
fi
exit 0
`;

/** The settings `statusLine` value of one settings file's JSON text, when it is a command; else null. */
export function userStatusLineCommand(settingsJson: string): string | null {
  try {
    const o = JSON.parse(settingsJson) as { statusLine?: { type?: unknown; command?: unknown } };
    const sl = o?.statusLine;
    return sl && sl.type === "command" && typeof sl.command === "string" && sl.command.trim() ? sl.command : null;
  } catch {
    return null;
  }
}
