// Parsing of spool file names and payloads: pure, no I/O.
export interface HookEvent {
  file: string;
  /** epoch ms when the hook ran */
  ts: number;
  /** ns timestamp and pid, for a total order of events written in the same millisecond */
  order: [bigint, number];
  session: string;
  account: string;
  /** the launch of the CLI that wrote it (CLAUDE_FAILOVER_LAUNCH); null in names without one (older hook scripts) */
  launch: string | null;
  event: string;
  payload: Record<string, unknown>;
}

// <ns>.<pid>.<session>.<account>[.<launch>].<Event>.json (the launch: 12 hex digits)
const NAME_RE = /^(\d{10,20})\.(\d+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.(?:([0-9a-f]{12})\.)?([A-Za-z]+)\.json$/;

export function parseSpoolName(file: string): Omit<HookEvent, "payload" | "file"> | null {
  const m = NAME_RE.exec(file);
  if (!m) return null;
  const ns = BigInt(m[1]!);
  return {
    ts: Number(ns / 1_000_000n),
    order: [ns, Number(m[2])],
    session: m[3]!,
    account: m[4]!,
    launch: m[5] ?? null,
    event: m[6]!,
  };
}

export function compareEvents(a: Pick<HookEvent, "order">, b: Pick<HookEvent, "order">): number {
  if (a.order[0] !== b.order[0]) return a.order[0] < b.order[0] ? -1 : 1;
  return a.order[1] - b.order[1];
}

export function parsePayload(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function str(payload: Record<string, unknown>, key: string): string | null {
  const v = payload[key];
  return typeof v === "string" ? v : null;
}
