// A supervised setup at scale for soak, chaos and benchmarks: the test harness (stand-in API, account
// homes, private tmux socket, config) with the stub CLI, the daemon run as a child process through the
// CLI's `daemon` command (so it can be SIGKILLed and its RSS read), and small clients for its control
// plane and state database.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { makeHarness, REPO, type Harness } from "../support/harness.js";
import { delay, waitFor } from "../support/wait.js";
import { ScratchDisk } from "./disk.js";
import { memProbe } from "./memory.js";
import { STUB_CLAUDE } from "./stub.js";

export interface ScaleOptions {
  /** dedicated sessions (named s01, s02, …) */
  dedicated: number;
  /** autonomous pool maximum (0: no pool) */
  poolMax: number;
  accounts: number;
  /** deep-merged over the scale config */
  config?: Record<string, unknown>;
  /** stub answers offline after this many ms (no model requests) */
  offlineDelayMs?: number;
  /**
   * Puts the whole test root (state dir, account homes with the transcripts, projects, the daemon's log) on
   * a tmpfs of this many MiB, for the chaos run's disk_full fault (test/scale/disk.ts). Skipped, with the
   * reason in `diskSkipped`, where a tmpfs can't be mounted.
   */
  diskMb?: number;
}

export interface StatusSession {
  name: string;
  kind: string;
  account: string | null;
  state: string;
  lastPrompt: string | null;
  lastPromptAnswered: boolean;
  busyWith: string | null;
  stateReason?: string | null;
}

export const sessionName = (i: number): string => `s${String(i + 1).padStart(2, "0")}`;

/** The config the scale runs use: fast polling and short windows, so minutes of soak see hours of events. */
export function scaleConfig(o: ScaleOptions, poolProject: string): Record<string, unknown> {
  return {
    claude: { env: o.offlineDelayMs !== undefined ? { STUB_CLAUDE_OFFLINE_DELAY_MS: String(o.offlineDelayMs) } : {} },
    pool: {
      max: o.poolMax,
      min: 0,
      idle_timeout: "20s",
      project: poolProject,
      retry_backoff: "2s",
      retry_backoff_max: "10s",
      max_attempts: 5,
    },
    sessions: { restart_backoff: "500ms", restart_backoff_max: "5s", start_timeout: "60s" },
    quota: {
      poll_interval: "3s",
      poll_interval_min: "1s",
      poll_interval_max: "10s",
      stale_after: "1m",
      min_dwell: "30s",
      reactivate_cooldown: "2s",
      request_timeout: "2s",
    },
    swap: { graceful_timeout: "15s", exit_timeout: "10s", confirm_timeout: "30s" },
    checkpoint: { interval: "20s", keep: 5 },
    inbox: { stable_time: "200ms" },
    mcp_http: { enable_trigger: true, rate_limit_per_minute: 0 },
    log: { level: process.env.SOAK_DEBUG ? "info" : "warn" },
  };
}

export class ScaleEnv {
  daemon: ChildProcess | null = null;
  readonly logPath: string;
  readonly names: string[];
  private db: Database.Database | null = null;

  private constructor(
    readonly h: Harness,
    readonly opts: ScaleOptions,
    /** the tmpfs the root lives on (diskMb), or null */
    readonly disk: ScratchDisk | null,
    /** why there is no tmpfs although diskMb asked for one */
    readonly diskSkipped: string | null,
  ) {
    this.logPath = join(h.root, "daemon.log");
    this.names = Array.from({ length: opts.dedicated }, (_, i) => sessionName(i));
  }

  static async create(opts: ScaleOptions): Promise<ScaleEnv> {
    const names = Array.from({ length: opts.dedicated }, (_, i) => sessionName(i));
    const letters = "abcdefghij".slice(0, opts.accounts).split("");
    const mounted = opts.diskMb ? ScratchDisk.mount(opts.diskMb) : null;
    const disk = mounted instanceof ScratchDisk ? mounted : null;
    try {
      const skipped = mounted && !(mounted instanceof ScratchDisk) ? mounted.skipped : null;
      return await ScaleEnv.build(opts, names, letters, disk, skipped);
    } catch (e) {
      disk?.unmount();
      throw e;
    }
  }

  private static async build(
    opts: ScaleOptions,
    names: string[],
    letters: string[],
    disk: ScratchDisk | null,
    diskSkipped: string | null,
  ): Promise<ScaleEnv> {
    const h = await makeHarness({
      parentDir: disk?.dir,
      accounts: opts.accounts,
      binary: STUB_CLAUDE,
      // Spread over the accounts from the start, as a user with several accounts would.
      dedicated: names.map((name, i) => ({ name, account: letters[i % letters.length]! })),
    });
    const cfg = scaleConfig(opts, h.project("pool"));
    if (process.env.SOAK_DEBUG) {
      mkdirSync(join(h.root, "keylog"), { recursive: true });
      (cfg.claude as { env: Record<string, string> }).env.STUB_CLAUDE_KEYLOG = join(h.root, "keylog");
    }
    h.configObject = deepMerge(deepMerge(h.configObject, cfg), opts.config ?? {});
    for (const a of h.configObject.accounts as { priority: number }[]) a.priority = 1;
    h.writeConfig();
    return new ScaleEnv(h, opts, disk, diskSkipped);
  }

  get stateDir(): string {
    return join(this.h.root, "state");
  }
  /** the daemon's memory samples (test/scale/mem-probe.mjs) */
  get memFile(): string {
    return join(this.h.root, "daemon-mem.jsonl");
  }
  get spoolDir(): string {
    return join(this.stateDir, "spool");
  }
  get inboxDir(): string {
    return join(this.stateDir, "inbox");
  }
  get checkpointDir(): string {
    return join(this.stateDir, "checkpoints");
  }
  get listen(): string {
    return String((this.h.configObject.mcp_http as Record<string, unknown>).listen);
  }

  /**
   * Starts `claude-failover daemon` as a child (log appended to daemon.log) and waits for /health. Runs the
   * TypeScript sources through tsx, or the compiled CLI when SCALE_DAEMON_JS names it (dist/src/cli/bin.js).
   */
  async startDaemon(timeoutMs = 120_000): Promise<number> {
    const fd = openSync(this.logPath, "a");
    const js = process.env.SCALE_DAEMON_JS;
    const entry = js ? [js] : ["--import", "tsx", join(REPO, "src/cli/bin.ts")];
    // The memory probe samples the daemon's heap from inside (test/scale/memory.ts).
    const probe = memProbe(this.memFile, process.env.SOAK_HEAPSNAPSHOT_DIR);
    const child = spawn(process.execPath, [...probe.args, ...entry, "--config", this.h.configPath, "daemon"], {
      env: { ...this.h.env, ...probe.env },
      stdio: ["ignore", fd, fd],
      cwd: REPO,
    });
    closeSync(fd);
    this.daemon = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}); see ${this.logPath}`);
        const r = await fetch(`http://${this.listen}/health`).catch(() => null);
        return r?.status === 200;
      },
      timeoutMs,
      "daemon ready",
      100,
    );
    return child.pid!;
  }

  /**
   * Runs a second `claude-failover daemon` on the same config and state dir while the first one runs (as
   * a second unit or a start by hand would): its exit code and the first line it printed. It is killed
   * after 60 s if it has not exited by then (code null): loading the CLI through tsx alone can take ten
   * seconds and more on a loaded 2-core box, and one that waits for the lock never exits.
   */
  async runSecondDaemon(): Promise<{ code: number | null; firstLine: string }> {
    const js = process.env.SCALE_DAEMON_JS;
    const entry = js ? [js] : ["--import", "tsx", join(REPO, "src/cli/bin.ts")];
    const child = spawn(process.execPath, [...entry, "--config", this.h.configPath, "daemon"], {
      env: this.h.env,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: REPO,
    });
    let text = "";
    child.stdout.on("data", (b: Buffer) => (text += b.toString()));
    child.stderr.on("data", (b: Buffer) => (text += b.toString()));
    const code = await Promise.race([
      new Promise<number | null>((r) => child.once("exit", (c) => r(c))),
      delay(60_000).then(() => {
        child.kill("SIGKILL");
        return null;
      }),
    ]);
    return {
      code,
      firstLine:
        text
          .split("\n")
          .find((l) => l.trim())
          ?.slice(0, 200) ?? "",
    };
  }

  /** SIGKILL, like a crash or an OOM kill; tmux sessions stay. */
  async killDaemon(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.daemon;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    if ((await Promise.race([gone.then(() => true), delay(15_000).then(() => false)])) === false) {
      child.kill("SIGKILL");
      await gone;
    }
    this.daemon = null;
  }

  daemonPid(): number | null {
    return this.daemon?.pid ?? null;
  }

  /** VmRSS of the daemon in kB (null when not running). */
  rssKb(pid = this.daemonPid()): number | null {
    if (!pid) return null;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  /** User + system CPU seconds the daemon has used. */
  cpuSeconds(pid = this.daemonPid()): number | null {
    if (!pid) return null;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
        .replace(/^.*\) /, "")
        .split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    } catch {
      return null;
    }
  }

  async api(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    timeoutMs = 45_000,
  ): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`http://${this.listen}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.h.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body: parsed };
  }

  async sessions(): Promise<StatusSession[]> {
    const r = await this.api("GET", "/status", undefined, 10_000);
    if (r.status !== 200) throw new Error(`status: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { sessions: StatusSession[] }).sessions;
  }

  /** Read-only view of the daemon's SQLite store (WAL: safe beside the running daemon). */
  store(): Database.Database {
    this.db ??= new Database(join(this.stateDir, "state.db"), { readonly: true, fileMustExist: true });
    return this.db;
  }
  closeStore(): void {
    this.db?.close();
    this.db = null;
  }

  panes(): { session: string; pid: number; dead: boolean }[] {
    const r = this.h.tmux("list-panes", "-a", "-F", "#{session_name}\t#{pane_pid}\t#{pane_dead}");
    if (r.code !== 0) return [];
    return r.out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [session = "", pid = "0", dead = "0"] = l.split("\t");
        return { session, pid: Number(pid), dead: dead === "1" };
      });
  }

  async cleanup(): Promise<void> {
    this.closeStore();
    await this.killDaemon("SIGTERM");
    spawnSync("tmux", ["-L", this.h.socket, "kill-server"]);
    try {
      await this.h.cleanup();
    } finally {
      this.disk?.unmount();
    }
  }
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);
    out[k] = isObj(cur) && isObj(v) ? deepMerge(cur, v) : v;
  }
  return out;
}
