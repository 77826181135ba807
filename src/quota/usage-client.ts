import { attemptSignal } from "../util/abort.js";
import type { UsageFigures, WindowFigure } from "./policy-types.js";

export type UsageFetch =
  | { ok: true; figures: UsageFigures }
  /** retryAfterMs: the retry-after header in ms (0 for `retry-after: 0`, the refusal of an unknown client); null without one. */
  | { ok: false; kind: "rate_limited"; retryAfterMs: number | null; detail: string }
  | { ok: false; kind: "unauthorized"; detail: string }
  | { ok: false; kind: "error"; detail: string };

/** The seam for the usage endpoint, so the poller can be tested without HTTP. */
export type UsageSource = (accessToken: string) => Promise<UsageFetch>;

function windowOf(v: unknown): WindowFigure | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const u = typeof o.utilization === "number" ? o.utilization : Number.NaN;
  if (!Number.isFinite(u)) return null;
  const r = typeof o.resets_at === "string" ? Date.parse(o.resets_at) : Number.NaN;
  return { utilization: Math.max(0, u) / 100, resetsAt: Number.isFinite(r) ? r : null };
}

/** Parses the endpoint's JSON leniently: unknown keys ignored, per-model weekly windows collected. */
export function parseUsage(body: unknown, now: number): UsageFigures | null {
  if (!body || typeof body !== "object" || Array.isArray(body)) return null;
  const o = body as Record<string, unknown>;
  const fiveHour = windowOf(o.five_hour);
  const sevenDay = windowOf(o.seven_day);
  if (!fiveHour && !sevenDay) return null;
  const perModelWeekly: Record<string, WindowFigure> = {};
  for (const [k, v] of Object.entries(o)) {
    const m = /^seven_day_([a-z0-9_]+)$/.exec(k);
    const w = m ? windowOf(v) : null;
    if (m && w) perModelWeekly[m[1]!] = w;
  }
  return { fiveHour, sevenDay, perModelWeekly, fetchedAt: now, source: "usage_api" };
}

/** retry-after as ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(v: string | null, now: number): number | null {
  if (v === null || v.trim() === "") return null;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : null;
}

/**
 * GET {base}/api/oauth/usage with the account's own access token, as the CLI itself calls it:
 * `User-Agent: claude-code/<version>` (anything else gets 429 with `retry-after: 0` for ever) and
 * `anthropic-beta: oauth-2025-04-20` (docs/notes/usage-endpoint.md). The token is read from the
 * account's credentials file by the caller and never refreshed or written by us.
 */
export function httpUsageSource(
  base: string,
  timeoutMs: number,
  now: () => number,
  userAgent: () => string,
): UsageSource {
  return async (accessToken) => {
    const attempt = attemptSignal(null, timeoutMs);
    try {
      return await fetchUsage(accessToken, attempt.signal);
    } finally {
      attempt.done();
    }
  };
  async function fetchUsage(accessToken: string, signal: AbortSignal): ReturnType<UsageSource> {
    let res: Response;
    try {
      res = await fetch(`${base}/api/oauth/usage`, {
        headers: {
          authorization: `Bearer ${accessToken}`,
          "anthropic-beta": "oauth-2025-04-20",
          accept: "application/json",
          "user-agent": userAgent(),
        },
        signal,
      });
    } catch (e) {
      const name = e instanceof Error ? e.name : "";
      return {
        ok: false,
        kind: "error",
        detail: name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `request failed: ${name || "error"}`,
      };
    }
    if (res.status === 429) {
      const ra = parseRetryAfter(res.headers.get("retry-after"), now());
      await res.body?.cancel();
      return {
        ok: false,
        kind: "rate_limited",
        retryAfterMs: ra,
        detail: `429 from the usage endpoint (retry-after ${ra === null ? "absent" : `${Math.round(ra / 1000)} s`})`,
      };
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      return {
        ok: false,
        kind: "unauthorized",
        detail: `${res.status}: token not accepted for usage (expired, or a setup-token without user:profile)`,
      };
    }
    if (!res.ok) {
      await res.body?.cancel();
      return { ok: false, kind: "error", detail: `HTTP ${res.status} from the usage endpoint` };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return { ok: false, kind: "error", detail: "usage endpoint answered with invalid JSON" };
    }
    const figures = parseUsage(body, now());
    return figures
      ? { ok: true, figures }
      : { ok: false, kind: "error", detail: "usage endpoint answered without usage windows" };
  }
}
