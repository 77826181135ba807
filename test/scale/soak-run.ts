// One soak run, with or without chaos: set up, load for a while, drain, check the invariants, report.
// Used by bench/soak.ts, bench/chaos.ts and test/e2e/soak-short.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";
import { Chaos, FAULT_KINDS, type ChaosOptions, type FaultRecord } from "./chaos.js";
import { Driver, prng } from "./driver.js";
import { checkRun } from "./invariants.js";
import { DaemonRecord, TurnLog } from "./ledger.js";
import { heapFigures, readMemSamples, takeHeapSnapshot, trendPerHour } from "./memory.js";
import { ScaleEnv } from "./scale-env.js";
import { QuotaWindows } from "./windows.js";

export interface SoakOptions {
  seconds: number;
  dedicated: number;
  poolMax: number;
  accounts: number;
  /** turns per account per quota window */
  cap: number;
  /** a window lasts at least this long and ends on a whole minute */
  windowMs: number;
  promptsPerSec: number;
  tasksPerSec: number;
  slowMs: [number, number];
  seed: number;
  /** how long the drain may take at most (prompts parked until a reset need one window) */
  drainMs: number;
  minDwellMs: number;
  /** size of the tmpfs the run lives on when the chaos has disk_full faults (MiB) */
  diskMb: number;
  chaos: ChaosOptions | null;
  log: (line: string) => void;
  /** dump the events and log lines around each violation through `log` even without SOAK_DEBUG (CI's short runs) */
  dumpOnViolation?: boolean;
}

export interface SoakReport {
  ok: boolean;
  seed: number;
  violations: string[];
  notes: string[];
  figures: Record<string, string | number>;
  faults: FaultRecord[];
}

export function soakDefaults(env: NodeJS.ProcessEnv, prefix: string): SoakOptions {
  const n = (k: string, d: number) => (env[`${prefix}_${k}`] !== undefined ? Number(env[`${prefix}_${k}`]) : d);
  return {
    seconds: n("SECONDS", 120),
    dedicated: n("DEDICATED", 40),
    poolMax: n("POOL_MAX", 10),
    accounts: n("ACCOUNTS", 5),
    cap: n("CAP", 20),
    windowMs: n("WINDOW_S", 45) * 1000,
    promptsPerSec: n("RATE", 2),
    tasksPerSec: n("TASK_RATE", 0.3),
    slowMs: [n("SLOW_MIN_MS", 200), n("SLOW_MAX_MS", 2500)],
    seed: n("SEED", Date.now() % 1_000_000),
    drainMs: n("DRAIN_S", 150) * 1000,
    minDwellMs: 30_000,
    diskMb: n("DISK_MB", 512),
    chaos: null,
    log: (l) => process.stdout.write(`${l}\n`),
  };
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const env = await ScaleEnv.create({
    dedicated: o.dedicated,
    poolMax: o.poolMax,
    accounts: o.accounts,
    config: { quota: { min_dwell: `${o.minDwellMs}ms` } },
    diskMb: o.chaos && (o.chaos.kinds ?? FAULT_KINDS).includes("disk_full") ? o.diskMb : undefined,
  });
  const turns = new TurnLog(env.h.api);
  const windows = new QuotaWindows(env.h.api, env.h.accountTokens, o.cap, o.windowMs);
  const figures: Record<string, string | number> = {};
  let scan: NodeJS.Timeout | null = null;
  try {
    windows.start();
    const pid = await env.startDaemon();
    await waitFor(
      async () =>
        (await env.sessions()).filter((s) => s.kind === "dedicated" && s.state === "idle").length === o.dedicated,
      180_000,
      "all sessions idle",
      500,
    );
    figures.setup_s = Math.round((Date.now() - t0) / 1000);
    figures.rss_start_mb = Math.round((env.rssKb(pid) ?? 0) / 1024);
    const cpu0 = env.cpuSeconds(pid) ?? 0;
    o.log(
      `seed ${o.seed}: ${o.dedicated} dedicated sessions + pool max ${o.poolMax}, ${o.accounts} accounts, cap ${o.cap} turns per window; ready in ${figures.setup_s} s, daemon RSS ${figures.rss_start_mb} MB`,
    );
    const driver = new Driver(env, prng(o.seed), {
      promptsPerSec: o.promptsPerSec,
      tasksPerSec: o.tasksPerSec,
      slowMs: o.slowMs,
      answered: (m) => turns.answers(m) > 0,
    });
    const chaos = o.chaos ? new Chaos(env, prng(o.seed ^ 0x5bd1e995), o.chaos, o.log) : null;
    const startedAt = Date.now();
    scan = setInterval(() => turns.scan(), 1000);
    driver.start();
    chaos?.start();
    let shown = startedAt;
    // SOAK_HEAPSNAPSHOT_DIR: heap snapshots of the daemon after warm-up, at the end of the load, after the drain.
    const snapDir = process.env.SOAK_HEAPSNAPSHOT_DIR;
    const snapshot = async (label: string) => {
      const p = env.daemonPid();
      if (!snapDir || !p) return;
      const path = await takeHeapSnapshot(p, env.memFile);
      o.log(`heap snapshot ${label} at t=${Math.round((Date.now() - startedAt) / 1000)}s: ${path ?? "none in 120 s"}`);
    };
    let warmSnapshot = false;
    // The daemon's RSS as a series (every 5 s): its trend after warm-up is reported (rss_slope_mb_per_h).
    const rss: Array<[number, number]> = [];
    let sampled = 0;
    await waitFor(
      async () => {
        if (!warmSnapshot && Date.now() - startedAt >= (o.seconds * 1000) / 5) {
          warmSnapshot = true;
          await snapshot("after warm-up");
        }
        if (Date.now() - sampled >= 5000) {
          sampled = Date.now();
          const kb = env.rssKb();
          if (kb) rss.push([sampled - startedAt, kb / 1024]);
        }
        if (Date.now() - shown >= 15_000) {
          shown = Date.now();
          progress(o, env, driver, turns, startedAt);
        }
        return Date.now() >= startedAt + o.seconds * 1000 && (chaos?.mayEnd() ?? true);
      },
      o.seconds * 1000 + (o.chaos?.untilEveryKind ? 300_000 : 60_000),
      "soak time",
      1000,
    );
    await driver.stop();
    await chaos?.stop();
    const loadEndedAt = Date.now();
    await snapshot("at the end of the load");
    o.log(`load stopped after ${Math.round((Date.now() - startedAt) / 1000)} s; draining`);
    const accepted = driver.prompts.filter((p) => p.outcome === "accepted");
    const drained = await waitFor(
      () => {
        turns.scan();
        const rec = new DaemonRecord(env.store());
        const open =
          accepted.filter((p) => rec.stopCount(p.marker) === 0).length +
          driver.tasks.filter(
            (t) => !rec.tasks.some((r) => r.prompt.includes(t.marker) && (r.state === "done" || r.state === "failed")),
          ).length;
        return open === 0 && rec.swaps.every((s) => s.outcome !== null);
      },
      o.drainMs,
      "drain",
      2000,
    ).then(
      () => true,
      () => false,
    );
    const endedAt = Date.now();
    figures.rss_end_mb = Math.round((env.rssKb() ?? 0) / 1024);
    await snapshot("after the drain");
    // The heap used after each full GC (test/scale/mem-probe.mjs): growth here is a leak, RSS alone is not.
    Object.assign(figures, heapFigures(readMemSamples(env.memFile), startedAt, loadEndedAt));
    figures.rss_peak_mb = Math.round(Math.max(figures.rss_start_mb, ...rss.map(([, mb]) => mb)));
    const slope = rssSlope(rss);
    if (slope !== null) figures.rss_slope_mb_per_h = Math.round(slope * 10) / 10;
    if (process.env.SOAK_RSS_SERIES)
      o.log(`rss series (s, MB): ${rss.map(([t, mb]) => `${Math.round(t / 1000)}:${Math.round(mb)}`).join(" ")}`);
    figures.daemon_cpu_s = Math.round(((env.cpuSeconds() ?? 0) - (env.daemonPid() === pid ? cpu0 : 0)) * 10) / 10;
    turns.scan();
    const rec = new DaemonRecord(env.store());
    chaos?.describe(env.store(), endedAt);
    const result = checkRun({
      prompts: driver.prompts,
      tasks: driver.tasks,
      turns,
      daemon: rec,
      windows,
      startedAt,
      endedAt,
      minDwellMs: o.minDwellMs,
      chaos: !!o.chaos,
      faultsBySession: chaos?.faultsBySession ?? new Map(),
    });
    if (!drained) result.violations.unshift(`the drain did not finish within ${o.drainMs / 1000} s`);
    if (!env.daemon || env.daemon.exitCode !== null) result.violations.push("the daemon is not running at the end");
    // Hooks keep coming after the load (the CLI's idle Notification a minute after a turn): what counts is
    // an event the daemon left lying, i.e. one still there 10 s after it was written (waited for up to 30 s).
    const stale = () =>
      existsSync(env.spoolDir)
        ? readdirSync(env.spoolDir).filter((f) => {
            if (!f.endsWith(".json") || f.startsWith(".")) return false;
            try {
              return Date.now() - statSync(join(env.spoolDir, f)).mtimeMs > 10_000;
            } catch {
              return false;
            }
          }).length
        : 0;
    const leftover = await waitFor(() => (stale() === 0 ? true : undefined), 30_000, "spool applied", 1000).then(
      () => 0,
      () => stale(),
    );
    if (leftover) result.violations.push(`${leftover} hook event file(s) left unapplied in the spool`);
    // Every turn ended and the daemon knows it: after the drain no session is still busy or mid-move.
    if (drained) {
      const stuck = await waitFor(
        () => {
          const open = new DaemonRecord(env.store()).sessions.filter((x) =>
            ["busy", "swapping", "starting", "limited"].includes(x.state),
          );
          return open.length === 0 ? true : undefined;
        },
        20_000,
        "sessions settled",
        1000,
      ).then(
        () => [],
        () =>
          new DaemonRecord(env.store()).sessions.filter((x) =>
            ["busy", "swapping", "starting", "limited"].includes(x.state),
          ),
      );
      for (const x of stuck)
        result.violations.push(`${x.name}: still ${x.state} after the drain (${x.stateReason ?? "no reason"})`);
    }
    const live = new Set(
      env
        .panes()
        .filter((p) => !p.dead)
        .map((p) => p.session),
    );
    for (const s of rec.sessions.filter((x) => x.kind === "dedicated" && x.state !== "parked" && !live.has(x.name)))
      result.violations.push(`${s.name}: no live CLI at the end (${s.state})`);
    if ((process.env.SOAK_DEBUG || o.dumpOnViolation) && result.violations.length)
      debugDump(o, env, turns, rec, result.violations);
    Object.assign(figures, summarize(windows.history.length, driver, turns, rec, startedAt, endedAt));
    return { ok: result.violations.length === 0, seed: o.seed, ...result, figures, faults: chaos?.faults ?? [] };
  } finally {
    if (scan) clearInterval(scan);
    windows.stop();
    if (process.env.SOAK_KEEP) {
      env.disk?.keep();
      o.log(
        `kept ${env.h.root}${env.disk ? ` (a tmpfs: umount ${env.disk.dir} when done)` : ""} (tmux -L ${env.h.socket}); daemon pid ${env.daemonPid()}`,
      );
    } else await env.cleanup();
  }
}

/**
 * The violations a debug dump shows: up to 3 of each kind (the text without its markers, sessions, ids,
 * counts other than zero, and times), 12 at most, so a cluster of one cause does not hide another kind (chaos seed 424242
 * showed five prompts of one cause and none of the tasks and throttles after them).
 */
export function dumpPicks(violations: string[], perKind = 3, max = 12): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  for (const v of violations) {
    const kind = v
      .replace(/soak-[pt]\d{6}/g, "M")
      .replace(/\([^)]*\)/g, "")
      .replace(/\b(s\d\d|auto-\d+)\b/g, "S")
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "T")
      .replace(/\b0 /g, "zero ") // "0 model answers" (lost) is another kind than "1 model answers"
      .replace(/\d+/g, "N");
    const n = seen.get(kind) ?? 0;
    if (n >= perKind) continue;
    seen.set(kind, n + 1);
    out.push(v);
    if (out.length >= max) break;
  }
  return out;
}

function debugDump(o: SoakOptions, env: ScaleEnv, turns: TurnLog, rec: DaemonRecord, violations: string[]): void {
  for (const v of dumpPicks(violations)) {
    const marker = /soak-[pt]\d{6}/.exec(v)?.[0];
    // "soak-p000001 (s03): …" or "auto-14: rate-limit refusal …" (a pool session's: its events were not shown)
    const session = /\((s\d\d|auto-\d+)/.exec(v)?.[1] ?? /^(s\d\d|auto-\d+):/.exec(v)?.[1];
    o.log(`--- ${v}`);
    if (marker)
      for (const f of turns.facts.filter((x) => x.markers.includes(marker)))
        o.log(`  turn ${new Date(f.time).toISOString()} ${f.status} ${f.token?.slice(14, 15)} ${f.markers.join(" ")}`);
    // A task marker: the pool sessions its task ran on, from its task.* events.
    const task = marker?.startsWith("soak-t") ? rec.tasks.find((t) => t.prompt.includes(marker)) : undefined;
    const taskSessions = task
      ? [
          ...new Set(
            rec
              .events(env.store(), "kind LIKE 'task.%' ORDER BY id")
              .filter((e) => e.data.id === task.id && e.session)
              .map((e) => e.session!),
          ),
        ]
      : [];
    if (task) o.log(`  task ${task.id} ran on ${taskSessions.join(", ") || "no session"}`);
    // A violation at a time (a refusal not acted on) is shown around that time, like a prompt's turns.
    const at = Date.parse(/ at (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(v)?.[1] ?? "");
    const times = marker
      ? turns.facts.filter((x) => x.markers.includes(marker)).map((x) => x.time)
      : Number.isFinite(at)
        ? [at, at + 45_000]
        : [];
    const from = Math.min(...times) - 30_000,
      to = Math.max(...times) + 15_000;
    for (const s of taskSessions)
      for (const e of rec.events(env.store(), "session = ? AND ts BETWEEN ? AND ? ORDER BY id", [s, from, to]))
        o.log(
          `  ${s} ${new Date(e.ts).toISOString()} ${e.kind} ${e.account ?? ""} ${JSON.stringify(e.data).slice(0, 160)}`,
        );
    // The daemon's own log lines (warn and above) about those sessions.
    let logText = "";
    try {
      logText = readFileSync(env.logPath, "utf8");
    } catch {
      /* none */
    }
    // Around the prompt's turns (a long run's last lines are about something else), else the last ones.
    const inWindow = (l: string) => {
      const t = Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? "");
      return !times.length || (t >= from && t <= to);
    };
    for (const s of [...taskSessions, ...(session ? [session] : [])]) {
      const mine = logText
        .split("\n")
        .filter((l) => l.includes(`"session":"${s}"`) && inWindow(l))
        .slice(-40);
      for (const l of mine) o.log(`  log ${s} ${l.slice(0, 300)}`);
    }
    if (session)
      for (const e of times.length
        ? rec.events(env.store(), "session = ? AND ts BETWEEN ? AND ? ORDER BY id", [session, from, to])
        : rec.events(env.store(), "session = ? ORDER BY id", [session]).slice(-60))
        o.log(`  ${new Date(e.ts).toISOString()} ${e.kind} ${e.account ?? ""} ${JSON.stringify(e.data).slice(0, 160)}`);
  }
}

function progress(o: SoakOptions, env: ScaleEnv, d: Driver, turns: TurnLog, startedAt: number): void {
  turns.scan();
  let swaps = 0;
  let done = 0;
  try {
    swaps = (env.store().prepare("SELECT COUNT(*) AS n FROM swaps").get() as { n: number }).n;
    done = (env.store().prepare("SELECT COUNT(*) AS n FROM tasks WHERE state = 'done'").get() as { n: number }).n;
  } catch {
    /* store being replaced (chaos) */
  }
  const ok = turns.facts.filter((f) => f.status === 200).length;
  const refused = turns.facts.filter((f) => f.status === 429).length;
  o.log(
    `t=${Math.round((Date.now() - startedAt) / 1000)}s prompts ${d.prompts.length} (accepted ${d.prompts.filter((p) => p.outcome === "accepted").length}) tasks ${d.tasks.length} (done ${done}) turns 200:${ok} 429:${refused} swaps ${swaps} rss ${Math.round((env.rssKb() ?? 0) / 1024)} MB`,
  );
}

function summarize(
  windows: number,
  d: Driver,
  turns: TurnLog,
  rec: DaemonRecord,
  startedAt: number,
  endedAt: number,
): Record<string, string | number> {
  const by = <T>(xs: T[], key: (x: T) => string) =>
    xs.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map<string, number>());
  const perSession = by(rec.swaps, (s) => s.session);
  return {
    load_s: Math.round((endedAt - startedAt) / 1000),
    prompts_sent: d.prompts.length,
    prompts: [...by(d.prompts, (p) => p.outcome)].map(([k, n]) => `${k} ${n}`).join(", "),
    prompts_answered_once: d.prompts.filter((p) => rec.stopCount(p.marker) === 1).length,
    tasks_dropped: d.tasks.length,
    tasks: [...by(rec.tasks, (t) => t.state)].map(([k, n]) => `${k} ${n}`).join(", "),
    turns_200: turns.facts.filter((f) => f.status === 200).length,
    turns_429: turns.facts.filter((f) => f.status === 429).length,
    quota_windows: windows,
    swaps:
      [...by(rec.swaps, (s) => `${s.reason}/${s.outcome ?? "open"}`)].map(([k, n]) => `${k} ${n}`).join(", ") || "none",
    max_swaps_per_session: Math.max(0, ...perSession.values()),
    parks: rec.parks.length,
    rate_limit_hits: rec.limitHits.length,
  };
}

/**
 * Least-squares slope of the RSS series after warm-up (the first fifth of the run is dropped), in MB per
 * hour; null with fewer than 6 samples left.
 */
export function rssSlope(series: Array<[number, number]>): number | null {
  return trendPerHour(series);
}
