// The daemon's memory in a soak, from inside it: test/scale/mem-probe.mjs is loaded into the daemon's
// process (`--import`) and appends samples to a file; this side reads them back and asks for heap
// snapshots. RSS alone can't tell a leak (JavaScript objects piling up) from V8 growing its heap to the load,
// native memory or SQLite's page cache: the heap used after each full GC can.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

export interface MemSample {
  t: number;
  pid: number;
  kind: "tick" | "major" | "snapshot";
  rss: number;
  /** anonymous and file-backed resident memory (from /proc/self/status) */
  rssAnon: number;
  rssFile: number;
  heapUsed: number;
  heapTotal: number;
  /** the V8 heap's resident pages */
  heapPhysical: number;
  /** what V8 itself holds from malloc */
  malloced: number;
  external: number;
  arrayBuffers: number;
  path?: string;
  error?: string;
}

export const MEM_PROBE = join(REPO, "test/scale/mem-probe.mjs");

/**
 * Node arguments and environment that load the probe into a daemon writing to `file`; with `snapshotDir`,
 * SIGUSR2 makes the daemon write a heap snapshot there.
 */
export function memProbe(file: string, snapshotDir?: string): { args: string[]; env: Record<string, string> } {
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  return {
    args: ["--import", MEM_PROBE],
    env: { SOAK_MEM_FILE: file, ...(snapshotDir ? { SOAK_HEAPSNAPSHOT_DIR: snapshotDir } : {}) },
  };
}

/** The samples written so far (torn or unreadable lines skipped); [] when there is no file. */
export function readMemSamples(file: string): MemSample[] {
  if (!existsSync(file)) return [];
  const out: MemSample[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as MemSample);
    } catch {
      /* a torn last line */
    }
  }
  return out;
}

/**
 * Sends SIGUSR2 to the daemon (started with a snapshot dir) and waits for the snapshot to be written:
 * its path, or null when none came within `timeoutMs` (the daemon is frozen while it writes: seconds).
 */
export async function takeHeapSnapshot(pid: number, file: string, timeoutMs = 120_000): Promise<string | null> {
  const before = readMemSamples(file).filter((s) => s.kind === "snapshot").length;
  process.kill(pid, "SIGUSR2");
  return waitFor(
    () => readMemSamples(file).filter((s) => s.kind === "snapshot")[before]?.path,
    timeoutMs,
    "heap snapshot",
    500,
  ).catch(() => null);
}

/**
 * Least-squares slope of a (ms, MB) series after warm-up (the first fifth of its time span dropped), in MB
 * per hour; null with fewer than 6 points left.
 */
export function trendPerHour(series: Array<[number, number]>): number | null {
  if (!series.length) return null;
  const end = series[series.length - 1]![0];
  const pts = series.filter(([t]) => t >= end / 5);
  if (pts.length < 6) return null;
  const n = pts.length;
  const mx = pts.reduce((a, [t]) => a + t, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const num = pts.reduce((a, [t, y]) => a + (t - mx) * (y - my), 0);
  const den = pts.reduce((a, [t]) => a + (t - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

/**
 * The heap used after each full GC between `from` and `to` (ms since epoch): first, peak, last (MB) and its
 * trend after warm-up (`heap_slope_mb_per_h`); {} without samples.
 */
export function heapFigures(samples: MemSample[], from: number, to: number): Record<string, number> {
  const mb = (b: number) => b / 1024 / 1024;
  const series = samples
    .filter((s) => s.kind === "major" && s.t >= from && s.t <= to)
    .map((s): [number, number] => [s.t - from, mb(s.heapUsed)]);
  if (!series.length) return {};
  const out: Record<string, number> = {
    heap_start_mb: Math.round(series[0]![1]),
    heap_peak_mb: Math.round(Math.max(...series.map(([, y]) => y))),
    heap_end_mb: Math.round(series[series.length - 1]![1]),
    heap_major_gcs: series.length,
  };
  const slope = trendPerHour(series);
  if (slope !== null) out.heap_slope_mb_per_h = Math.round(slope * 10) / 10;
  return out;
}
