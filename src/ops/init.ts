// `claude-failover init`: writes a config, prepares the account homes, creates the token file, and
// prints or installs the systemd unit. Never overwrites an existing config without --force: accounts and
// projects given for an existing config are added to it (comments and order kept).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { prepareHome } from "../accounts/homes.js";
import { credentialsPath } from "../accounts/credentials.js";
import { expandHome } from "../config/fields.js";
import { formatIssue, loadConfigFile, parseConfig, resolveConfigPath } from "../config/load.js";
import { defaultStateDir } from "../config/schema.js";
import type { Config } from "../config/types.js";
import { ExitError } from "./cli-config.js";
import { ensurePrivateDir, writeFileAtomic } from "../util/fs-atomic.js";
import { addAccountText, addDedicatedText } from "./accounts-edit.js";
import { packagedCli } from "./cli-binary.js";
import { errorMessage } from "../util/errors.js";
import { ensureTokenFile, tokenFileFor } from "./env-file.js";
import {
  discoverAccounts,
  initConfigText,
  mergeAccounts,
  parseAccountFlag,
  projectSessions,
  type InitAccount,
} from "./init-config.js";
import type { OpsIo } from "./io.js";
import { daemonArgv, readTemplate, renderUnit, servicePath, UNIT_NAME, which, type UnitScope } from "./unit-file.js";

export interface InitOptions {
  accountsDir?: string;
  account: string[];
  project: string[];
  user?: boolean;
  install?: boolean;
  printUnit?: boolean;
  force?: boolean;
  /** Where --install writes the unit (default: /etc/systemd/system, or the user unit dir with --user). */
  unitDir?: string;
}

export async function runInit(flag: string | undefined, o: InitOptions, io: OpsIo): Promise<void> {
  const realHome = io.env.HOME || homedir();
  const configPath = resolveConfigPath(flag, io.env, realHome);
  const scope: UnitScope = o.user ? "user" : "system";
  if (o.printUnit) {
    io.out(renderFor(scope, configPath, io.env));
    return;
  }
  const config = writeOrKeepConfig(configPath, o, io, realHome);
  const tokenFile = tokenFileFor(configPath);
  if (!io.env[config.mcp_http.bearer_token_env] && ensureTokenFile(tokenFile, config.mcp_http.bearer_token_env)) {
    io.out(`wrote a bearer token for the control plane to ${tokenFile} (mode 0600)\n`);
  }
  ensurePrivateDir(config.state_dir);
  prepareHomes(config, realHome, io);
  if (o.install) installUnit(scope, configPath, o.unitDir, io);
  else printNextSteps(scope, configPath, io);
}

function writeOrKeepConfig(path: string, o: InitOptions, io: OpsIo, realHome: string): Config {
  const ctx = { env: io.env, home: realHome };
  const wantsNew = o.accountsDir !== undefined || o.account.length > 0 || o.project.length > 0;
  if (existsSync(path) && !o.force) {
    if (wantsNew) return extendConfig(path, o, io, realHome);
    const r = loadConfigFile(path, ctx);
    if (!r.ok) throw new ExitError(2, r.issues.map(formatIssue).join("\n"));
    io.out(`using the existing config ${path}\n`);
    return r.config;
  }
  const accounts = collectAccounts(o, realHome, io);
  const env = io.env;
  const text = initConfigText({
    stateDir: defaultStateDir(env, realHome),
    claudeBinary: which("claude", env.PATH),
    accounts,
    sessions: projectSessions(o.project, realHome),
    now: new Date(),
  });
  const r = parseConfig(text, path, ctx);
  if (!r.ok) throw new ExitError(2, `the generated config is not valid:\n${r.issues.map(formatIssue).join("\n")}`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    const bak = `${path}.bak-${Date.now()}`;
    copyFileSync(path, bak);
    io.out(`kept the old config as ${bak}\n`);
  }
  writeFileSync(path, text, { mode: 0o600 });
  io.out(`wrote ${path}: ${accounts.length} account(s), ${r.config.dedicated.length} session(s)\n`);
  if (!r.config.claude.binary.startsWith("/")) {
    const packaged = packagedCli();
    if (packaged)
      io.out(`\`claude\` is not on PATH: the daemon runs the CLI installed with claude-failover (${packaged})\n`);
    else
      io.err(
        "warning: no Claude Code CLI found (`claude` is not on PATH, none installed with claude-failover): install it or set claude.binary in the config to its absolute path\n",
      );
  }
  if (o.project.length === 0) io.out("no --project given: no dedicated session yet (add one under dedicated)\n");
  return r.config;
}

/**
 * An existing config gets the accounts and sessions given on the command line added to it, comments
 * and order kept; names and homes already there are left as they are. --force replaces it instead.
 */
function extendConfig(path: string, o: InitOptions, io: OpsIo, realHome: string): Config {
  let text = readFileSync(path, "utf8");
  const ctx = { env: io.env, home: realHome };
  const before = parseConfig(text, path, ctx);
  if (!before.ok) throw new ExitError(2, before.issues.map(formatIssue).join("\n"));
  const resolveHome = (h: string) => resolve(expandHome(h, realHome));
  const added: string[] = [];
  const accounts = o.accountsDir !== undefined || o.account.length > 0 ? collectAccounts(o, realHome, io) : [];
  for (const a of accounts) {
    if (before.config.accounts.some((x) => x.name === a.name && x.home === a.home)) continue;
    const r = addAccountText(text, { name: a.name, home: a.home }, resolveHome);
    if (!r.ok) throw new ExitError(2, `${path}: ${r.message} (nothing written)`);
    text = r.text;
    added.push(`account ${a.name}`);
  }
  const taken = new Set(before.config.dedicated.map((d) => d.name));
  for (const s of projectSessions(o.project, realHome)) {
    if (before.config.dedicated.some((d) => d.project === s.project)) continue;
    let name = s.name;
    for (let i = 2; taken.has(name); i++) name = `${s.name}-${i}`;
    taken.add(name);
    const r = addDedicatedText(text, { name, project: s.project });
    if (!r.ok) throw new ExitError(2, `${path}: ${r.message} (nothing written)`);
    text = r.text;
    added.push(`session ${name}`);
  }
  const after = parseConfig(text, path, ctx);
  if (!after.ok)
    throw new ExitError(
      2,
      `the extended config would not be valid (nothing written):\n${after.issues.map(formatIssue).join("\n")}`,
    );
  if (added.length) {
    writeFileAtomic(path, text, statSync(path).mode & 0o777 || 0o600);
    io.out(
      `extended ${path} (comments and order kept): added ${added.join(", ")}; a running daemon takes it on SIGHUP (systemctl reload claude-failover)\n`,
    );
  } else {
    io.out(`${path} already has everything given; nothing changed\n`);
  }
  return after.config;
}

function collectAccounts(o: InitOptions, realHome: string, io: OpsIo): InitAccount[] {
  const given: InitAccount[] = [];
  for (const f of o.account) {
    const p = parseAccountFlag(f, realHome);
    if (!p.ok) throw new ExitError(2, p.message);
    given.push(p.value);
  }
  let found: InitAccount[] = [];
  if (o.accountsDir !== undefined) {
    const dir = resolve(expandHome(o.accountsDir, realHome));
    let d: ReturnType<typeof discoverAccounts>;
    try {
      d = discoverAccounts(dir);
    } catch (e) {
      throw new ExitError(2, `--accounts-dir ${dir}: ${errorMessage(e)}`);
    }
    for (const s of d.skipped) io.err(`warning: skipped ${s}\n`);
    found = d.accounts;
  }
  const all = mergeAccounts(found, given);
  if (!all.ok) throw new ExitError(2, all.message);
  if (all.value.length === 0) {
    throw new ExitError(
      2,
      "no accounts: give --accounts-dir DIR (its subdirectories holding a .claude/ folder) or --account NAME=HOME",
    );
  }
  return all.value;
}

function prepareHomes(c: Config, realHome: string, io: OpsIo): void {
  const projects = c.dedicated.map((d) => d.project);
  for (const a of c.accounts) {
    try {
      const r = prepareHome(
        { account: a.name, home: a.home, managed: a.managed, linkFiles: a.link_files },
        { sharedProjectsDir: c.sessions.shared_projects_dir, projects, realHome },
      );
      for (const w of r.warnings) io.err(`warning: ${a.name}: ${w}\n`);
      io.out(`account ${a.name}: ${a.home}${r.actions.length ? ` (${r.actions.length} change(s))` : ""}\n`);
    } catch (e) {
      throw new ExitError(1, `preparing the home of ${a.name} (${a.home}) failed: ${errorMessage(e)}`);
    }
    if (!existsSync(credentialsPath(a.home))) io.out(`  not logged in yet: claude-failover login ${a.name}\n`);
  }
}

function renderFor(scope: UnitScope, configPath: string, env: NodeJS.ProcessEnv): string {
  const claude = loadedBinary(configPath, env) ?? which("claude", env.PATH);
  return renderUnit(readTemplate(scope), {
    execStart: daemonArgv(configPath),
    path: servicePath([claude, which("tmux", env.PATH)]),
    // systemd reads the file before switching to User=, so a system unit can load it from the user's home.
    envFile: tokenFileFor(configPath),
    ...(scope === "system" ? { user: userInfo().username } : {}),
  });
}

// An absolute claude.binary from the config (if it loads) goes on the service's PATH too.
function loadedBinary(configPath: string, env: NodeJS.ProcessEnv): string | null {
  const r = loadConfigFile(configPath, { env, home: env.HOME || homedir() });
  return r.ok && r.config.claude.binary.startsWith("/") ? r.config.claude.binary : null;
}

export function unitDirFor(scope: UnitScope, env: NodeJS.ProcessEnv): string {
  if (scope === "system") return "/etc/systemd/system";
  const xdg = env.XDG_CONFIG_HOME?.startsWith("/") ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return join(xdg, "systemd", "user");
}

function installUnit(scope: UnitScope, configPath: string, unitDir: string | undefined, io: OpsIo): void {
  const dir = unitDir ?? unitDirFor(scope, io.env);
  const unitPath = join(dir, UNIT_NAME);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(unitPath, renderFor(scope, configPath, io.env), { mode: 0o644 });
  } catch (e) {
    const hint =
      scope === "system" ? `\nrun it as root, or: claude-failover init --print-unit | sudo tee ${unitPath}` : "";
    throw new ExitError(1, `cannot install ${unitPath}: ${errorMessage(e)}${hint}`);
  }
  const sc = scope === "user" ? "systemctl --user" : "systemctl";
  io.out(
    `installed ${unitPath}\nstart it now and at every boot:\n  ${sc} daemon-reload && ${sc} enable --now claude-failover\n`,
  );
}

function printNextSteps(scope: UnitScope, configPath: string, io: OpsIo): void {
  const where = join(unitDirFor(scope, io.env), UNIT_NAME);
  const unit =
    scope === "user"
      ? "  claude-failover init --user --install      (a user service; see docs/operations.md)"
      : `  claude-failover init --print-unit | sudo tee ${where}      (a system service)`;
  io.out(
    [
      "next:",
      "  claude-failover login NAME       (once per account not logged in yet)",
      "  claude-failover doctor           (checks the whole setup)",
      unit,
      `config: ${configPath}`,
      "",
    ].join("\n"),
  );
}
