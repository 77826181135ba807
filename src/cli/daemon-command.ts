import type { Config } from "../config/types.js";
import { formatIssue, isDir, loadConfigFile } from "../config/load.js";
import { Daemon } from "../daemon.js";
import { EXIT_LOCKED, InstanceLockedError } from "../ops/instance-lock.js";
import { notifyReady } from "../ops/sd-notify.js";
import { anthropicEnvWarnings } from "../ops/env-warnings.js";
import { readEnvFile, tokenFileFor } from "../ops/env-file.js";
import { errorMessage, isCfError } from "../util/errors.js";
import { createLogger, type Logger } from "../util/log.js";
import type { CliIo } from "./io.js";
import { ExitError, loadCliConfig } from "../ops/cli-config.js";
import { homedir } from "node:os";

/**
 * Runs the daemon until SIGTERM/SIGINT (tmux sessions are left running); SIGHUP reloads the config.
 * Handlers go in before the daemon starts, so a signal during start-up is not Node's default (exit).
 */
export async function runDaemon(flag: string | undefined, io: CliIo): Promise<void> {
  const loaded = loadCliConfig(flag, io.env, { generate: true });
  const log = createLogger(loaded.config.log.level);
  if (loaded.generated) log.info({ path: loaded.path }, "no config found: wrote a default one");
  for (const w of loaded.warnings) log.warn(formatIssue(w));
  for (const w of anthropicEnvWarnings(io.env, loaded.config.claude.env, loaded.path)) log.warn(w);
  let daemon: Daemon | null = null;
  let stopRequested: string | null = null;
  let reloadRequested = false;
  let reloading: Promise<void> = Promise.resolve();
  let wake: () => void = () => {};
  const stopped = new Promise<void>((r) => (wake = r));
  const onStop = (sig: string) => {
    if (stopRequested) return;
    stopRequested = sig;
    if (daemon) wake();
  };
  const onHup = () => {
    if (!daemon) {
      reloadRequested = true;
      return;
    }
    const d = daemon;
    reloading = reloading.then(() => reload(d, loaded.path, io.env, log));
  };
  process.on("SIGTERM", () => onStop("SIGTERM"));
  process.on("SIGINT", () => onStop("SIGINT"));
  process.on("SIGHUP", onHup);
  try {
    daemon = await Daemon.start({
      config: loaded.config,
      env: withTokenFile(io.env, loaded.config, loaded.path, log),
      log,
    });
  } catch (e) {
    // Exit 2 for "already running": the unit's RestartPreventExitStatus=2 keeps systemd from retrying it.
    if (e instanceof InstanceLockedError)
      throw new ExitError(EXIT_LOCKED, `claude-failover: not starting: ${e.message}`);
    // A state database from a newer version, or a damaged one, will not get better by restarting: exit 2.
    if (isCfError(e, "db_too_new") || isCfError(e, "db_corrupt"))
      throw new ExitError(2, `claude-failover: not starting: ${e.message}`);
    const tokenHint =
      isCfError(e) && e.code === "no_token"
        ? `\nfix: create the token file with \`claude-failover init\` (or the quick start), or load one with \`set -a; . ${tokenFileFor(loaded.path)}; set +a\``
        : "";
    throw new ExitError(1, `claude-failover: cannot start: ${errorMessage(e)}${tokenHint}`);
  }
  if (reloadRequested) onHup();
  if (stopRequested) wake();
  // Daemon.start resolved: the control plane listens and the sessions are reconciled.
  const where = daemon.address ? `${daemon.address.address}:${daemon.address.port}` : "?";
  void notifyReady(io.env, process.pid, `listening on ${where}, ${daemon.sessions.specs.size} session(s)`, log);
  await stopped;
  log.info({ signal: stopRequested }, "stopping; tmux sessions keep running");
  await reloading;
  await daemon.stop().catch((e: unknown) => log.error({ err: errorMessage(e) }, "stop failed"));
}

/** An invalid config is rejected with the same messages as `config check`; the old one stays in force. */
async function reload(d: Daemon, path: string, env: NodeJS.ProcessEnv, log: Logger): Promise<void> {
  // A schedule's project must exist for the new config to be taken (the running one stays otherwise).
  const r = loadConfigFile(path, { env, home: env.HOME || homedir(), isDir });
  if (!r.ok) {
    const messages = r.issues.map(formatIssue);
    log.error({ issues: messages }, "reload rejected: config is invalid; keeping the running config");
    for (const m of messages) process.stderr.write(`${m}\n`);
    d.store.appendEvent(d.api.now(), "daemon.reload_rejected", null, null, { issues: messages });
    return;
  }
  for (const w of r.warnings) log.warn(`reload: ${formatIssue(w)}`);
  try {
    await d.reload(r.config);
  } catch (e) {
    log.error({ err: errorMessage(e) }, "reload failed");
  }
}

/**
 * The bearer token from the environment, else from token.env beside the config (what the quick start
 * and `init` write, mode 0600): `claude-failover daemon` then runs from any shell without exporting it.
 * With neither, Daemon.start refuses with what is missing; the caller's message says how to fix it.
 */
function withTokenFile(env: NodeJS.ProcessEnv, c: Config, configPath: string, log: Logger): NodeJS.ProcessEnv {
  const name = c.mcp_http.bearer_token_env;
  if (env[name]) return env;
  const file = tokenFileFor(configPath);
  const r = readEnvFile(file);
  if (!r.ok || !r.vars[name]) return env;
  log.info({ file }, `${name} is not in the environment: using the one in the token file`);
  return { ...env, [name]: r.vars[name] };
}
