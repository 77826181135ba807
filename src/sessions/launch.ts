import { existsSync } from "node:fs";
import type { StatusLineFiles } from "../claude/status-line-files.js";
import { CfError } from "../util/errors.js";
import type { LaunchEnv } from "./launch-env.js";
import { checkAndRepairTranscript, transcriptPathFor, type TranscriptRepair } from "../claude/transcript.js";

export interface LaunchContext {
  binary: string;
  args: string[];
  /** claude.env: reaches the CLI through `launch` (files read by the launcher), never through argv */
  env: Record<string, string>;
  /** the launcher and the directory holding `env` (launch-env.ts); null only when `env` is empty */
  launch: LaunchEnv | null;
  settingsFile: string;
  spoolDir: string;
  sharedProjectsDir: string;
  /** env vars that must not reach the CLI (the bearer token; auth overrides that would bypass the account) */
  scrub: string[];
  /** our status-line files: at each launch the session's own status-line command is written there */
  statusLine?: StatusLineFiles;
  /** the daemon user's home, whose ~/.claude/settings.json may hold the user's own status line */
  userHome?: string;
}

// Variables that would make the CLI ignore the account home's own login (or relocate its config).
export const AUTH_OVERRIDES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "CLAUDE_CONFIG_DIR",
];

export type ResumeCheck = "resume" | "fresh_same_id" | "fresh_new_id";

export interface ResumeDecision {
  check: ResumeCheck;
  /** the transcript looked at, or null when there is none */
  path: string | null;
  /** what the line-by-line check found, and the copy kept when a torn tail was cut; null without a readable transcript */
  repair: TranscriptRepair | null;
}

/**
 * `--resume` only works once the conversation has an assistant turn: a transcript holding only an
 * unanswered (interrupted) prompt is refused with "No conversation found", and `--session-id` with an
 * id whose transcript exists may be refused too. So: a transcript with an assistant line → resume;
 * no transcript → start with the same id; a transcript without one → start a new conversation.
 * The transcript is checked line by line first (claude/transcript.ts): a torn tail (a half-written last
 * line, a block of NUL bytes) is cut off, a copy kept beside it; bad lines in the middle are reported.
 * `answered`: the last prompt the daemon recorded as answered, whose line is cut too when the transcript
 * lacks its answer (checkAndRepairTranscript).
 */
export function decideResume(
  sharedProjectsDir: string,
  project: string,
  claudeSessionId: string,
  knownPath: string | null,
  now: number,
  answered: string | null = null,
): ResumeDecision {
  for (const p of [knownPath, transcriptPathFor(sharedProjectsDir, project, claudeSessionId)]) {
    if (!p || !existsSync(p)) continue;
    const repair = checkAndRepairTranscript(p, now, { answered });
    return { check: repair?.report.hasAssistant ? "resume" : "fresh_new_id", path: p, repair };
  }
  return { check: "fresh_same_id", path: null, repair: null };
}

/** decideResume's answer alone (it repairs a torn tail as a side effect). */
export function resumeCheck(
  sharedProjectsDir: string,
  project: string,
  claudeSessionId: string,
  knownPath: string | null,
  now: number,
): ResumeCheck {
  return decideResume(sharedProjectsDir, project, claudeSessionId, knownPath, now).check;
}

/**
 * argv for tmux: `env` sets the per-launch environment, so no shell ever sees any of it. claude.env values
 * are never in it (tmux shows argv as #{pane_start_command}, /proc shows it to every user): `/bin/sh
 * <launcher> <env dir>` exports them from files just before exec'ing the CLI (launch-env.ts). Throws
 * CfError("no_launch_env") if there are values but no launcher.
 */
export function buildLaunchArgv(
  ctx: LaunchContext,
  s: {
    name: string;
    account: string;
    home: string;
    claudeSessionId: string;
    resume: boolean;
    extraArgs: string[];
    launchId?: string;
  },
): string[] {
  const argv = ["env"];
  for (const v of ctx.scrub) if (!(v in ctx.env)) argv.push("-u", v);
  argv.push(
    `HOME=${s.home}`,
    `CLAUDE_FAILOVER_SPOOL=${ctx.spoolDir}`,
    `CLAUDE_FAILOVER_SESSION=${s.name}`,
    `CLAUDE_FAILOVER_ACCOUNT=${s.account}`,
  );
  if (s.launchId) argv.push(`CLAUDE_FAILOVER_LAUNCH=${s.launchId}`);
  if (Object.keys(ctx.env).length) {
    if (!ctx.launch)
      throw new CfError("no_launch_env", "claude.env is set but there is no launcher to pass it without argv");
    argv.push("/bin/sh", ctx.launch.launcher, ctx.launch.envDir);
  }
  argv.push(ctx.binary, "--settings", ctx.settingsFile);
  argv.push(s.resume ? "--resume" : "--session-id", s.claudeSessionId);
  argv.push(...withoutOverridden(ctx.args, s.extraArgs), ...s.extraArgs);
  return argv;
}

/**
 * `args` without its `--permission-mode` when the session's own `extra` has one: a pool's
 * pool.permission_mode replaces claude.permission_mode (and one in claude.args) for its sessions,
 * so the CLI never sees two.
 */
export function withoutOverridden(args: string[], extra: string[]): string[] {
  const flag = "--permission-mode";
  if (!extra.some((a) => a === flag || a.startsWith(`${flag}=`))) return args;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) {
      i++;
      continue;
    }
    if (args[i]!.startsWith(`${flag}=`)) continue;
    out.push(args[i]!);
  }
  return out;
}

/** true when the conversation can be continued with --resume. */
export function shouldResume(
  sharedProjectsDir: string,
  project: string,
  claudeSessionId: string,
  knownPath: string | null,
  now: number,
): boolean {
  return resumeCheck(sharedProjectsDir, project, claudeSessionId, knownPath, now) === "resume";
}
