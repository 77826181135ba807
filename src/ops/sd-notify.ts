// Readiness for systemd (Type=notify). Node cannot send on a unix datagram socket without a native
// module, so the daemon runs systemd-notify(1), found on PATH, with the daemon's pid: the unit needs
// NotifyAccess=all because the sender is a child process. systemd-notify (since systemd 246) waits
// until the manager has processed the message, so the child exiting early loses nothing.
import { execFile } from "node:child_process";
import type { Logger } from "../util/log.js";

export type NotifyExec = (file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) => Promise<void>;

export type NotifyResult = { sent: true } | { sent: false; reason: "no_socket" | "failed"; detail: string };

const realNotifyExec: NotifyExec = (file, args, env, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs }, (err, _out, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")}: ${err.message}${stderr ? `: ${stderr.trim()}` : ""}`));
      else resolve();
    });
  });

/** The argv of the readiness message: READY=1, the main pid (so systemd tracks the daemon) and a status line. */
export function readyArgs(pid: number, status: string): string[] {
  return ["--ready", `--pid=${pid}`, `--status=${status.replace(/\n/g, " ")}`];
}

/**
 * Tells systemd the daemon is ready. A no-op outside systemd (NOTIFY_SOCKET unset). Never throws: a
 * failure is logged, and systemd then fails the start after TimeoutStartSec with that log line beside it.
 */
export async function notifyReady(
  env: NodeJS.ProcessEnv,
  pid: number,
  status: string,
  log: Logger,
  exec: NotifyExec = realNotifyExec,
): Promise<NotifyResult> {
  if (!env.NOTIFY_SOCKET)
    return {
      sent: false,
      reason: "no_socket",
      detail: "NOTIFY_SOCKET is not set (not started by systemd with Type=notify)",
    };
  try {
    await exec("systemd-notify", readyArgs(pid, status), env, 10_000);
    log.info({ status }, "told systemd we are ready");
    return { sent: true };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    log.error({ err: detail }, "could not tell systemd we are ready (is systemd-notify installed?)");
    return { sent: false, reason: "failed", detail };
  }
}

/**
 * Environment variables that address systemd's notification socket and watchdog. The CLI sessions
 * (and every tool they run) must not inherit them: with NotifyAccess=all anything in the unit's
 * cgroup could otherwise speak for the daemon.
 */
export const SYSTEMD_NOTIFY_VARS = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];
