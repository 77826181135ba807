// Benchmark: what the daemon costs with 10, 50 and 100 stub sessions (RSS and CPU, idle and with
// prompts flowing), and how many tmux commands it runs per minute at idle with 100 sessions, by
// subcommand: hooks drive state, so the only steady tmux call is one `list-panes -a` per sweep.
// The daemon runs as `claude-failover daemon` (a child) for RSS/CPU; the tmux count uses an in-process
// daemon with a counting exec, adopting the same 100 sessions, with production defaults (2 s sweep).
// Run: node --import tsx bench/idle/idle-cost.ts   (IDLE_SIZES=10,50,100 IDLE_SECONDS=60)
// The daemon child runs the compiled build (`npm run build` first; it is run here) unless IDLE_TSX=1.
import { Daemon } from "../../src/daemon.js";
import { realExec, type Exec } from "../../src/tmux/exec.js";
import { silentLogger } from "../../src/util/log.js";
import { delay, waitFor } from "../../test/support/wait.js";
import { ScaleEnv } from "../../test/scale/scale-env.js";
import { machine } from "../scale-report.js";

const SIZES = (process.env.IDLE_SIZES ?? "10,50,100").split(",").map(Number);
const SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const out = (s: string) => process.stdout.write(`${s}\n`);
// Production-like timings: the usage endpoint every few minutes, checkpoints every 5 minutes.
const DEFAULTS = {
  quota: {
    poll_interval: "5m",
    poll_interval_min: "1m",
    poll_interval_max: "30m",
    min_dwell: "15m",
    stale_after: "20m",
  },
  checkpoint: { interval: "5m", keep: 10 },
};

async function allIdle(env: ScaleEnv, n: number): Promise<void> {
  await waitFor(
    async () => (await env.sessions()).filter((s) => s.state === "idle").length === n,
    300_000,
    `${n} sessions idle`,
    1000,
  );
}

async function measure(n: number): Promise<string> {
  const env = await ScaleEnv.create({ dedicated: n, poolMax: 0, accounts: 5, offlineDelayMs: 200, config: DEFAULTS });
  try {
    const t0 = Date.now();
    const pid = await env.startDaemon();
    await allIdle(env, n);
    const ready = Date.now() - t0;
    await delay(5000); // let start-up work (first polls, first checkpoint round) settle before measuring
    const rssIdle0 = env.rssKb(pid)!;
    const c0 = env.cpuSeconds(pid)!;
    await delay(SECONDS * 1000);
    const idleCpu = ((env.cpuSeconds(pid)! - c0) / SECONDS) * 100;
    const rssIdle = env.rssKb(pid)!;
    // Each session gets a prompt about every 30 s.
    const c1 = env.cpuSeconds(pid)!;
    const rate = n / 30;
    let sent = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const sends: Promise<unknown>[] = [];
    while (Date.now() < deadline) {
      const name = env.names[sent % n]!;
      sends.push(
        env.api("POST", "/trigger/send", { session: name, text: `idle bench ${sent} SLOW:500` }).catch(() => null),
      );
      sent++;
      await delay(1000 / rate);
    }
    await Promise.allSettled(sends);
    const activeCpu = ((env.cpuSeconds(pid)! - c1) / ((Date.now() - deadline + SECONDS * 1000) / 1000)) * 100;
    const rssActive = env.rssKb(pid)!;
    let tmuxLine = "";
    if (n === Math.max(...SIZES)) {
      await env.killDaemon("SIGTERM");
      tmuxLine = await tmuxPerMinute(env, n);
    }
    return `| ${n} | ${(ready / 1000).toFixed(1)} s | ${Math.round(rssIdle0 / 1024)} → ${Math.round(rssIdle / 1024)} MB | ${idleCpu.toFixed(2)} % | ${Math.round(rssActive / 1024)} MB | ${activeCpu.toFixed(1)} % (${(sent / SECONDS).toFixed(1)} prompts/s) |${tmuxLine}`;
  } finally {
    await env.cleanup();
  }
}

/** tmux commands per minute at idle, by subcommand, from an in-process daemon that adopts the sessions. */
async function tmuxPerMinute(env: ScaleEnv, n: number): Promise<string> {
  const counts = new Map<string, number>();
  let counting = false;
  const base = realExec();
  const exec: Exec = (argv, opts) => {
    const sub = argv.find((a) => !a.startsWith("-") && a !== env.h.socket) ?? "?";
    if (counting) counts.set(sub, (counts.get(sub) ?? 0) + 1);
    return base(argv, opts);
  };
  const d = await Daemon.start({
    config: env.h.loadConfig(),
    env: env.h.env,
    log: silentLogger(),
    realHome: env.h.root,
    exec,
  });
  try {
    await waitFor(
      () => d.sessions.list().filter((s) => s.state === "idle").length === n,
      120_000,
      "adopted and idle",
      500,
    );
    await delay(5000);
    const calls0 = d.tmux.calls;
    counting = true;
    await delay(SECONDS * 2 * 1000);
    counting = false;
    const perMin = ((d.tmux.calls - calls0) / (SECONDS * 2)) * 60;
    const by = [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${((v / (SECONDS * 2)) * 60).toFixed(1)}`)
      .join(", ");
    return `\n\ntmux invocations at idle with ${n} sessions: ${perMin.toFixed(1)} per minute (${by}) over ${SECONDS * 2} s`;
  } finally {
    await d.stop();
  }
}

if (!process.env.IDLE_TSX) {
  const { spawnSync } = await import("node:child_process");
  const path = await import("node:path");
  const { REPO } = await import("../../test/support/harness.js");
  const built = spawnSync(
    process.execPath,
    [path.join(REPO, "node_modules/typescript/bin/tsc"), "-p", path.join(REPO, "tsconfig.json")],
    { stdio: "inherit" },
  );
  if (built.status !== 0) throw new Error("build failed");
  process.env.SCALE_DAEMON_JS = path.join(REPO, "dist/src/cli/bin.js");
}
out(`machine: ${await machine()}; daemon ${process.env.SCALE_DAEMON_JS ? "compiled (dist)" : "under tsx"}`);
out(
  "| stub sessions | all idle after | daemon RSS at idle (start → +1 min) | daemon CPU idle | RSS with prompts | daemon CPU with prompts |",
);
out("|---|---|---|---|---|---|");
for (const n of SIZES) out(await measure(n));
