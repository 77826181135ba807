// `claude-failover accounts add NAME [--home DIR]` and `accounts remove NAME`: edit the config file in
// place (comments and order kept, see accounts-edit.ts), prepare the new home, and reload the running
// daemon with SIGHUP. Removing first disables the account and waits until its sessions moved away.
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { credentialsPath } from "../accounts/credentials.js";
import { prepareHome } from "../accounts/homes.js";
import { localCall } from "./control-client.js";
import { ExitError } from "./cli-config.js";
import { expandHome } from "../config/fields.js";
import { formatIssue, parseConfig, resolveConfigPath, type Config } from "../config/load.js";
import { errorMessage } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs-atomic.js";
import { systemClock } from "../util/clock.js";
import { pollUntil } from "../util/wait.js";
import { addAccountText, removeAccountText, setAccountDisabledText, type EditResult } from "./accounts-edit.js";
import type { OpsIo } from "./io.js";
import { runLogin, type TermIn, type TermOut } from "./login.js";
import { existsSync } from "node:fs";

export interface AccountsAddOptions {
  home?: string;
  priority?: number;
  /** true: log in now; false: don't; undefined: ask when stdin and stdout are terminals. */
  login?: boolean;
  stdin?: TermIn & NodeJS.ReadableStream;
  term?: TermOut;
}

interface ConfigFile {
  path: string;
  text: string;
  mode: number;
  realHome: string;
}

function readConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): ConfigFile {
  const realHome = env.HOME || homedir();
  const path = resolveConfigPath(flag, env, realHome);
  try {
    return { path, text: readFileSync(path, "utf8"), mode: statSync(path).mode & 0o777, realHome };
  } catch (e) {
    throw new ExitError(
      2,
      `cannot read the config ${path}: ${errorMessage(e)}; write one with the quick start or \`claude-failover init\``,
    );
  }
}

/** Validates the edited text as the daemon will, then replaces the file atomically (same mode). */
function writeEdited(f: ConfigFile, r: EditResult, env: NodeJS.ProcessEnv): Config {
  if (!r.ok) throw new ExitError(2, `${f.path}: ${r.message}`);
  const parsed = parseConfig(r.text, f.path, { env, home: f.realHome });
  if (!parsed.ok)
    throw new ExitError(
      2,
      `the edited config would not be valid (nothing written):\n${parsed.issues.map(formatIssue).join("\n")}`,
    );
  writeFileAtomic(f.path, r.text, f.mode || 0o600);
  f.text = r.text;
  return parsed.config;
}

/** SIGHUP to the running daemon (its pid from /status over the local socket); null when none runs. */
async function reloadDaemon(c: Config): Promise<number | null> {
  const r = await localCall(c, "GET", "/status").catch(() => null);
  const pid = r?.status === 200 ? (r.body as { pid?: unknown }).pid : undefined;
  if (typeof pid !== "number") return null;
  process.kill(pid, "SIGHUP");
  return pid;
}

function say(io: OpsIo, pid: number | null, what: string): void {
  io.out(pid ? `reloaded the daemon (pid ${pid}): ${what}\n` : `the daemon is not running: ${what} when it starts\n`);
}

export async function runAccountsAdd(
  flag: string | undefined,
  name: string,
  o: AccountsAddOptions,
  io: OpsIo,
): Promise<void> {
  const f = readConfigFile(flag, io.env);
  const homeText = o.home ?? `~/claude-accounts/${name}`;
  const resolveHome = (h: string) => resolve(expandHome(h, f.realHome));
  const c = writeEdited(
    f,
    addAccountText(
      f.text,
      { name, home: homeText, ...(o.priority !== undefined ? { priority: o.priority } : {}) },
      resolveHome,
    ),
    io.env,
  );
  const acct = c.accounts.find((a) => a.name === name)!;
  io.out(
    `added account ${name} (home ${acct.home}, priority ${acct.priority}) to ${f.path}; comments and order kept\n`,
  );
  try {
    const projects = c.dedicated.map((d) => d.project);
    const r = prepareHome(
      { account: acct.name, home: acct.home, managed: acct.managed, linkFiles: acct.link_files },
      { sharedProjectsDir: c.sessions.shared_projects_dir, projects, realHome: f.realHome },
    );
    for (const w of r.warnings) io.err(`warning: ${name}: ${w}\n`);
    io.out(`prepared ${acct.home}: conversations shared through ${c.sessions.shared_projects_dir}\n`);
  } catch (e) {
    throw new ExitError(
      1,
      `preparing ${acct.home} failed: ${errorMessage(e)} (the account is in the config; fix the folder and run \`claude-failover doctor\`)`,
    );
  }
  say(io, await reloadDaemon(c), `it uses ${name}`);
  if (existsSync(credentialsPath(acct.home))) return;
  const login =
    o.login ?? (await ask(o, `log ${name} in now (runs Claude Code's own login with HOME=${acct.home})? [Y/n] `));
  if (login && o.stdin) await runLogin({ config: c, account: name, io, stdin: o.stdin, term: o.term });
  else io.out(`not logged in yet: claude-failover login ${name}\n`);
}

async function ask(o: AccountsAddOptions, question: string): Promise<boolean> {
  const tty = (o.stdin as { isTTY?: boolean } | undefined)?.isTTY && o.term;
  if (!tty || !o.stdin) return false;
  const rl = createInterface({ input: o.stdin, output: process.stdout });
  try {
    return !/^n/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export interface AccountsRemoveOptions {
  /** How long to wait for the account's sessions to move away (ms). */
  timeoutMs?: number;
}

export async function runAccountsRemove(
  flag: string | undefined,
  name: string,
  o: AccountsRemoveOptions,
  io: OpsIo,
): Promise<void> {
  const f = readConfigFile(flag, io.env);
  const check = removeAccountText(f.text, name);
  if (!check.ok) throw new ExitError(2, `${f.path}: ${check.message}`);
  // 1. Disabled in the config: the daemon moves its sessions to the other accounts.
  let c = writeEdited(f, setAccountDisabledText(f.text, name, true), io.env);
  const pid = await reloadDaemon(c);
  if (pid) {
    io.out(`disabled ${name} and reloaded the daemon (pid ${pid}); waiting for its sessions to move\n`);
    let on: string[] = [];
    const moved = await pollUntil(
      async () => {
        const r = await localCall(c, "GET", "/accounts").catch(() => null);
        if (r?.status !== 200) return false;
        const row = (r.body as Array<{ name: string; state: string; sessions?: string[] }>).find(
          (a) => a.name === name,
        );
        on = row?.sessions ?? [];
        return row?.state === "disabled" && on.length === 0;
      },
      { clock: systemClock, timeoutMs: o.timeoutMs ?? 300_000, intervalMs: 500 },
    );
    if (!moved) {
      throw new ExitError(
        1,
        `session(s) ${on.join(", ")} are still on ${name}: they move when another account is usable (see \`claude-failover status\`). ` +
          `${name} stays disabled in ${f.path}; run \`claude-failover accounts remove ${name}\` again to finish`,
      );
    }
  }
  // 2. Gone from the config.
  c = writeEdited(f, removeAccountText(f.text, name), io.env);
  io.out(
    `removed account ${name} from ${f.path}; its home is left as it is (delete it yourself once you no longer need its login)\n`,
  );
  say(io, await reloadDaemon(c), `${name} is gone`);
}
