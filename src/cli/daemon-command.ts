import { Daemon } from "../daemon.js";
import { notifyReady } from "../ops/sd-notify.js";
import { errorMessage } from "../util/errors.js";
import { createLogger } from "../util/log.js";
import type { CliIo } from "./main.js";
import { ExitError, loadCliConfig } from "./load.js";

/** Runs the daemon until SIGTERM/SIGINT; tmux sessions are left running when it stops. */
export async function runDaemon(flag: string | undefined, io: CliIo): Promise<void> {
  const loaded = loadCliConfig(flag, io.env, { generate: true });
  const log = createLogger(loaded.config.log.level);
  if (loaded.generated) log.info({ path: loaded.path }, "no config found: wrote a default one");
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config: loaded.config, env: io.env, log });
  } catch (e) {
    throw new ExitError(1, `claude-failover: cannot start: ${errorMessage(e)}`);
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, "stopping; tmux sessions keep running");
      daemon.stop().then(resolve, (e: unknown) => {
        log.error({ err: errorMessage(e) }, "stop failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    // Daemon.start resolved: the control plane listens and the sessions are reconciled. Readiness goes
    // out only now that the handlers are in place, so a stop right after READY=1 still stops cleanly.
    const where = daemon.address ? `${daemon.address.address}:${daemon.address.port}` : "?";
    void notifyReady(io.env, process.pid, `listening on ${where}, ${daemon.sessions.specs.size} session(s)`, log);
  });
}
