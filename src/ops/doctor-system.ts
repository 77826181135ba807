// Doctor checks of the machine: tmux, the Claude Code CLI, the state dir, the token, the port, the unit.
import { attemptSignal } from "../util/abort.js";
import { packagedCli, resolveCli } from "./cli-binary.js";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { parseListen } from "../config/fields.js";
import type { Config } from "../config/types.js";
import { MIN_TOKEN_LENGTH, readToken } from "../control/auth.js";
import { readEnvFile, SYSTEM_SECRETS_FILE, tokenFileFor } from "./env-file.js";
import { fail, ok, warn, type Check } from "./doctor-report.js";
import { parseUnit, splitExecStart, unitValues, which, type UnitEntry } from "./unit-file.js";

export type Run = (file: string, args: string[], env: NodeJS.ProcessEnv) => Promise<{ code: number; out: string }>;

export const realRun: Run = (file, args, env) =>
  new Promise((resolve) => {
    execFile(file, args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });

/** tmux 3.0 or later: sessions are created with `new-session -e VAR=value`. */
export async function checkTmux(env: NodeJS.ProcessEnv, run: Run): Promise<Check> {
  const fix = "install tmux 3.0 or later (e.g. sudo apt-get install tmux)";
  if (!which("tmux", env.PATH)) return fail("tmux", "not found on PATH", fix);
  const r = await run("tmux", ["-V"], env);
  const m = /(\d+)\.(\d+)/.exec(r.out);
  if (r.code !== 0) return fail("tmux", `tmux -V failed: ${r.out}`, fix);
  if (m && Number(m[1]) < 3) return fail("tmux", `${r.out} is too old`, fix);
  return ok("tmux", r.out);
}

/** The CLI the daemon would run (ops/cli-binary.ts: PATH, else the one installed with claude-failover). */
export async function checkCli(
  c: Config,
  env: NodeJS.ProcessEnv,
  run: Run,
  packaged: string | null = packagedCli(),
): Promise<Check> {
  const name = "Claude Code CLI";
  const found = resolveCli(c.claude.binary, env.PATH, packaged);
  const fix = "install it (npm install -g @anthropic-ai/claude-code) or set claude.binary to its absolute path";
  if (!found.ok) {
    const bare = !c.claude.binary.includes("/");
    return fail(
      name,
      `${c.claude.binary} not found${bare ? ` on PATH${c.claude.binary === "claude" ? ", and no CLI was installed with claude-failover" : ""}` : ""}`,
      found.fix,
    );
  }
  const path = found.path;
  const r = await run(path, ["--version"], { ...env, DISABLE_AUTOUPDATER: "1" });
  if (r.code !== 0) return fail(name, `${path} --version failed (exit ${r.code}): ${r.out.slice(0, 200)}`, fix);
  if (!/claude code/i.test(r.out))
    return warn(name, `${path} --version says ${JSON.stringify(r.out.slice(0, 80))}: is this Claude Code?`, fix);
  return ok(
    name,
    `${r.out.split("\n")[0]} (${path}${found.source === "package" ? ", installed with claude-failover" : ""})`,
  );
}

export function checkStateDir(c: Config): Check {
  const name = "state dir";
  try {
    const st = statSync(c.state_dir);
    const mode = st.mode & 0o777;
    if (!st.isDirectory()) return fail(name, `${c.state_dir} is not a directory`, "move it away or set state_dir");
    if (mode & 0o077)
      return fail(
        name,
        `${c.state_dir} has mode ${mode.toString(8)}: others can reach the database and the control socket`,
        `chmod 700 ${c.state_dir}`,
      );
    return ok(name, `${c.state_dir} (mode 700)`);
  } catch {
    return warn(
      name,
      `${c.state_dir} does not exist yet`,
      "created (mode 0700) by `claude-failover init` or at the daemon's first start",
    );
  }
}

/** Set in this shell, or in a file the service loads (the token file `init` writes, /run/secrets, the unit's). */
export function checkToken(c: Config, env: NodeJS.ProcessEnv, configPath: string, unitEnvFiles: string[]): Check {
  const v = c.mcp_http.bearer_token_env;
  const name = `token (${v})`;
  const fix = `umask 077; echo ${v}=$(openssl rand -hex 32) > ${tokenFileFor(configPath)}   (the user unit loads that file; MCP clients calling over HTTP need the token too)`;
  const here = readToken(env, v);
  if (here.ok) return ok(name, `set in the environment (${here.token.length} characters)`);
  if (env[v]) return fail(name, here.message, fix);
  for (const file of [tokenFileFor(configPath), SYSTEM_SECRETS_FILE, ...unitEnvFiles]) {
    const r = readEnvFile(file);
    if (!r.ok || r.vars[v] === undefined) continue;
    const t = readToken(r.vars, v);
    if (!t.ok) return fail(name, `${file}: ${t.message}`, fix);
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077)
      return fail(name, `${file} is readable by others (mode ${mode.toString(8)})`, `chmod 600 ${file}`);
    return ok(
      name,
      `set in ${file}, which the service loads (the CLI reaches the daemon through its control socket; MCP clients calling over HTTP need the token)`,
    );
  }
  return fail(name, `not set, and no token file found (need at least ${MIN_TOKEN_LENGTH} characters)`, fix);
}

/** Free, or held by our own daemon (its /health answers). */
export async function checkPort(c: Config): Promise<Check> {
  const name = `port (${c.mcp_http.listen})`;
  const l = parseListen(c.mcp_http.listen);
  if (!l) return fail(name, "cannot parse mcp_http.listen", "fix mcp_http.listen (host:port)");
  if (l.port === 0) return ok(name, "port 0: any free port");
  const host = l.host === "0.0.0.0" ? "127.0.0.1" : l.host === "::" ? "::1" : l.host;
  const attempt = attemptSignal(null, 2000);
  const health = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${l.port}/health`, {
    signal: attempt.signal,
  })
    .then(async (r) => r.status === 200 && ((await r.json()) as { ok?: unknown }).ok === true)
    .catch(() => false)
    .finally(attempt.done);
  if (health) return ok(name, "held by the running claude-failover daemon (/health answers)");
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const s = createServer();
    s.once("error", (e) => resolve(e));
    s.listen(l.port, l.host, () => s.close(() => resolve(null)));
  });
  if (!err) return ok(name, "free");
  if (err.code === "EADDRINUSE")
    return fail(
      name,
      "in use by another program",
      `stop that program (ss -ltnp 'sport = :${l.port}' shows it) or change mcp_http.listen`,
    );
  return fail(name, `cannot listen: ${err.code ?? err.message}`, "change mcp_http.listen");
}

export interface UnitLocation {
  scope: "system" | "user";
  path: string;
}

/** The installed unit, if any: KillMode=process and readiness settings matter for the sessions' survival. */
export function checkUnit(
  systemctl: boolean,
  units: UnitLocation[],
  configPath: string,
): { check: Check; envFiles: string[] } {
  const name = "systemd unit";
  if (!systemctl)
    return {
      check: ok(name, "systemctl not available: skipped (run `claude-failover daemon` yourself)"),
      envFiles: [],
    };
  const found = units.find((u) => existsSync(u.path));
  if (!found)
    return {
      check: warn(
        name,
        "not installed (fine if you run `claude-failover daemon` yourself)",
        "claude-failover init --user --install, or see docs/operations.md",
      ),
      envFiles: [],
    };
  let entries: UnitEntry[];
  const dropIn = `${found.path}.d`;
  try {
    entries = parseUnit(readFileSync(found.path, "utf8"));
  } catch (e) {
    return {
      check: fail(name, `${found.path}: ${(e as Error).message}`, "reinstall it: claude-failover init --install"),
      envFiles: [],
    };
  }
  const envFiles = [...unitValues(entries, "Service", "EnvironmentFile"), ...dropInEnvFiles(dropIn)].map((f) =>
    f.replace(/^-/, ""),
  );
  const problems: string[] = [];
  if (unitValues(entries, "Service", "KillMode").at(-1) !== "process")
    problems.push("KillMode is not `process`: stopping the daemon would kill every session");
  if (
    unitValues(entries, "Service", "Type").at(-1) === "notify" &&
    unitValues(entries, "Service", "NotifyAccess").at(-1) !== "all"
  ) {
    problems.push("Type=notify needs NotifyAccess=all (readiness comes from a systemd-notify child)");
  }
  const exec = splitExecStart(unitValues(entries, "Service", "ExecStart").at(-1) ?? "");
  if (exec[0]?.startsWith("/") && !existsSync(exec[0]))
    problems.push(`ExecStart runs ${exec[0]}, which does not exist`);
  const cfg = exec.indexOf("--config");
  if (cfg >= 0 && exec[cfg + 1] !== configPath) problems.push(`ExecStart reads ${exec[cfg + 1]}, not ${configPath}`);
  const scope = found.scope === "user" ? " --user" : "";
  if (problems.length)
    return {
      check: fail(
        name,
        `${found.path}: ${problems.join("; ")}`,
        `claude-failover init${scope} --install (writes a fresh unit)`,
      ),
      envFiles,
    };
  return { check: ok(name, `${found.path} (${found.scope})`), envFiles };
}

function dropInEnvFiles(dir: string): string[] {
  try {
    return parseUnit(readFileSync(`${dir}/secrets.conf`, "utf8"))
      .filter((e) => e.key === "EnvironmentFile")
      .map((e) => e.value);
  } catch {
    return [];
  }
}
