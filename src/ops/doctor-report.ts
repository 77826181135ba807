// One doctor check's outcome and how it is printed: ✓ fine, ! worth knowing, ✗ broken (exit 1).

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  status: CheckStatus;
  /** What was checked, e.g. "account work: credentials". */
  name: string;
  /** What was found. */
  detail: string;
  /** What to do about it (warn and fail only). */
  fix?: string;
}

export const ok = (name: string, detail: string): Check => ({ status: "ok", name, detail });
export const warn = (name: string, detail: string, fix?: string): Check => ({
  status: "warn",
  name,
  detail,
  ...(fix ? { fix } : {}),
});
export const fail = (name: string, detail: string, fix: string): Check => ({ status: "fail", name, detail, fix });

const MARK: Record<CheckStatus, string> = { ok: "✓", warn: "!", fail: "✗" };

export function formatCheck(c: Check): string {
  const head = `${MARK[c.status]} ${c.name}: ${c.detail}`;
  return c.fix ? `${head}\n    fix: ${c.fix}\n` : `${head}\n`;
}

export function summary(checks: Check[]): string {
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  if (failed === 0)
    return `all ${checks.length} checks passed${warned ? ` (${warned} warning${warned > 1 ? "s" : ""})` : ""}\n`;
  return `${failed} problem${failed > 1 ? "s" : ""}${warned ? `, ${warned} warning${warned > 1 ? "s" : ""}` : ""} (of ${checks.length} checks)\n`;
}

/** "3h 12m", "5m", "40s": for token expiry. */
export function humanDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}
