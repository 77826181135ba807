// A whole supervised setup for integration and e2e tests: stand-in API, account homes with fake
// OAuth logins, a private tmux socket, a config file, and the daemon (in-process or as a child).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { Daemon } from "../../src/daemon.js";
import { systemClock, type Clock, type Timer } from "../../src/util/clock.js";
import { run } from "../../src/cli/main.js";
import { createLogger, silentLogger } from "../../src/util/log.js";
import { cliBinary } from "./cli-matrix.js";
import { startStandInApi, type StandInApi } from "./stand-in-api.js";
import { waitFor } from "./wait.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The Claude Code under test (CF_TEST_CLI=latest selects the newest; see cli-matrix.ts). */
export const CLAUDE_BIN = cliBinary();

/**
 * Real time plus an offset a test can move forward: "the reset time passes" without waiting an hour. Timers
 * and sleeps run in real time (a jump does not fire them early).
 */
export class OffsetClock implements Clock {
  offset = 0;
  now(): number {
    return systemClock.now() + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  after(ms: number, fn: () => void, signal?: AbortSignal): Timer {
    return systemClock.after(ms, fn, signal);
  }
  every(ms: number, fn: () => void, signal?: AbortSignal): Timer {
    return systemClock.every(ms, fn, signal);
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface HarnessOptions {
  accounts?: number;
  dedicated?: { name: string; account?: string }[];
  /** deep-merged over the generated config object */
  config?: Record<string, unknown>;
  binary?: string;
  /** the directory the harness's root is made in (default: the system's temp dir); e.g. a tmpfs of the test's own */
  parentDir?: string;
}

export interface Harness {
  root: string;
  api: StandInApi;
  socket: string;
  configPath: string;
  token: string;
  env: NodeJS.ProcessEnv;
  accountTokens: Record<string, string>;
  project: (name: string) => string;
  configObject: Record<string, unknown>;
  writeConfig(obj?: Record<string, unknown>): void;
  loadConfig(): Config;
  start(opts?: { clock?: Clock }): Promise<Daemon>;
  spawnDaemon(): Promise<ChildProcess>;
  /** everything a spawned daemon wrote to stdout and stderr so far, from its first line */
  daemonOutput(child: ChildProcess): string;
  cli(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  tmux(...args: string[]): { code: number; out: string; err: string };
  cleanup(): Promise<void>;
}

export function fakeCredentials(token: string, refresh = `sk-ant-ort01-${randomBytes(8).toString("hex")}`): string {
  return JSON.stringify({
    claudeAiOauth: {
      accessToken: token,
      refreshToken: refresh,
      expiresAt: Date.now() + 8 * 3600_000,
      scopes: ["user:inference", "user:profile"],
      subscriptionType: "max",
    },
  });
}

export async function makeHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const root = mkdtempSync(join(opts.parentDir ?? tmpdir(), "cf-test-"));
  const api = await startStandInApi();
  const socket = `cf-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  const token = randomBytes(24).toString("hex");
  const names = "abcdefghij".slice(0, opts.accounts ?? 2).split("");
  const accountTokens: Record<string, string> = {};
  const accounts = names.map((n, i) => {
    const home = join(root, "homes", n);
    mkdirSync(join(home, ".claude"), { recursive: true, mode: 0o700 });
    accountTokens[n] = `sk-ant-oat01-${n}-${randomBytes(6).toString("hex")}`;
    writeFileSync(join(home, ".claude", ".credentials.json"), fakeCredentials(accountTokens[n]), { mode: 0o600 });
    return { name: n, home, priority: i + 1, link_files: [] as string[] };
  });
  // Every account is known to the stand-in's usage endpoint (0 % used) until a test sets a real cap.
  for (const t of Object.values(accountTokens)) api.setCap(t, 100_000);
  const project = (name: string) => {
    const p = join(root, "projects", name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const dedicated = (opts.dedicated ?? [{ name: "dev" }]).map((d) => ({ ...d, project: project(d.name) }));
  const base: Record<string, unknown> = {
    state_dir: join(root, "state"),
    tmux: { socket },
    claude: {
      binary: opts.binary ?? CLAUDE_BIN,
      env: {
        ANTHROPIC_BASE_URL: api.url,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_ERROR_REPORTING: "1",
        DISABLE_TELEMETRY: "1",
      },
    },
    accounts,
    dedicated,
    pool: {},
    sessions: { restart_backoff: "200ms", restart_backoff_max: "2s" },
    // The production gap between usage requests is a minute; tests poll faster (as before the gap was configurable).
    quota: { usage_api_base: api.url, usage_request_gap: "1s" },
    // A fixed free port, so `status` and a restarted daemon find it.
    mcp_http: { listen: `127.0.0.1:${await freePort()}` },
    log: { level: "warn" },
  };
  const configObject = deepMerge(base, opts.config ?? {});
  const configPath = join(root, "config.yaml");
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_FAILOVER_TOKEN: token, HOME: root };
  const children: ChildProcess[] = [];
  const outputs = new Map<ChildProcess, string>();
  const daemons: Daemon[] = [];

  const h: Harness = {
    root,
    api,
    socket,
    configPath,
    token,
    env,
    accountTokens,
    project,
    configObject,
    writeConfig(obj = h.configObject) {
      h.configObject = obj;
      writeFileSync(configPath, stringify(obj));
    },
    loadConfig() {
      const r = parseConfig(stringify(h.configObject), "test.yaml", { env: {}, home: root });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.config;
    },
    async start(o = {}) {
      const d = await Daemon.start({
        config: h.loadConfig(),
        env: h.env,
        log: process.env.CF_TEST_LOG ? createLogger("debug") : silentLogger(),
        realHome: root,
        sweepMs: 300,
        clock: o.clock,
      });
      daemons.push(d);
      return d;
    },
    async spawnDaemon() {
      // A fixed port so a restarted daemon (and `status`) find it again.
      h.writeConfig();
      const child = spawn(
        process.execPath,
        ["--import", import.meta.resolve("tsx"), join(REPO, "src/cli/bin.ts"), "--config", configPath, "daemon"],
        {
          env: h.env,
          stdio: ["ignore", "pipe", "pipe"],
          cwd: root,
        },
      );
      let log = "";
      child.stdout.on("data", (d: Buffer) => outputs.set(child, (log += d.toString())));
      child.stderr.on("data", (d: Buffer) => outputs.set(child, (log += d.toString())));
      children.push(child);
      const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`daemon exited: ${log}`);
          const r = await fetch(`http://${listen}/health`).catch(() => null);
          return r?.status === 200;
        },
        60_000,
        "daemon ready",
        100,
      );
      return child;
    },
    daemonOutput(child) {
      return outputs.get(child) ?? "";
    },
    async cli(...args: string[]) {
      let out = "";
      let err = "";
      const code = await run(["--config", configPath, ...args], {
        out: (s) => (out += s),
        err: (s) => (err += s),
        env: h.env,
      });
      return { code, out, err };
    },
    tmux(...args: string[]) {
      const r = spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
      return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
    },
    async cleanup() {
      for (const d of daemons) await d.stop().catch(() => {});
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      // The CLIs write their transcript as they exit on the tmux server's SIGHUP, after the temp dir is
      // removed, and leave it behind again: the test is over, so they are SIGKILLed first (no writes).
      const pids = spawnSync("tmux", ["-L", socket, "list-panes", "-a", "-F", "#{pane_pid}"], { encoding: "utf8" })
        .stdout.split("\n")
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
      spawnSync("tmux", ["-L", socket, "kill-server"]);
      await api.close();
      await waitFor(() => !pids.some(alive), 5_000, "the CLIs gone", 50).catch(() => {});
      await waitFor(
        () => {
          try {
            rmSync(root, { recursive: true, force: true });
            return true;
          } catch {
            return false;
          }
        },
        15_000,
        "temp dir removed",
        200,
      );
    },
  };
  h.writeConfig();
  return h;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObj(cur) && isObj(v) ? deepMerge(cur, v) : v;
  }
  return out;
}
function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** A free TCP port on loopback (for tests that restart a daemon on the same port). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** SIGKILLs the CLI in session `name`'s pane (a crash) and waits until tmux marks the pane dead. */
export async function killPaneCli(h: Harness, name = "dev"): Promise<void> {
  const pid = Number(h.tmux("display-message", "-p", "-t", `=${name}:`, "#{pane_pid}").out.trim());
  process.kill(pid, "SIGKILL");
  await waitFor(
    () => h.tmux("display-message", "-p", "-t", `=${name}:`, "#{pane_dead}").out.trim() === "1",
    10_000,
    "CLI dead",
  );
}
