// `claude-failover stop [--sessions]`: stops the daemon (SIGTERM, as systemd does) and, with --sessions,
// ends its tmux sessions too (those carrying the owner mark on the configured tmux server).
import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { realExec } from "../tmux/exec.js";
import { Tmux } from "../tmux/tmux.js";
import { systemClock } from "../util/clock.js";
import { pollUntil } from "../util/wait.js";
import { localCall } from "../ops/control-client.js";
import { loadCliConfig } from "../ops/cli-config.js";
import type { CliIo } from "./io.js";

/** Whether `pid` still runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && existsSync("/proc/self/stat")) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function registerStopCommand(program: Command, io: CliIo, cfgFlag: () => string | undefined): void {
  program
    .command("stop")
    .description("stop the daemon; --sessions also ends its tmux sessions (the CLIs in them exit)")
    .option("--sessions", "also end every tmux session the daemon supervises")
    .option("--json", "print JSON")
    .action(async (o: { sessions?: boolean; json?: boolean }) => {
      const { config: c } = loadCliConfig(cfgFlag(), io.env);
      const r = await localCall(c, "GET", "/status").catch(() => null);
      const pid = r?.status === 200 ? (r.body as { pid?: unknown }).pid : undefined;
      const out: { daemonPid: number | null; daemonStopped: boolean; sessionsEnded: string[] } = {
        daemonPid: null,
        daemonStopped: false,
        sessionsEnded: [],
      };
      const lines: string[] = [];
      if (typeof pid === "number") {
        out.daemonPid = pid;
        process.kill(pid, "SIGTERM");
        // The daemon lets a swap in flight finish (up to 30 s) before it exits.
        out.daemonStopped = !!(await pollUntil(() => !alive(pid), {
          clock: systemClock,
          timeoutMs: 40_000,
          intervalMs: 100,
        }));
        lines.push(
          out.daemonStopped
            ? `stopped the daemon (pid ${pid})`
            : `sent SIGTERM to the daemon (pid ${pid}); it has not exited after 40 s`,
        );
      } else {
        lines.push("the daemon is not running");
      }
      if (o.sessions) {
        // Only after the daemon is gone: a running daemon would start them again.
        const tmux = new Tmux(realExec(), c.tmux.socket);
        const owned = (await tmux.listPanes().catch(() => [])).filter((p) => p.owned);
        for (const name of new Set(owned.map((p) => p.session))) {
          await tmux.killSession(name);
          out.sessionsEnded.push(name);
        }
        lines.push(
          out.sessionsEnded.length
            ? `ended ${out.sessionsEnded.length} session(s): ${out.sessionsEnded.join(", ")}`
            : "no sessions to end",
        );
      } else if (out.daemonStopped) {
        lines.push("the sessions keep running in tmux (`claude-failover stop --sessions` ends them too)");
      }
      io.out(o.json ? `${JSON.stringify(out, null, 2)}\n` : `${lines.join("\n")}\n`);
    });
}
