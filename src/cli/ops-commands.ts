// The operator's setup commands (init, login, doctor), added to the CLI's command tree; the work is in ops/.
import type { Command } from "commander";
import { loadCliConfig } from "../ops/cli-config.js";
import { runDoctor } from "../ops/doctor.js";
import { runInit, type InitOptions } from "../ops/init.js";
import { runLogin } from "../ops/login.js";
import type { CliIo } from "./io.js";

// Repeatable options start undefined (commander would print a default of [] in --help).
const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerOpsCommands(program: Command, io: CliIo, cfgFlag: () => string | undefined): void {
  program
    .command("init")
    .description("write a config, prepare the account homes, and print or install the systemd unit")
    .option(
      "--accounts-dir <dir>",
      "add every subdirectory of DIR that holds a .claude/ folder as an account named after it",
    )
    .option("--account <name=home>", "add an account (repeatable); the home is created if missing", collect)
    .option("--project <dir>", "add a dedicated session on this project (repeatable)", collect)
    .option("--user", "a user unit (systemctl --user) instead of a system unit")
    .option("--install", "write the unit to /etc/systemd/system (as root) or, with --user, ~/.config/systemd/user")
    .option("--print-unit", "only print the unit for this installation and config, and exit")
    .option("--force", "replace an existing config (a backup is kept)")
    .option("--unit-dir <dir>", "install the unit into DIR instead")
    .action(async (o: Omit<InitOptions, "account" | "project"> & { account?: string[]; project?: string[] }) => {
      await runInit(cfgFlag(), { ...o, account: o.account ?? [], project: o.project ?? [] }, io);
    });

  program
    .command("login")
    .argument("<account>", "account name from the config")
    .description("log an account in: runs the CLI's own `claude auth login` with that account's HOME")
    .action(async (account: string) => {
      const { config } = loadCliConfig(cfgFlag(), io.env);
      await runLogin({
        config,
        account,
        io,
        stdin: process.stdin,
        term: process.stdout.isTTY ? process.stdout : undefined,
      });
    });

  program
    .command("doctor")
    .description("check tmux, the CLI, every account home, the state dir, the token, the port and the unit")
    .option("--json", "print the checks as JSON")
    .action(async (o: { json?: boolean }) => runDoctor(cfgFlag(), io, { json: o.json ?? false }));
}
