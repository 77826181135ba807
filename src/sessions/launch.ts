import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";

export interface LaunchContext {
  binary: string;
  args: string[];
  env: Record<string, string>;
  settingsFile: string;
  spoolDir: string;
  sharedProjectsDir: string;
  /** env vars that must not reach the CLI (the bearer token; auth overrides that would bypass the account) */
  scrub: string[];
}

// Variables that would make the CLI ignore the account home's own login (or relocate its config).
export const AUTH_OVERRIDES = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR"];

/** The transcript folder name: the real cwd with every non-alphanumeric character turned into "-". */
export function encodeProjectDir(cwd: string): string {
  let real = cwd;
  try {
    real = realpathSync(cwd);
  } catch {
    /* not created yet */
  }
  return real.replace(/[^A-Za-z0-9]/g, "-");
}

export function transcriptPathFor(sharedProjectsDir: string, project: string, claudeSessionId: string): string {
  return join(sharedProjectsDir, encodeProjectDir(project), `${claudeSessionId}.jsonl`);
}

/**
 * `--resume` only works once the conversation has a transcript; before the first prompt the CLI may
 * not have written one, and `--session-id` with an id whose transcript exists is refused. So the
 * transcript's presence decides.
 */
export function shouldResume(sharedProjectsDir: string, project: string, claudeSessionId: string, knownPath: string | null): boolean {
  if (knownPath && existsSync(knownPath)) return true;
  return existsSync(transcriptPathFor(sharedProjectsDir, project, claudeSessionId));
}

/** argv for tmux: `env` sets the per-launch environment, so no shell ever sees any of it. */
export function buildLaunchArgv(
  ctx: LaunchContext,
  s: { name: string; account: string; home: string; claudeSessionId: string; resume: boolean; extraArgs: string[] },
): string[] {
  const argv = ["env"];
  for (const v of ctx.scrub) if (!(v in ctx.env)) argv.push("-u", v);
  argv.push(
    `HOME=${s.home}`,
    `CLAUDE_FAILOVER_SPOOL=${ctx.spoolDir}`,
    `CLAUDE_FAILOVER_SESSION=${s.name}`,
    `CLAUDE_FAILOVER_ACCOUNT=${s.account}`,
  );
  for (const [k, v] of Object.entries(ctx.env)) argv.push(`${k}=${v}`);
  argv.push(ctx.binary, "--settings", ctx.settingsFile);
  argv.push(s.resume ? "--resume" : "--session-id", s.claudeSessionId);
  argv.push(...ctx.args, ...s.extraArgs);
  return argv;
}
