// `claude-failover login ACCOUNT`: the CLI's own `auth login`, run with HOME=<account home> in a
// pseudo-terminal relayed to the user's terminal, until a fresh credentials file appears. The login
// is the CLI's: we never write, copy or link the credentials file, we only watch for it.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { watch } from "chokidar";
import * as pty from "node-pty";
import { credentialsPath, readCredentials } from "../accounts/credentials.js";
import { prepareHome } from "../accounts/homes.js";
import type { Config } from "../config/types.js";
import { ExitError } from "./cli-config.js";
import { pathsFor } from "../config/paths.js";
import { describeDuplicate, duplicateLogins, readIdentity } from "./identity.js";
import { secretEnvNames } from "./secret-env.js";
import type { OpsIo } from "./io.js";

/** The user's terminal: raw mode is switched on only when it is one. */
export interface TermIn extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
}

export interface TermOut {
  columns?: number;
  rows?: number;
  on(ev: "resize", cb: () => void): unknown;
  off(ev: "resize", cb: () => void): unknown;
}

export interface LoginOptions {
  config: Config;
  account: string;
  io: OpsIo;
  stdin: TermIn;
  /** The user's terminal output, for its size (and size changes) when it is a TTY. */
  term?: TermOut;
  /** How long the CLI may keep running after the credentials appeared before it is stopped. */
  exitGraceMs?: number;
}

/** The CLI's environment: the account's HOME, config'd claude.env, nothing that overrides its login. */
export function loginEnv(c: Config, home: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const k of secretEnvNames(c)) delete out[k];
  return { ...out, ...c.claude.env, HOME: home };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

export async function runLogin(o: LoginOptions): Promise<void> {
  const { config: c, io } = o;
  const acct = c.accounts.find((a) => a.name === o.account);
  if (!acct)
    throw new ExitError(
      2,
      `no account named ${JSON.stringify(o.account)} (accounts: ${c.accounts.map((a) => a.name).join(", ")})`,
    );
  const projects = c.dedicated.map((d) => d.project);
  // Links and .claude.json first, so nothing the CLI writes lands outside the shared tree.
  prepareHome(
    { account: acct.name, home: acct.home, managed: acct.managed, linkFiles: acct.link_files },
    { sharedProjectsDir: c.sessions.shared_projects_dir, projects, realHome: io.env.HOME || homedir() },
  );
  mkdirSync(join(acct.home, ".claude"), { recursive: true, mode: 0o700 });
  const credPath = credentialsPath(acct.home);
  const before = readOrNull(credPath);
  const startedAt = Date.now();
  const fresh = (): boolean => {
    const r = readCredentials(acct.home);
    return r.ok && (readOrNull(credPath) !== before || r.creds.mtimeMs > startedAt);
  };

  io.err(`logging in account ${acct.name} (HOME=${acct.home}) with \`${c.claude.binary} auth login\`\n`);
  const outcome = await relayLogin(o, acct.home, fresh);
  if (!outcome.fresh) {
    throw new ExitError(
      1,
      `login for ${acct.name} did not write new credentials (the CLI exited with code ${outcome.exitCode})`,
    );
  }
  const r = readCredentials(acct.home);
  const expires =
    r.ok && r.creds.expiresAt ? `, access token valid until ${new Date(r.creds.expiresAt).toISOString()}` : "";
  io.out(
    `\naccount ${acct.name}: logged in${r.ok && r.creds.subscriptionType ? ` (${r.creds.subscriptionType})` : ""}${expires}\n`,
  );
  const dups = duplicateLogins(
    c.accounts.filter((a) => existsSync(credentialsPath(a.home))).map((a) => readIdentity(a.name, a.home)),
  ).filter((d) => d.a === acct.name || d.b === acct.name);
  for (const d of dups) io.err(`warning: ${describeDuplicate(d)}; log one of them in to another account\n`);
  if (acct.disabled)
    io.out(`note: ${acct.name} is disabled in the config (accounts[].disabled); the daemon will not use it\n`);
  else if (existsSync(pathsFor(c).controlSocket))
    io.out("the running daemon sees the new login within a few seconds and marks the account active\n");
  else io.out("the daemon marks the account active when it starts\n");
}

type Outcome = { fresh: boolean; exitCode: number };

/** Runs the CLI in a pty, relays both ways, and settles when fresh credentials appear or the CLI ends. */
async function relayLogin(o: LoginOptions, home: string, fresh: () => boolean): Promise<Outcome> {
  const dir = join(home, ".claude");
  const watcher = watch(dir, { depth: 0, ignoreInitial: true });
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  const child = pty.spawn(o.config.claude.binary, ["auth", "login"], {
    name: o.io.env.TERM || "xterm-256color",
    cols: o.term?.columns || 100,
    rows: o.term?.rows || 30,
    cwd: home,
    env: loginEnv(o.config, home, o.io.env),
  });
  const raw = !!o.stdin.isTTY && typeof o.stdin.setRawMode === "function";
  const onInput = (d: Buffer | string) => child.write(typeof d === "string" ? d : d.toString("utf8"));
  if (raw) o.stdin.setRawMode!(true);
  o.stdin.on("data", onInput);
  o.stdin.resume();
  const out = child.onData((d) => o.io.out(d));
  const onResize = () => child.resize(o.term?.columns || 100, o.term?.rows || 30);
  o.term?.on("resize", onResize);
  try {
    return await new Promise<Outcome>((resolve) => {
      let gotFresh = false;
      let grace: NodeJS.Timeout | null = null;
      const check = (path: string) => {
        if (gotFresh || basename(path) !== ".credentials.json" || !fresh()) return;
        gotFresh = true;
        // The CLI prints its own success message and exits; one that lingers is stopped.
        grace = setTimeout(() => child.kill(), o.exitGraceMs ?? 5000);
      };
      watcher.on("all", (_ev, path) => check(path));
      child.onExit(({ exitCode }) => {
        if (grace) clearTimeout(grace);
        // The watcher may not have reported the last write yet.
        resolve({ fresh: gotFresh || fresh(), exitCode });
      });
    });
  } finally {
    out.dispose();
    o.term?.off("resize", onResize);
    o.stdin.off("data", onInput);
    if (raw) o.stdin.setRawMode!(false);
    o.stdin.pause();
    await watcher.close();
  }
}
