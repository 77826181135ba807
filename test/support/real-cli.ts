// Helpers for tests that run the real Claude Code CLI (the version under test, see cli-matrix.ts) offline,
// interactively, in tmux, against the stand-in API (test/support/stand-in-api.ts).
// What the CLI does with all this is written up in docs/notes/claude-cli-observed.md.
import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { cliBinary } from "./cli-matrix.js";

/** The repository root (this file is test/support/real-cli.ts). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

/** Absolute path of the CLI under test (the pinned one unless CF_TEST_CLI=latest; see cli-matrix.ts). */
export function claudeBinary(): string {
  return cliBinary();
}

export interface AccountHomeOptions {
  accessToken: string;
  /** Absolute project directories to mark trusted (no trust dialog). */
  projects: string[];
  /** Default: "sk-ant-ort01-" + a random suffix. */
  refreshToken?: string;
  /** ms since epoch. Default: 2100-01-01 (far future). */
  expiresAt?: number;
  /** Default "max" (the banner then says "Claude Max"). */
  subscriptionType?: string;
  /** If given, <home>/.claude/projects becomes a symlink to this directory (created if missing). */
  sharedProjectsDir?: string;
}

export interface AccountHome {
  home: string;
  credentialsPath: string;
  claudeJsonPath: string;
}

/**
 * Seeds a HOME the CLI starts in without any dialog:
 * - <dir>/.claude/.credentials.json (mode 0600), the OAuth shape the CLI reads on Linux;
 * - <dir>/.claude.json with hasCompletedOnboarding (without it: an onboarding screen that needs
 *   the internet, and with no .claude.json at all the CLI exits with "Unable to connect to
 *   Anthropic services"), theme, and hasTrustDialogAccepted for each project (without it: the
 *   "Accessing workspace … Yes, I trust this folder" dialog). The symlink-resolved path of each
 *   project is trusted too, as the CLI keys trust by path.
 */
export function makeAccountHome(dir: string, opts: AccountHomeOptions): AccountHome {
  const claudeDir = join(dir, ".claude");
  mkdirSync(claudeDir, { recursive: true });
  const credentialsPath = join(claudeDir, ".credentials.json");
  const credentials = {
    claudeAiOauth: {
      accessToken: opts.accessToken,
      refreshToken: opts.refreshToken ?? `sk-ant-ort01-${randomBytes(16).toString("hex")}`,
      expiresAt: opts.expiresAt ?? Date.UTC(2100, 0, 1),
      scopes: ["user:inference", "user:profile"],
      subscriptionType: opts.subscriptionType ?? "max",
    },
  };
  writeFileSync(credentialsPath, JSON.stringify(credentials), { mode: 0o600 });
  chmodSync(credentialsPath, 0o600);

  const projects: Record<
    string,
    { hasTrustDialogAccepted: boolean; hasCompletedProjectOnboarding: boolean; projectOnboardingSeenCount: number }
  > = {};
  for (const p of opts.projects) {
    const entry = { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, projectOnboardingSeenCount: 1 };
    projects[resolve(p)] = entry;
    try {
      projects[realpathSync(p)] = entry;
    } catch {
      // project directory does not exist yet: only the given path is trusted
    }
  }
  const claudeJsonPath = join(dir, ".claude.json");
  const claudeJson = {
    hasCompletedOnboarding: true,
    theme: "dark",
    // Skip the one-time attempt to install the official plugin marketplace (a network call).
    officialMarketplaceAutoInstallAttempted: true,
    projects,
  };
  writeFileSync(claudeJsonPath, JSON.stringify(claudeJson, null, 2));

  if (opts.sharedProjectsDir !== undefined) {
    mkdirSync(opts.sharedProjectsDir, { recursive: true });
    symlinkSync(opts.sharedProjectsDir, join(claudeDir, "projects"));
  }
  return { home: dir, credentialsPath, claudeJsonPath };
}

/**
 * Environment for a fully offline interactive CLI talking to the stand-in API. Give it on top of
 * a clean environment: an inherited ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN would change how the
 * CLI authenticates (and ask "Do you want to use this API key?").
 */
export function cliEnv(apiUrl: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: apiUrl,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_INSTALLATION_CHECKS: "1",
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: "1",
    CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
  };
}

// ---------------------------------------------------------------------------------------------
// Hooks: a tiny spool writer and a reader.

export const HOOK_EVENTS = [
  "SessionStart",
  "UserPromptSubmit",
  "Stop",
  "StopFailure",
  "Notification",
  "SessionEnd",
] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

/** One hook payload as spooled (the JSON the CLI wrote to the hook's stdin). */
export interface SpooledHookEvent {
  file: string;
  hook_event_name: string;
  session_id: string;

  payload: Record<string, any>;
}

const HOOK_SCRIPT = `#!/bin/sh
# usage: spool-hook.sh <spool-dir> <event-name>   (stdin: the hook's JSON payload)
# Writes stdin to a temp file, then renames it into the spool dir, so readers never see a partial file.
d="$1"
n="$(date +%s%N 2>/dev/null || date +%s)-$$-$2"
cat > "$d/.$n.tmp" && mv "$d/.$n.tmp" "$d/$n.json"
exit 0
`;

/**
 * Writes <dir>/spool-hook.sh and <dir>/hook-settings.json (for `--settings`) whose hooks spool
 * every event of `events` into `spoolDir`. Returns the settings file path.
 */
export function writeHookSettings(dir: string, spoolDir: string, events: readonly string[] = HOOK_EVENTS): string {
  mkdirSync(dir, { recursive: true });
  mkdirSync(spoolDir, { recursive: true });
  const script = join(dir, "spool-hook.sh");
  writeFileSync(script, HOOK_SCRIPT, { mode: 0o755 });
  chmodSync(script, 0o755);
  const hooks: Record<string, Array<{ hooks: Array<{ type: "command"; command: string }> }>> = {};
  for (const ev of events) {
    hooks[ev] = [{ hooks: [{ type: "command", command: `${shQuote(script)} ${shQuote(spoolDir)} ${ev}` }] }];
  }
  const settings = join(dir, "hook-settings.json");
  writeFileSync(settings, JSON.stringify({ hooks }, null, 2));
  return settings;
}

/** All spooled events, oldest first (file names start with a nanosecond timestamp). */
export function readSpool(spoolDir: string): SpooledHookEvent[] {
  if (!existsSync(spoolDir)) return [];
  const out: SpooledHookEvent[] = [];
  for (const f of readdirSync(spoolDir)
    .filter((n) => n.endsWith(".json") && !n.startsWith("."))
    .sort()) {
    try {
      const payload: unknown = JSON.parse(readFileSync(join(spoolDir, f), "utf8"));
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) continue;
      const p = payload as Record<string, unknown>;
      out.push({
        file: f,
        hook_event_name: typeof p.hook_event_name === "string" ? p.hook_event_name : "",
        session_id: typeof p.session_id === "string" ? p.session_id : "",
        payload: p,
      });
    } catch {
      // a file being renamed in: read it next time
    }
  }
  return out;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// tmux on a private socket.

export interface TmuxServer {
  /** The -L socket name. */
  socket: string;
  /** Runs `tmux -L <socket> ...args`; rejects on a non-zero exit. Returns stdout. */
  run(args: string[], stdin?: string): Promise<string>;
  /** capture-pane -p (visible screen only; pass withHistory for the scrollback too). */
  capture(target: string, withHistory?: boolean): Promise<string>;
  /** send-keys -l text (literal), without Enter. */
  typeText(target: string, text: string): Promise<void>;
  /** send-keys of key names, e.g. "Enter", "Escape", "C-c". */
  sendKeys(target: string, ...keys: string[]): Promise<void>;
  /** load-buffer from stdin into a unique buffer, then paste-buffer -p (bracketed) -r -d. */
  paste(target: string, text: string): Promise<void>;
  /** kill-server; never rejects. */
  kill(): Promise<void>;
}

/**
 * A tmux server on a private socket (`tmux -L <prefix>-<random>`). Commands run with a minimal
 * environment (PATH, LANG, TERM, TMUX_TMPDIR) so nothing of the test runner's environment
 * reaches the panes unless passed with `new-session -e`.
 */
export function tmuxServer(prefix = "cf-test"): TmuxServer {
  const socket = `${prefix}-${randomBytes(4).toString("hex")}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: "C.UTF-8",
    TERM: "xterm-256color",
  };
  if (process.env.TMUX_TMPDIR) env.TMUX_TMPDIR = process.env.TMUX_TMPDIR;

  const run = (args: string[], stdin?: string): Promise<string> =>
    new Promise((resolvePromise, reject) => {
      const child = execFile(
        "tmux",
        ["-L", socket, "-f", "/dev/null", ...args],
        { env, timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`tmux ${args.join(" ")} failed: ${err.message} ${stderr}`));
          else resolvePromise(stdout);
        },
      );
      if (stdin !== undefined) {
        child.stdin?.end(stdin);
      } else {
        child.stdin?.end();
      }
    });

  return {
    socket,
    run,
    async capture(target, withHistory = false) {
      return run(["capture-pane", "-p", "-t", target, ...(withHistory ? ["-S", "-"] : [])]);
    },
    async typeText(target, text) {
      await run(["send-keys", "-t", target, "-l", text]);
    },
    async sendKeys(target, ...keys) {
      await run(["send-keys", "-t", target, ...keys]);
    },
    async paste(target, text) {
      const buf = `cf-paste-${randomBytes(4).toString("hex")}`;
      await run(["load-buffer", "-b", buf, "-"], text);
      await run(["paste-buffer", "-p", "-r", "-d", "-b", buf, "-t", target]);
    },
    async kill() {
      // The programs in the panes outlive kill-server for a moment (SIGHUP → graceful shutdown that
      // still writes transcripts/config), so wait for them before callers remove directories.
      let pids: number[] = [];
      let socketPath = "";
      try {
        const out = await run(["list-panes", "-a", "-F", "#{pane_pid} #{pane_dead} #{socket_path}"]);
        for (const line of out.split("\n")) {
          const [pid, dead, path] = line.trim().split(" ");
          if (path) socketPath = path;
          if (pid && dead === "0" && Number(pid) > 0) pids.push(Number(pid));
        }
      } catch {
        // no server (never started or already gone)
      }
      await new Promise<void>((r) => {
        const child = spawn("tmux", ["-L", socket, "kill-server"], { env, stdio: "ignore" });
        child.on("error", () => r());
        child.on("exit", () => r());
      });
      const deadline = Date.now() + 10_000;
      while (pids.length > 0 && Date.now() < deadline) {
        pids = pids.filter(isAlive);
        if (pids.length > 0) await new Promise((r) => setTimeout(r, 50));
      }
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      // tmux 3.3 leaves the socket file behind after kill-server.
      if (socketPath) rmSync(socketPath, { force: true });
    },
  };
}

/** True while the process exists and is not a zombie (PID 1 in some containers never reaps). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** rm -rf that never throws (cleanup paths). */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort
  }
}
