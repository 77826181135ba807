// Environment files as systemd's EnvironmentFile= reads them, and the token file `init` creates.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../util/fs-atomic.js";

/** Where systemd/claude-failover.service.d/secrets.conf reads the token from. */
export const SYSTEM_SECRETS_FILE = "/run/secrets/claude-failover.env";

/**
 * KEY=VALUE lines; `#` and `;` start comments; values may be single- or double-quoted; `export ` is
 * tolerated (the file is often also sourced by a shell). Enough for token files, not every quirk.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    const q = /^"((?:[^"\\]|\\.)*)"$/.exec(v) ?? /^'([^']*)'$/.exec(v);
    if (q) v = q[0].startsWith('"') ? q[1]!.replace(/\\(.)/g, "$1") : q[1]!;
    out[m[1]!] = v;
  }
  return out;
}

export type EnvFileRead =
  { ok: true; vars: Record<string, string> } | { ok: false; reason: "missing" | "unreadable"; detail: string };

export function readEnvFile(path: string): EnvFileRead {
  try {
    return { ok: true, vars: parseEnvFile(readFileSync(path, "utf8")) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    return code === "ENOENT"
      ? { ok: false, reason: "missing", detail: `${path} does not exist` }
      : { ok: false, reason: "unreadable", detail: `${path}: ${code}` };
  }
}

/** The token file beside the config file (the same one scripts/quickstart.sh uses). */
export function tokenFileFor(configPath: string): string {
  return join(dirname(configPath), "token.env");
}

/** Creates the token file (0600) with a random token unless it exists. Returns whether it was written. */
export function ensureTokenFile(path: string, varName: string): boolean {
  if (existsSync(path)) return false;
  writeFileAtomic(path, `${varName}=${randomBytes(32).toString("hex")}\n`, 0o600);
  return true;
}
