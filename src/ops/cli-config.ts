import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { defaultConfigText } from "../config/default-config.js";
import { formatIssue, isDir, loadConfigFile, resolveConfigPath } from "../config/load.js";
import type { Config, ConfigIssue } from "../config/types.js";

export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadedConfig {
  path: string;
  config: Config;
  generated: boolean;
  /** deprecated keys the file uses, each with its file and line (config/legacy-keys.ts); print with formatIssue */
  warnings: ConfigIssue[];
}

/**
 * Loads the config; `generate` writes the first-run default when no file exists at the default path;
 * `checkDirs` also checks that the folders it names for schedules exist (config check).
 */
export function loadCliConfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  opts: { generate?: boolean; cwd?: string; checkDirs?: boolean } = {},
): LoadedConfig {
  const home = env.HOME || homedir();
  const path = resolveConfigPath(flag, env, home);
  let generated = false;
  if (opts.generate && !flag && !env.CLAUDE_FAILOVER_CONFIG && !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, defaultConfigText(opts.cwd ?? process.cwd(), env), { mode: 0o600, flag: "wx" });
    generated = true;
  }
  const r = loadConfigFile(path, { env, home, ...(opts.checkDirs ? { isDir } : {}) });
  if (!r.ok) throw new ExitError(2, r.issues.map(formatIssue).join("\n"));
  return { path, config: r.config, generated, warnings: r.warnings };
}
