// What `claude-failover init` puts in a new config: accounts found on disk or given on the command
// line, one dedicated session per project, and the paths the service must agree on with the shell.
import { readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { stringify } from "yaml";
import { expandHome } from "../config/fields.js";
import { ACCOUNT_NAME } from "../config/schema.js";

export interface InitAccount {
  name: string;
  home: string;
}
export interface InitSession {
  name: string;
  project: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Every subdirectory of `dir` holding a `.claude/` directory is an account named after it. */
export function discoverAccounts(dir: string): { accounts: InitAccount[]; skipped: string[] } {
  const accounts: InitAccount[] = [];
  const skipped: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const home = join(dir, name);
    if (!isDir(home) || !isDir(join(home, ".claude"))) continue;
    if (!ACCOUNT_NAME.test(name)) {
      skipped.push(
        `${home}: ${JSON.stringify(name)} is not a usable account name (1-32 letters, digits, '_' or '-'); add it with --account NAME=${home}`,
      );
      continue;
    }
    accounts.push({ name, home });
  }
  return { accounts, skipped };
}

/** `NAME=HOME` from --account; HOME may start with ~ and need not exist yet (init creates it). */
export function parseAccountFlag(flag: string, realHome: string): Parsed<InitAccount> {
  const eq = flag.indexOf("=");
  const name = eq > 0 ? flag.slice(0, eq) : "";
  const home = eq > 0 ? flag.slice(eq + 1) : "";
  if (!name || !home)
    return {
      ok: false,
      message: `--account ${JSON.stringify(flag)}: expected NAME=HOME, e.g. --account work=~/accounts/work`,
    };
  if (!ACCOUNT_NAME.test(name))
    return {
      ok: false,
      message: `--account ${JSON.stringify(flag)}: the name must be 1-32 letters, digits, '_' or '-'`,
    };
  return { ok: true, value: { name, home: resolve(expandHome(home, realHome)) } };
}

/** One dedicated session per project, named after its folder (made unique with -2, -3, ...). */
export function projectSessions(projects: string[], realHome: string): InitSession[] {
  const used = new Set<string>();
  return projects.map((p) => {
    const project = resolve(expandHome(p, realHome));
    const base = (
      basename(project)
        .replace(/[^A-Za-z0-9_-]/g, "-")
        .replace(/^[^A-Za-z0-9]+/, "") || "main"
    ).slice(0, 60);
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return { name, project };
  });
}

/** Accounts from the directory scan and the flags together; a name or home given twice is an error. */
export function mergeAccounts(found: InitAccount[], given: InitAccount[]): Parsed<InitAccount[]> {
  const out: InitAccount[] = [];
  for (const a of [...given, ...found]) {
    const same = out.find((o) => o.name.toLowerCase() === a.name.toLowerCase() || o.home === a.home);
    if (!same) out.push(a);
    else if (same.name !== a.name || same.home !== a.home) {
      return {
        ok: false,
        message: `accounts ${same.name}=${same.home} and ${a.name}=${a.home} clash (same name or same home)`,
      };
    }
  }
  return { ok: true, value: out };
}

export interface InitConfigInput {
  stateDir: string;
  claudeBinary: string | null;
  accounts: InitAccount[];
  sessions: InitSession[];
  now: Date;
}

/**
 * The config text. state_dir is written out even when it is the default: a service started by
 * systemd has no XDG_STATE_HOME, and the shell's `claude-failover status` must find the same socket.
 */
export function initConfigText(i: InitConfigInput): string {
  const doc: Record<string, unknown> = { state_dir: i.stateDir };
  if (i.claudeBinary) doc.claude = { binary: i.claudeBinary };
  doc.accounts = i.accounts.map((a, n) => ({ name: a.name, home: a.home, priority: (n + 1) * 10 }));
  doc.dedicated = i.sessions.map((s) => ({ name: s.name, project: s.project }));
  return [
    `# Written by \`claude-failover init\` on ${i.now.toISOString()}. Every key: docs/configuration.md.`,
    "# Each account home gets its own login: claude-failover login NAME. Lower priority is preferred.",
    "# No secrets here: the control plane's token is read from the environment (see token.env).",
    stringify(doc).trimEnd(),
    "",
  ].join("\n");
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
