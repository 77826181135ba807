// The CLI's terminal and its shared sentences, imported by main.ts and every command file (never main.ts
// itself, so the command files and main.ts form no import cycle). ops/ takes the same shape as OpsIo
// (ops/io.ts): ops/ sits below cli/ and never imports it.
import { errorMessage } from "../util/errors.js";
import type { OpsIo } from "../ops/io.js";

/** stdout, stderr and the environment of one CLI run (bin.ts passes the process's; tests pass strings). */
export type CliIo = OpsIo;

/** "cannot reach the daemon …" with what to do about it. */
export function notRunning(c: { state_dir: string }, e: unknown): string {
  return (
    `cannot reach the daemon (its control socket in ${c.state_dir}: ${errorMessage(e)}); is it running? ` +
    "Start it with `claude-failover daemon` (or `systemctl --user start claude-failover`, or run the quick start again)"
  );
}
