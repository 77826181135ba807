import { spawnSync } from "node:child_process";
import { Command, CommanderError } from "commander";
import { socketArgs } from "../tmux/tmux.js";
import { errorMessage, isCfError } from "../util/errors.js";
import { errorText, localCall, operatorToken } from "../ops/control-client.js";
import { runDaemon } from "./daemon-command.js";
import { registerTaskCommands } from "./task-commands.js";
import { registerOpsCommands } from "./ops-commands.js";
import { notRunning, type CliIo } from "./io.js";
import { formatAccounts, formatStatus } from "./format.js";
import { ExitError, loadCliConfig } from "../ops/cli-config.js";
import { formatIssue } from "../config/load.js";
import { registerStopCommand } from "./stop-command.js";
import { registerNotifyCommand } from "./notify-command.js";
import { registerScheduleCommand } from "./schedule-command.js";
import { accountsEdit, type AccountsCliOptions } from "./accounts-edit-command.js";
import { describeTrigger, explainError } from "./human.js";
import { tokenFileFor } from "../ops/env-file.js";
import { packageVersion } from "../ops/cli-binary.js";

/** Builds the command tree. Every action throws ExitError for a non-zero exit; nothing calls process.exit here. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("claude-failover")
    .description("Keeps Claude Code running in tmux under several accounts and moves sessions before quota runs out.")
    .option(
      "-c, --config <path>",
      "config file (default: $CLAUDE_FAILOVER_CONFIG or $XDG_CONFIG_HOME/claude-failover/config.yaml)",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const cfgFlag = () => program.opts<{ config?: string }>().config;

  program
    .command("daemon")
    .description("run the daemon in the foreground (systemd runs this)")
    .action(async () => {
      await runDaemon(cfgFlag(), io);
    });

  const config = program.command("config").description("config file commands");
  config
    .command("check")
    .description("validate the config file: exit 0 if valid, 2 otherwise")
    .action(() => {
      const { path, warnings } = loadCliConfig(cfgFlag(), io.env, { checkDirs: true });
      // Deprecated key names still load; each is said on stderr, and the check still passes.
      for (const w of warnings) io.err(`warning: ${formatIssue(w)}\n`);
      io.out(
        `${path}: ok${warnings.length ? ` (${warnings.length} deprecated key${warnings.length > 1 ? "s" : ""})` : ""}\n`,
      );
    });

  program
    .command("status")
    .description("sessions and accounts, from the running daemon")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const { config: c, path } = loadCliConfig(cfgFlag(), io.env);
      // Over the daemon's 0600 unix socket, as `accounts` does: no token to export.
      const r = await localCall(c, "GET", "/status").catch((e: unknown) => {
        throw new ExitError(1, notRunning(c, e));
      });
      if (r.status !== 200) throw new ExitError(1, `status failed: ${explainError(r, tokenFileFor(path))}`);
      io.out(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatStatus(r.body as Record<string, unknown>)}\n`);
    });

  program
    .command("attach")
    .argument("<name>", "session name")
    .description("attach to a session's tmux pane")
    .action((name: string) => {
      const { config: c } = loadCliConfig(cfgFlag(), io.env);
      const r = spawnSync("tmux", [...socketArgs(c.tmux.socket), "attach-session", "-t", `=${name}`], {
        stdio: "inherit",
      });
      if (r.status !== 0) throw new ExitError(r.status ?? 1, `tmux attach to ${name} failed`);
    });

  program
    .command("swap")
    .argument("<name>", "session name")
    .description("swap a session onto another account (its CLI resumes the conversation there)")
    .option("--to <account>", "target account (default: the best usable one)")
    .option("--reason <text>", "reason recorded with the swap", "manual")
    .option("--urgent", "do not wait for a running turn to end")
    .option("--json", "print JSON")
    .action(async (name: string, o: { to?: string; reason?: string; urgent?: boolean; json?: boolean }) => {
      await local(
        io,
        cfgFlag(),
        "/trigger/swap",
        { session: name, to: o.to, reason: o.reason, urgent: o.urgent ?? false },
        o.json,
      );
    });

  program
    .command("checkpoint")
    .argument("<name>", "session name")
    .description("take a checkpoint of a session now")
    .option("--json", "print JSON")
    .action(async (name: string, o: { json?: boolean }) =>
      local(io, cfgFlag(), "/trigger/checkpoint", { session: name }, o.json),
    );

  program
    .command("restart")
    .argument("<name>", "session name")
    .description("restart a session's CLI (clears a failed state)")
    .option("--json", "print JSON")
    .action(async (name: string, o: { json?: boolean }) =>
      local(io, cfgFlag(), "/trigger/restart", { session: name }, o.json),
    );

  program
    .command("send")
    .argument("<name>", "session name")
    .argument("<text>", "prompt text")
    .description("send a prompt to a session")
    .option("--json", "print JSON")
    .action(async (name: string, text: string, o: { json?: boolean }) =>
      local(io, cfgFlag(), "/trigger/send", { session: name, text }, o.json),
    );

  program
    .command("command")
    .argument("<name>", "session name")
    .argument("<command...>", "an allowed slash command: /compact [instructions], /clear, /model NAME")
    .description("run a slash command in a session (only /compact, /clear, /model; prompt text never runs as one)")
    .option("--json", "print JSON")
    .action(async (name: string, words: string[], o: { json?: boolean }) =>
      local(io, cfgFlag(), "/trigger/command", { session: name, command: words.join(" ") }, o.json),
    );

  program
    .command("accounts")
    .description("accounts: state, usage figures, token expiry, sessions; enable/disable one; add or remove one")
    .argument("[action]", "enable | disable | add | remove")
    .argument("[name]", "account name")
    .option("--json", "print JSON")
    .option("--home <dir>", "add: the account's home (default ~/claude-accounts/NAME; created and prepared)")
    .option("--priority <n>", "add: lower is preferred (default: after the others)")
    .option("--login", "add: log the account in right away")
    .option("--no-login", "add: don't offer to log in")
    .action(async (action: string | undefined, name: string | undefined, o: AccountsCliOptions) => {
      if ((action === "add" || action === "remove") && name) return accountsEdit(io, cfgFlag(), action, name, o);
      if (action) {
        if ((action !== "enable" && action !== "disable") || !name)
          throw new ExitError(2, "usage: claude-failover accounts [enable|disable|add|remove NAME] [--json]");
        return local(io, cfgFlag(), `/trigger/account-${action}`, { account: name }, o.json);
      }
      const { config: c } = loadCliConfig(cfgFlag(), io.env);
      const r = await localCall(c, "GET", "/accounts").catch((e: unknown) => {
        throw new ExitError(1, notRunning(c, e));
      });
      if (r.status !== 200) throw new ExitError(1, errorText(r));
      io.out(
        o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatAccounts(r.body as Record<string, unknown>[])}\n`,
      );
    });

  program
    .command("scale")
    .description("set the pool's size: at least --min and at most --max pool sessions (until a reload or restart)")
    .option("--min <n>", "keep at least this many pool sessions running (0-64)")
    .option("--max <n>", "never run more than this many (0-64; 0: no pool sessions)")
    .option("--json", "print JSON")
    .action(async (o: { min?: string; max?: string; json?: boolean }) => {
      const body = scaleBody(o);
      await local(io, cfgFlag(), "/trigger/scale", body, o.json);
    });

  program
    .command("events")
    .description("print the daemon's event log")
    .option("-n <count>", "how many", "50")
    .option("-f, --follow", "keep printing new events")
    .option("--json", "one JSON object per line")
    .option("--all-boxes", "the events of every box sharing the store (store.backend postgres), each with its box")
    .option("--box <name>", "only this box's events (from the shared store; implies --all-boxes)")
    .action(async (o: { n: string; follow?: boolean; json?: boolean; allBoxes?: boolean; box?: string }) => {
      const fmtEvent = (e: EventJson) => (o.json ? `${JSON.stringify(e)}\n` : fmtEventText(e));
      const { config: c } = loadCliConfig(cfgFlag(), io.env);
      const boxes = eventsBoxesQuery(o);
      const r = await localCall(c, "GET", `/events?n=${Number(o.n) || 50}${boxes}`);
      if (r.status !== 200) throw new ExitError(1, errorText(r));
      let last = 0;
      for (const e of r.body as EventJson[]) {
        io.out(fmtEvent(e));
        last = e.id;
      }
      while (o.follow) {
        await new Promise((res) => setTimeout(res, 1000));
        const more = await localCall(c, "GET", `/events?after=${last}${boxes}`);
        if (more.status !== 200) throw new ExitError(1, errorText(more));
        for (const e of more.body as EventJson[]) {
          io.out(fmtEvent(e));
          last = e.id;
        }
      }
    });

  registerOpsCommands(program, io, cfgFlag);
  registerStopCommand(program, io, cfgFlag);
  registerTaskCommands(program, io, cfgFlag);
  registerNotifyCommand(program, io, cfgFlag);
  registerScheduleCommand(program, io, cfgFlag);
  return program;
}

/** `scale`'s flags as the /trigger/scale body; exit 2 for a flag that is not a whole number 0-64, or for neither. */
export function scaleBody(o: { min?: string; max?: string }): { min?: number; max?: number } {
  const body: { min?: number; max?: number } = {};
  for (const key of ["min", "max"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n > 64) throw new ExitError(2, `--${key} ${v}: must be a whole number from 0 to 64`);
    body[key] = n;
  }
  if (body.min === undefined && body.max === undefined)
    throw new ExitError(2, "usage: claude-failover scale [--min N] [--max N] (give at least one)");
  if (body.min !== undefined && body.max !== undefined && body.min > body.max)
    throw new ExitError(2, `--min ${body.min} must not be above --max ${body.max}`);
  return body;
}

/** `events`' --all-boxes and --box as query parameters of /events ("" for this box's own log). */
export function eventsBoxesQuery(o: { allBoxes?: boolean; box?: string }): string {
  if (!o.allBoxes && o.box === undefined) return "";
  return `&boxes=all${o.box !== undefined ? `&box=${encodeURIComponent(o.box)}` : ""}`;
}

export interface EventJson {
  id: number;
  ts: number;
  /** with --all-boxes: the box it happened on */
  box?: string;
  kind: string;
  session: string | null;
  account: string | null;
  data: unknown;
}
/** One event as a line; names are shown without control characters (another box's rows come from the shared store). */
export function fmtEventText(e: EventJson): string {
  // eslint-disable-next-line no-control-regex -- the control characters are what is replaced
  const p = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return `${new Date(e.ts).toISOString()}${e.box ? ` [${p(e.box)}]` : ""} ${p(e.kind)}${e.session ? ` session=${p(e.session)}` : ""}${e.account ? ` account=${p(e.account)}` : ""} ${JSON.stringify(e.data)}\n`;
}

/** An operator command over the local socket: a sentence saying what happened, or the JSON with --json. */
async function local(
  io: CliIo,
  flag: string | undefined,
  path: string,
  body: Record<string, unknown>,
  json = false,
): Promise<void> {
  const { config: c, path: configPath } = loadCliConfig(flag, io.env);
  const r = await localCall(c, "POST", path, body, operatorToken(c, io.env, configPath)).catch((e: unknown) => {
    throw new ExitError(1, notRunning(c, e));
  });
  if (r.status !== 200) throw new ExitError(1, explainError(r, tokenFileFor(configPath)));
  const said = describeTrigger(path, body, r.body);
  io.out(json ? `${JSON.stringify(r.body, null, 2)}\n` : `${said.text}\n`);
  if (!said.ok) throw new ExitError(1, "");
}

/** Entry used by bin.ts and tests: returns the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof ExitError) {
      if (e.message) io.err(`${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isCfError(e)) {
      io.err(`claude-failover: ${e.message}\n`);
      return 1;
    }
    io.err(`claude-failover: ${errorMessage(e)}\n`);
    return 1;
  }
}
