// systemd unit files: the checked-in templates, a small parser (for tests and doctor), the rendering
// `init` does (User=, an absolute ExecStart, PATH, the token file), and what that ExecStart runs.
// Absolute paths only: systemd's PATH is not the shell's (nvm's node, ~/.local/bin/claude are not on it).
import { accessSync, constants, existsSync, readFileSync, realpathSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";

export const UNIT_NAME = "claude-failover.service";
export const SECRETS_DROPIN = "secrets.conf";
export type UnitScope = "system" | "user";

export interface UnitEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

/** The repository's systemd/ folder, found by walking up from this module (src/ops or dist/src/ops). */
export function systemdDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "systemd", UNIT_NAME))) return join(dir, "systemd");
    dir = dirname(dir);
  }
  throw new Error(`cannot find systemd/${UNIT_NAME} above ${fileURLToPath(import.meta.url)}`);
}

export function templateFile(scope: UnitScope): string {
  return join(systemdDir(), scope === "user" ? "claude-failover-user.service" : UNIT_NAME);
}

export function secretsTemplateFile(): string {
  return join(systemdDir(), `${UNIT_NAME}.d`, SECRETS_DROPIN);
}

/** Sections, keys and values in file order; comments and blank lines dropped; `\` continuations joined. */
export function parseUnit(text: string): UnitEntry[] {
  const out: UnitEntry[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    const start = i + 1;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`line ${start}: not a key=value line: ${line}`);
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: start });
  }
  return out;
}

export function unitValues(entries: UnitEntry[], section: string, key: string): string[] {
  return entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);
}

/** One word of an ExecStart= line: specifiers (%) and variables ($) kept literal, quoted if needed. */
export function quoteWord(s: string, dollar = true): string {
  let lit = s.replace(/%/g, "%%");
  if (dollar) lit = lit.replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return lit;
  return `"${lit.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Splits an ExecStart= value into words (double quotes and backslash escapes; no specifiers used). */
export function splitExecStart(value: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  }
  return words;
}

export interface RenderOptions {
  execStart: string[];
  /** System units only: the account the daemon runs as. */
  user?: string;
  /** PATH for the daemon and everything it starts (node, claude and tmux must be on it). */
  path?: string;
  /** The token file: replaces the template's EnvironmentFile= line, or is added before ExecStart=. */
  envFile?: string;
}

/** The template with its placeholders filled in; comments and every other line kept as they are. */
export function renderUnit(template: string, o: RenderOptions): string {
  // EnvironmentFile= takes a path: no quoting, only specifiers escaped. `-`: the daemon itself says
  // which variable is missing, more precisely than systemd would.
  const envLine = o.envFile ? `EnvironmentFile=-${o.envFile.replace(/%/g, "%%")}` : null;
  const hasEnvLine = /^EnvironmentFile=/m.test(template);
  const out: string[] = [];
  for (const line of template.split("\n")) {
    if (line.startsWith("ExecStart=")) {
      if (envLine && !hasEnvLine) out.push(envLine);
      out.push(`ExecStart=${o.execStart.map((w) => quoteWord(w)).join(" ")}`);
      // Environment= does no $ expansion, only specifiers.
      if (o.path) out.push(`Environment=${quoteWord(`PATH=${o.path}`, false)}`);
    } else if (line.startsWith("User=") && o.user) {
      out.push(`User=${o.user}`);
    } else if (line.startsWith("EnvironmentFile=") && envLine) {
      out.push(envLine);
    } else {
      out.push(line);
    }
  }
  return out.join("\n");
}

export function readTemplate(scope: UnitScope): string {
  return readFileSync(templateFile(scope), "utf8");
}

/** The directories systemd itself puts on PATH; always kept, after the ones we add. */
export const SYSTEMD_DEFAULT_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** `command -v`: the first executable `cmd` on `pathEnv`, or an absolute `cmd` if executable. */
export function which(cmd: string, pathEnv: string | undefined): string | null {
  const candidates = cmd.includes("/")
    ? [cmd]
    : (pathEnv ?? "")
        .split(delimiter)
        .filter((d) => isAbsolute(d))
        .map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * The daemon's argv for ExecStart=: this node binary and this installation's entry point (the
 * compiled bin.js, or bin.ts through tsx when running from a source checkout), with --config
 * spelled out so the service reads the file `init` wrote whatever XDG_CONFIG_HOME says.
 */
export function daemonArgv(configPath: string): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith(".ts");
  const bin = fileURLToPath(new URL(fromSource ? "../cli/bin.ts" : "../cli/bin.js", import.meta.url));
  const loader = fromSource ? ["--import", import.meta.resolve("tsx")] : [];
  return [realpathSync(process.execPath), ...loader, realpathSync(bin), "--config", configPath, "daemon"];
}

/** PATH for the service: node's directory and those of the given tools first, then systemd's default. */
export function servicePath(tools: (string | null)[]): string {
  const dirs = [
    dirname(process.execPath),
    ...tools.filter((t): t is string => !!t).map((t) => dirname(t)),
    ...SYSTEMD_DEFAULT_PATH,
  ];
  return [...new Set(dirs)].join(delimiter);
}
