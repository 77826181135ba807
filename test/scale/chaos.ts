// Faults injected during a soak at seeded random moments, each recorded with what the daemon did about
// it (read back from its event log). The kinds, and why each matters, are in docs/reliability.md.
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { fakeCredentials } from "../support/harness.js";
import { delay, waitFor } from "../support/wait.js";
import type { ScaleEnv, StatusSession } from "./scale-env.js";

export const FAULT_KINDS = [
  "daemon_kill",
  "cli_kill",
  "tmux_kill_server",
  "usage_hang",
  "usage_500",
  "usage_429",
  "usage_refuse",
  "spool_junk",
  "checkpoint_corrupt",
  "server_throttle",
  "token_rejected",
  "second_daemon",
  "transcript_torn",
  "disk_full",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  minGapMs: number;
  maxGapMs: number;
  kinds?: readonly FaultKind[];
  /** how long the usage endpoint misbehaves (default 10-25 s) */
  usageFaultMs?: [number, number];
  /** how long the disk stays full (default 2-8 s) */
  diskFullMs?: [number, number];
  /** keep the load on past the run's length until every kind has been injected once (CI's short run) */
  untilEveryKind?: boolean;
}

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  at: number;
  target: string | null;
  detail: string;
  /** what the daemon did, from its events (filled in by describe()) */
  reaction: string;
  /** ms until every dedicated session had a live CLI again (faults that take CLIs down) */
  recoveredMs?: number | null;
  /** when not recovered: the sessions still down at the deadline, each with its state, reason and pane */
  notLive?: string;
}

// Events worth listing per fault: what the daemon did about it.
const REACTIONS: Record<FaultKind, string[]> = {
  daemon_kill: [
    "daemon.started",
    "session.adopted",
    "session.launch",
    "swap.interrupted",
    "swap.resent_after_recovery",
    "task.requeued",
    "task.awaiting_stop",
  ],
  cli_kill: [
    "session.exited",
    "session.launch",
    "hook.SessionStart",
    "session.new_conversation",
    "session.continued_after_restore",
    "task.retry",
  ],
  tmux_kill_server: [
    "session.exited",
    "session.launch",
    "session.continued_after_restore",
    "session.new_conversation",
    "session.failed",
    "task.retry",
    "pool.session_stopped",
  ],
  usage_hang: ["quota.poll_error", "quota.decision.move", "swap.started"],
  usage_500: ["quota.poll_error", "quota.decision.move", "swap.started"],
  usage_429: ["quota.poll_error", "quota.decision.move", "swap.started"],
  usage_refuse: ["quota.poll_error", "quota.usage_refused", "quota.decision.move", "swap.started"],
  server_throttle: ["quota.throttle", "quota.throttle_retry", "swap.started"],
  token_rejected: ["account.token_rejected", "swap.started", "task.failed"],
  second_daemon: ["daemon.started", "swap.interrupted", "task.requeued"],
  spool_junk: ["hook.orphan"],
  checkpoint_corrupt: ["daemon.started", "checkpoint.corrupt", "session.restored_from_checkpoint", "session.adopted"],
  transcript_torn: [
    "session.exited",
    "session.transcript_repaired",
    "session.transcript_damaged",
    "session.launch",
    "hook.SessionStart",
  ],
  disk_full: [
    "disk.write_failed",
    "spool.apply_deferred",
    "session.exited",
    "session.launch",
    "session.continued_after_restore",
    "task.retry",
  ],
};

export class Chaos {
  readonly faults: FaultRecord[] = [];
  readonly faultsBySession = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private order: FaultKind[] = [];
  private stopped = false;
  private readonly watchers: Promise<void>[] = [];

  constructor(
    private readonly env: ScaleEnv,
    private readonly rand: () => number,
    private readonly o: ChaosOptions,
    private readonly log: (s: string) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  /** Whether the run may end: always, unless `untilEveryKind` and a kind has not been injected yet. */
  mayEnd(): boolean {
    if (!this.o.untilEveryKind) return true;
    const seen = new Set(this.faults.map((f) => f.kind));
    return (this.o.kinds ?? FAULT_KINDS).every((k) => seen.has(k));
  }

  /** No more faults; waits for the one in progress and leaves the daemon running and the endpoint sane. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.env.h.api.setUsageMode("ok");
    if (!this.env.daemon) await this.env.startDaemon();
    await Promise.all(this.watchers);
  }

  private schedule(): void {
    if (this.stopped) return;
    const gap = this.o.minGapMs + this.rand() * (this.o.maxGapMs - this.o.minGapMs);
    this.timer = setTimeout(() => {
      this.running = this.inject(this.next())
        .catch((e) => this.log(`fault failed to inject: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, gap);
  }

  // Every kind once (in a seeded shuffle) before any repeats.
  private next(): FaultKind {
    if (!this.order.length) {
      this.order = [...(this.o.kinds ?? FAULT_KINDS)];
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
      }
    }
    return this.order.shift()!;
  }

  private pick<T>(xs: T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.rand() * xs.length)] : undefined;
  }

  private record(kind: FaultKind, target: string | null, detail: string): FaultRecord {
    const f: FaultRecord = { n: this.faults.length + 1, kind, at: Date.now(), target, detail, reaction: "" };
    this.faults.push(f);
    if (target) this.faultsBySession.set(target, (this.faultsBySession.get(target) ?? 0) + 1);
    this.log(`fault #${f.n} ${kind}${target ? ` ${target}` : ""}: ${detail}`);
    return f;
  }

  private async inject(kind: FaultKind): Promise<void> {
    const env = this.env;
    switch (kind) {
      case "daemon_kill": {
        const down = Math.round(500 + this.rand() * 2500);
        const pid = env.daemonPid();
        await env.killDaemon("SIGKILL");
        const f = this.record(kind, null, `SIGKILL daemon pid ${pid}, restarted after ${down} ms`);
        await delay(down);
        await env.startDaemon();
        this.watch(f);
        return;
      }
      case "cli_kill": {
        const pane = this.pick(env.panes().filter((p) => !p.dead && p.pid > 0));
        if (!pane) return void this.record(kind, null, "no live pane to kill");
        process.kill(pane.pid, "SIGKILL");
        const f = this.record(kind, pane.session, `SIGKILL CLI pid ${pane.pid}`);
        this.watch(f, pane.session);
        return;
      }
      case "transcript_torn":
        return this.tearTranscript();
      case "tmux_kill_server": {
        const n = env.panes().length;
        env.h.tmux("kill-server");
        for (const p of env.names) this.faultsBySession.set(p, (this.faultsBySession.get(p) ?? 0) + 1);
        const f = this.record(kind, null, `tmux kill-server with ${n} panes`);
        this.watch(f);
        return;
      }
      case "usage_hang":
      case "usage_500":
      case "usage_429":
      case "usage_refuse": {
        const mode = kind.slice("usage_".length) as "hang" | "500" | "429" | "refuse";
        const [lo, hi] = this.o.usageFaultMs ?? [10_000, 25_000];
        const ms = Math.round(lo + this.rand() * (hi - lo));
        env.h.api.setUsageMode(mode);
        this.record(kind, null, `usage endpoint answers ${mode} for ${ms} ms`);
        await delay(ms);
        env.h.api.setUsageMode("ok");
        return;
      }
      case "spool_junk":
        return void this.record(kind, null, this.junk());
      case "server_throttle": {
        // A service-wide throttle (not quota) on one account's next turns: retried there, nothing moves.
        const account = this.pick(Object.keys(env.h.accountTokens))!;
        const n = 1 + Math.floor(this.rand() * 3);
        env.h.api.setThrottle(env.h.accountTokens[account]!, n);
        return void this.record(
          kind,
          null,
          `account ${account}: next ${n} turn requests throttled (429, x-should-retry, no unified headers)`,
        );
      }
      case "token_rejected": {
        // The API refuses an account's token twice (restart, then revoked and moved); the
        // person logs in again 30 s later (a new credentials file) and the account comes back.
        const account = this.pick(Object.keys(env.h.accountTokens))!;
        const token = env.h.accountTokens[account]!;
        env.h.api.setAuthFailure(token, 2);
        this.record(
          kind,
          null,
          `account ${account}: next 2 turn requests answered 401 (token expired), logged in again after 30 s`,
        );
        this.watchers.push(
          delay(30_000).then(() => {
            env.h.api.setAuthFailure(token, 0);
            const home = (env.h.configObject.accounts as { name: string; home: string }[]).find(
              (a) => a.name === account,
            )!.home;
            writeFileSync(join(home, ".claude", ".credentials.json"), fakeCredentials(token), { mode: 0o600 });
          }),
        );
        return;
      }
      case "second_daemon": {
        // A second daemon on the same state dir (started by hand, or two units): it must exit 2 at once and
        // touch nothing of the running one.
        const t0 = Date.now();
        const r = await env.runSecondDaemon();
        // Its start-up time (tsx compiling on a loaded box) is not the point; its exit status and that it
        // left the first one alone (the invariants) are.
        const ok = r.code === 2 && /another claude-failover daemon \(PID \d+\)/.test(r.firstLine);
        return void this.record(
          kind,
          null,
          `second daemon exited ${r.code} after ${Date.now() - t0} ms${ok ? "" : " (EXPECTED exit 2 naming the first one's PID)"}: ${r.firstLine}`,
        );
      }
      case "checkpoint_corrupt":
        return this.corruptCheckpoint();
      case "disk_full":
        return this.fillDisk();
    }
  }

  /**
   * The disk everything is written to (test/scale/disk.ts) full for a few seconds: a filler file written
   * until ENOSPC, topped up every 100 ms (space freed meanwhile is taken again), then deleted. Skipped,
   * saying why, when the run has no tmpfs of its own (no root): never faked on the real disk.
   */
  private async fillDisk(): Promise<void> {
    const disk = this.env.disk;
    if (!disk) return void this.record("disk_full", null, `skipped: ${this.env.diskSkipped ?? "the run has no tmpfs"}`);
    const [lo, hi] = this.o.diskFullMs ?? [2000, 8000];
    const ms = Math.round(lo + this.rand() * (hi - lo));
    const free = disk.freeBytes();
    const t0 = Date.now();
    const filled = disk.fill();
    const f = this.record(
      "disk_full",
      null,
      `the ${disk.sizeMb} MiB tmpfs under the state dir, homes and log filled (${mib(filled)} MiB filler, ${mib(free)} MiB were free) for ${ms} ms`,
    );
    let topped = 0;
    try {
      while (Date.now() - t0 < ms) {
        await delay(100);
        topped += disk.fill();
      }
    } finally {
      disk.free();
    }
    f.detail += `; ${Math.round(topped / 1024)} KiB freed by writers meanwhile taken again`;
    this.watch(f);
  }

  /** Unreadable names, unparseable payloads, events of sessions that don't exist, a dir, stray temp files. */
  private junk(): string {
    const dir = this.env.spoolDir;
    const ns = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    for (let i = 0; i < 100; i++)
      writeFileSync(join(dir, `junk-${i}-${Math.floor(this.rand() * 1e9)}.txt`), "x".repeat(i));
    for (let i = 0; i < 100; i++)
      writeFileSync(
        join(dir, `${ns + BigInt(i)}.${900000 + i}.${this.env.names[i % this.env.names.length]}.a.Stop.json`),
        i % 2 ? "{not json" : "[1,2,3]",
      );
    for (let i = 0; i < 50; i++)
      writeFileSync(
        join(dir, `${ns + BigInt(200 + i)}.${910000 + i}.ghost-${i}.a.Stop.json`),
        JSON.stringify({ session_id: `ghost-${i}`, last_assistant_message: "boo" }),
      );
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `.stray-${i}.tmp`), "half written");
    mkdirSync(join(dir, `junkdir-${Date.now()}`), { recursive: true });
    return "270 files: 100 unreadable names, 100 bad payloads under real session names, 50 events of unknown sessions, 20 stray .tmp files, and a directory";
  }

  /** Corrupts a session's newest checkpoint, then makes the daemon need it: SIGKILL, lose the row, restart. */
  private async corruptCheckpoint(): Promise<void> {
    const env = this.env;
    // A session with no turn in flight and nothing owed (a parked one holds a prompt to resend): its hook
    // events can't arrive while its row is missing, and a checkpoint taken now holds all it needs.
    const quiet = (s: StatusSession) => s.state === "idle" && (s.lastPrompt === null || s.lastPromptAnswered);
    const idle = (await env.sessions().catch(() => []))
      .filter((s) => s.kind === "dedicated" && quiet(s) && !s.busyWith)
      .map((s) => s.name);
    const name = this.pick(idle);
    if (!name) return void this.record("checkpoint_corrupt", null, "no quiet session to pick");
    // Two fresh checkpoints: the one before the corrupted newest is then as good as the row it replaces.
    for (let i = 0; i < 2; i++) await env.api("POST", "/trigger/checkpoint", { session: name }).catch(() => null);
    await env.killDaemon("SIGKILL");
    const files = listJson(join(env.checkpointDir, name));
    const newest = files[files.length - 1]!;
    writeFileSync(join(env.checkpointDir, name, newest), '{"version":1,"takenAt":');
    env.closeStore();
    const db = new Database(join(env.stateDir, "state.db"));
    db.prepare("DELETE FROM sessions WHERE name = ?").run(name);
    db.close();
    const f = this.record(
      "checkpoint_corrupt",
      name,
      `truncated ${newest}, SIGKILLed the daemon, deleted the session's row, restarted`,
    );
    await env.startDaemon();
    this.watch(f);
  }

  /**
   * A CLI killed in the middle of appending to its transcript (anthropics/claude-code 53821, 49876): a quiet
   * session's CLI is SIGKILLed and half a JSON line plus a block of NUL bytes is appended to its transcript.
   * The restart must cut the torn tail (a copy kept) and resume the conversation, nothing lost.
   */
  private async tearTranscript(): Promise<void> {
    const env = this.env;
    const quiet = (s: StatusSession) => s.state === "idle" && (s.lastPrompt === null || s.lastPromptAnswered);
    const names = (await env.sessions().catch(() => []))
      .filter((s) => s.kind === "dedicated" && quiet(s) && !s.busyWith)
      .map((s) => s.name);
    const rows = names.map((n) => ({
      n,
      path:
        (
          env.store().prepare("SELECT transcript_path AS p FROM sessions WHERE name = ?").get(n) as
            { p: string | null } | undefined
        )?.p ?? null,
    }));
    const pick = this.pick(rows.filter((r) => r.path && existsSync(r.path)));
    const pane = pick ? env.panes().find((p) => p.session === pick.n && !p.dead && p.pid > 0) : undefined;
    if (!pick || !pane) return void this.record("transcript_torn", null, "no quiet session with a transcript");
    process.kill(pane.pid, "SIGKILL");
    appendFileSync(
      pick.path!,
      Buffer.concat([
        Buffer.from('{"type":"assistant","message":{"role":"assistant","content":[{"type":"te'),
        Buffer.alloc(512),
      ]),
    );
    const f = this.record(
      "transcript_torn",
      pick.n,
      `SIGKILL CLI pid ${pane.pid}, half a line and 512 NUL bytes appended to its transcript`,
    );
    this.watch(f, pick.n);
  }

  /** Measures the recovery in the background: the next fault may come before it is over. */
  private watch(f: FaultRecord, only?: string): void {
    f.recoveredMs = undefined;
    this.watchers.push(
      this.recovered(f.at, only, (down) => void (f.notLive = down)).then((ms) => void (f.recoveredMs = ms)),
    );
  }

  /** Waits (up to a minute) until every dedicated session (or just `only`) has a live CLI the daemon knows as running. */
  private async recovered(since: number, only?: string, down?: (what: string) => void): Promise<number | null> {
    const up = new Set(["idle", "busy", "waiting", "limited", "parked"]);
    try {
      await waitFor(
        async () => {
          const s = await this.env.sessions();
          const panes = this.env.panes();
          const live = new Set(panes.filter((p) => !p.dead).map((p) => p.session));
          const which = s.filter((x) => (only ? x.name === only : x.kind === "dedicated"));
          const out = which.filter((x) => !(up.has(x.state) && (x.state === "parked" || live.has(x.name))));
          // What a CI failure needs to be explained without a replay: who was down, in what state, and why.
          down?.(
            out
              .map((x) => {
                const pane = panes.find((p) => p.session === x.name);
                const held = x.busyWith ? `, held by ${x.busyWith}` : "";
                return `${x.name}: ${x.state}${x.stateReason ? ` (${x.stateReason.slice(0, 160)})` : ""}, pane ${pane ? (pane.dead ? "dead" : "live") : "missing"}${held}`;
              })
              .join("; "),
          );
          return out.length === 0;
        },
        60_000,
        "sessions back",
        250,
      );
      return Date.now() - since;
    } catch {
      return null;
    }
  }

  /** Fills in each fault's reaction from the daemon's events between it and the next fault. */
  describe(db: Database.Database, endedAt: number): void {
    this.faults.forEach((f, i) => {
      const until = this.faults[i + 1]?.at ?? endedAt;
      const kinds = REACTIONS[f.kind];
      const rows = db
        .prepare(
          `SELECT kind, session, data FROM events WHERE ts >= ? AND ts < ? AND kind IN (${kinds.map(() => "?").join(",")})`,
        )
        .all(f.at - 500, until, ...kinds) as { kind: string; session: string | null; data: string }[];
      const counts = new Map<string, number>();
      for (const r of rows) {
        if (f.target && r.session !== f.target && f.kind !== "checkpoint_corrupt") continue;
        const extra = r.kind === "hook.SessionStart" ? `(${(JSON.parse(r.data) as { source?: string }).source})` : "";
        counts.set(r.kind + extra, (counts.get(r.kind + extra) ?? 0) + 1);
      }
      if (f.kind === "spool_junk")
        counts.set("spool files moved to bad/", listJson(join(this.env.spoolDir, "bad"), "").length);
      f.reaction = [...counts].map(([k, n]) => `${k} x${n}`).join(", ") || "no reaction events";
      const who = f.kind === "cli_kill" ? "the session" : "all sessions";
      if (f.recoveredMs !== undefined)
        f.reaction +=
          f.recoveredMs === null
            ? `; ${who} NOT live again within 60 s (still down: ${f.notLive || "?"})`
            : `; ${who} live again after ${f.recoveredMs} ms`;
    });
  }
}

const mib = (n: number): number => Math.round(n / (1 << 20));

function listJson(dir: string, ext = ".json"): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext) && !f.startsWith("."))
      .sort();
  } catch {
    return [];
  }
}
