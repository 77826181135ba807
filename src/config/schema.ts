// The shape of config.yaml: every key, its type, range and default.
// Built per call because "~" expansion and the state_dir default depend on
// the home directory and environment the caller passes in (no globals).
// Checks that span sections (account references, name clashes) live in
// checks.ts so they run even when an unrelated section is invalid.

import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import {
  ENV_NAME,
  absPath,
  describe,
  duration,
  durationOr,
  homeRelativePath,
  httpUrl,
  int,
  isLoopbackHost,
  matching,
  nameOrAbsPath,
  num,
  parseListen,
  stringList,
} from "./fields.js";
import type { Config, ConfigContext } from "./types.js";
import { stateLayout } from "./paths.js";
import { scheduleIssues, scheduleSchema } from "./schedules.js";
import { boxSchema, storeSchema } from "./store-config.js";
import { NOTIFY_EVENTS, NOTIFY_KINDS, WEBHOOK_FORMATS, type NotifyConfig } from "./notify-config.js";

export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
/** tmux session names; "." and ":" are excluded because tmux targets use them as separators. */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A worktree task's branch is `<prefix>/<task id>`. */
export const WORKTREE_PREFIX = /^(?=.{1,48}$)[A-Za-z0-9](?:[A-Za-z0-9_-]|\/(?![/.]))*(?<!\/)$/;
/** pool.prefix: leaves room for a serial number within the 64-character session name limit. */
export const POOL_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;

export const DEFAULT_CONTINUE_NOTE =
  "Continue where you left off: your previous turn was interrupted by an account switch.";
export const DEFAULT_LINK_FILES = [".gitconfig", ".ssh", ".config/gh"];
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** $XDG_STATE_HOME/claude-failover; a relative XDG_STATE_HOME is ignored, as the XDG spec says. */
export function defaultStateDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(home, ".local", "state");
  return join(base, "claude-failover");
}

function accountSchema(home: string) {
  return z.strictObject({
    name: matching(ACCOUNT_NAME, "must be 1-32 letters, digits, '_' or '-', starting with a letter or digit"),
    home: absPath(home),
    priority: int(0).default(100),
    limits: z.strictObject({ hourly_msgs: int(0).default(0), weekly_msgs: int(0).default(0) }).prefault({}),
    managed: z.boolean().default(true),
    link_files: z.array(homeRelativePath()).default(DEFAULT_LINK_FILES),
    disabled: z.boolean().default(false),
    // This account's own thresholds; unset = quota.window_5h_threshold / quota.window_week_threshold.
    window_5h_threshold: num(0, 1).optional(),
    window_week_threshold: num(0, 1).optional(),
  });
}

function dedicatedSchema(home: string) {
  return z.strictObject({
    name: matching(
      SESSION_NAME,
      "must be 1-64 letters, digits, '_' or '-' (no '.' or ':'), starting with a letter or digit",
    ),
    project: absPath(home),
    account: z.string().optional(),
    args: stringList(),
  });
}

/** `pool:` (deprecated name: pool.autonomous, whose keys config/legacy-keys.ts moves up here). */
function poolSchema(home: string) {
  return z
    .strictObject({
      prefix: matching(
        POOL_PREFIX,
        "must be 1-48 letters, digits, '_' or '-', starting with a letter or digit",
      ).default("auto-"),
      min: int(0, 64).default(0),
      max: int(0, 64).default(0),
      idle_timeout: durationOr("10m", 1),
      project: absPath(home).optional(),
      max_attempts: int(1, 100).default(3),
      retry_backoff: durationOr("10s"),
      retry_backoff_max: durationOr("10m"),
      worktree: z.boolean().default(false),
      worktree_prefix: matching(
        WORKTREE_PREFIX,
        "must be 1-48 letters, digits, '_', '-' or '/', starting with a letter or digit, not ending in '/'",
      ).default("cf"),
      task_timeout: duration(1000).optional(),
      // --permission-mode for pool sessions only (over claude.permission_mode); unset: claude.permission_mode.
      permission_mode: z.enum(POOL_PERMISSION_MODES).optional(),
      keep_worktrees: z.boolean().default(false),
    })
    .refine((a) => a.min <= a.max, {
      path: ["max"],
      error: (iss) => `must be at least min (${(iss.input as { min: number }).min})`,
      // Only when min and max are each valid: a max out of range is said once, by its own check.
      when: (payload) => !payload.issues.some((i) => i.path?.[0] === "min" || i.path?.[0] === "max"),
    })
    .refine((a) => a.permission_mode !== "bypassPermissions" || a.worktree, {
      path: ["permission_mode"],
      error:
        "bypassPermissions runs every tool call without asking; it is only accepted with pool.worktree: true, so each task works in a git worktree of its own and never in the project's own tree",
    });
}

function sessionsSchema(home: string) {
  return z
    .strictObject({
      shared_projects_dir: absPath(home).optional(),
      restart_backoff: durationOr("2s"),
      restart_backoff_max: durationOr("1m"),
      crash_loop_restarts: int(1).default(5),
      crash_loop_window: durationOr("5m", 1),
      start_timeout: durationOr("60s", 1),
    })
    .refine((s) => s.restart_backoff <= s.restart_backoff_max, {
      path: ["restart_backoff_max"],
      error: "must be at least restart_backoff",
    });
}

const quotaSchema = z
  .strictObject({
    poll_interval: durationOr("5m", 1),
    poll_interval_min: durationOr("1m", 1),
    poll_interval_max: durationOr("30m", 1),
    window_5h_threshold: num(0, 1).default(0.85),
    window_week_threshold: num(0, 1).default(0.95),
    hysteresis: num(0, 0.5).default(0.05),
    min_dwell: durationOr("15m"),
    stale_after: durationOr("20m", 1),
    reactivate_cooldown: durationOr("10m"),
    min_runway: durationOr("30m"),
    // Unset: follows claude.env.ANTHROPIC_BASE_URL, else https://api.anthropic.com (see fillStateDefaults).
    usage_api_base: httpUrl().optional(),
    request_timeout: durationOr("10s", 1),
    usage_request_gap: durationOr("1m", 1),
    feed_fresh_for: durationOr("10m", 1),
  })
  .refine((q) => q.poll_interval_min <= q.poll_interval && q.poll_interval <= q.poll_interval_max, {
    path: ["poll_interval"],
    error: "must be between poll_interval_min and poll_interval_max",
  });

const swapSchema = z.strictObject({
  graceful_timeout: durationOr("2m"),
  exit_timeout: durationOr("10s", 1),
  confirm_timeout: durationOr("60s", 1),
  continue_note: z.string().min(1, { error: "must not be empty" }).default(DEFAULT_CONTINUE_NOTE),
});

function checkpointSchema(home: string) {
  return z.strictObject({
    dir: absPath(home).optional(),
    interval: durationOr("5m", 1),
    keep: int(1, 1000).default(10),
    scrollback_lines: int(0, 100_000).default(200),
  });
}

const mcpHttpSchema = z
  .strictObject({
    listen: z
      .string()
      .refine((s) => parseListen(s) !== undefined, {
        error: (iss) => `must be host:port with a port between 0 and 65535, got ${describe(iss.input)}`,
      })
      .default("127.0.0.1:7777"),
    allow_remote: z.boolean().default(false),
    bearer_token_env: matching(ENV_NAME, "must be an environment variable name").default("CLAUDE_FAILOVER_TOKEN"),
    enable_trigger: z.boolean().default(false),
    max_body: int(1).default(1_048_576),
    rate_limit_per_minute: int(0).default(600),
    auth_failures_per_minute: int(0).default(10),
    max_connections: int(1, 10_000).default(64),
  })
  // Anyone who can reach the port can read session output; opening it
  // beyond this machine has to be a deliberate choice.
  .refine((m) => m.allow_remote || isLoopbackHost(parseListen(m.listen)?.host ?? "localhost"), {
    path: ["listen"],
    error: "is not a loopback address; set mcp_http.allow_remote: true to listen on other interfaces",
  });

function inboxSchema(home: string) {
  return z.strictObject({
    dir: absPath(home).optional(),
    max_file_bytes: int(1).default(1_048_576),
    stable_time: durationOr("500ms"),
    // Unset: the configured projects' parents (see defaultAllowedRoots).
    allowed_roots: z
      .array(
        absPath(home).refine((p) => p !== "/", {
          error: "must not be / (that would allow every folder as a trusted project)",
        }),
      )
      .optional(),
  });
}

const DAY = 86_400_000;
/** How long the daemon keeps what it accumulates; a daily prune (and one at start) applies it. */
const retentionSchema = z.strictObject({
  events: durationOr("90d", 1),
  events_max_rows: int(1000).default(1_000_000),
  // The weekly soft cap counts the last 7 days of prompts: a shorter retention would undercount it.
  prompts: durationOr("8d").refine((ms) => ms >= 7 * DAY, {
    error: "must be at least 7d (the weekly soft cap counts the last 7 days)",
  }),
  spool_bad: durationOr("7d", 1),
  inbox_done: durationOr("30d", 1),
  outbox: durationOr("30d", 1),
  max_files: int(1).default(10_000),
});

/**
 * notify.targets[]: kind-specific keys checked here. `${VAR}` was filled in by the loader before this runs
 * (config/yaml-doc.ts), like anywhere in the file; in a command's argv it is refused (config/load.ts).
 */
const notifyTargetSchema = z
  .strictObject({
    name: matching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "must be 1-64 letters, digits, '_', '.' or '-'").optional(),
    kind: z.enum(NOTIFY_KINDS),
    // ${VAR} is filled in by the loader like anywhere in the file (config/yaml-doc.ts): a secret URL stays out of it.
    url: z
      .string()
      .refine(
        (u) => {
          try {
            return /^https?:$/.test(new URL(u).protocol);
          } catch {
            return false;
          }
        },
        { error: (iss) => `must be an http:// or https:// URL, got ${describe(redactUrl(iss.input))}` },
      )
      .optional(),
    argv: z
      .array(z.string().min(1, { error: "must not be empty" }))
      .min(1, { error: "must name a program" })
      .optional(),
    format: z.enum(WEBHOOK_FORMATS).optional(),
    events: z.array(z.enum(NOTIFY_EVENTS)).default([]),
  })
  .superRefine((t, ctx) => {
    const needs = (key: "url" | "argv", why: string) => {
      if (t[key] === undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `is required for kind ${t.kind} (${why})` });
    };
    const forbids = (key: "url" | "argv" | "format") => {
      if (t[key] !== undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `does not apply to kind ${t.kind}` });
    };
    if (t.kind === "webhook") {
      needs("url", "where to POST");
      forbids("argv");
    }
    if (t.kind === "ntfy") {
      needs("url", "the topic URL");
      forbids("argv");
      forbids("format");
    }
    if (t.kind === "command") {
      needs("argv", "the program and its arguments");
      forbids("url");
      forbids("format");
    }
    if (t.kind === "desktop") {
      forbids("url");
      forbids("argv");
      forbids("format");
    }
  });

// An invalid URL may still hold a token: the error shows its scheme and host only.
function redactUrl(u: unknown): unknown {
  return typeof u === "string" ? u.replace(/^([a-z]+:\/\/[^/]*)\/.+$/i, "$1/…") : u;
}

const notifySchema = z
  .strictObject({
    dialog_after: durationOr("60s", 1),
    dedup_window: durationOr("10m"),
    rate_per_minute: int(0).default(20),
    targets: z.array(notifyTargetSchema).default([]),
  })
  .transform((n, ctx): NotifyConfig => {
    const targets = n.targets.map((t, i) => ({
      ...t,
      name: t.name ?? `${t.kind}-${i + 1}`,
      format: t.format ?? ("json" as const),
    }));
    targets.forEach((t, i) => {
      if (targets.findIndex((o) => o.name === t.name) !== i)
        ctx.addIssue({ code: "custom", path: ["targets", i, "name"], message: `${t.name} is used by another target` });
    });
    return { ...n, targets };
  });

function claudeSchema(home: string) {
  return z.strictObject({
    binary: nameOrAbsPath(home, false).default("claude"),
    args: stringList(),
    env: z.record(z.string().regex(ENV_NAME), z.string()).default({}),
    // --permission-mode for every session; null: the CLI's own default (auto mode on 2.1.332, which stops
    // at "Auto mode can't check actions" behind a gateway: docs/notes/cli-input.md).
    permission_mode: z.enum(PERMISSION_MODES).nullable().default(null),
  });
}

/** pool.permission_mode choices (issue 18 point 4); bypassPermissions only with pool.worktree. */
export const POOL_PERMISSION_MODES = ["default", "acceptEdits", "plan", "bypassPermissions"] as const;

/** `--permission-mode` choices (2.1.197's help; 2.1.332 adds "manual" and still takes "default"). */
export const PERMISSION_MODES = [
  "default",
  "manual",
  "acceptEdits",
  "auto",
  "plan",
  "dontAsk",
  "bypassPermissions",
] as const;

/** The whole file. Output is the final Config with every default filled in. */
export function configSchema(ctx: ConfigContext) {
  const { home } = ctx;
  return z
    .strictObject({
      state_dir: absPath(home).optional(),
      tmux: z.strictObject({ socket: nameOrAbsPath(home, true).default("") }).prefault({}),
      claude: claudeSchema(home).prefault({}),
      accounts: z.array(accountSchema(home)).min(1, { error: "must list at least one account" }),
      dedicated: z.array(dedicatedSchema(home)).default([]),
      pool: poolSchema(home).prefault({}),
      sessions: sessionsSchema(home).prefault({}),
      quota: quotaSchema.prefault({}),
      swap: swapSchema.prefault({}),
      checkpoint: checkpointSchema(home).prefault({}),
      mcp_http: mcpHttpSchema.prefault({}),
      inbox: inboxSchema(home).prefault({}),
      retention: retentionSchema.prefault({}),
      notify: notifySchema.prefault({}),
      schedules: z.array(scheduleSchema(home)).default([]),
      store: storeSchema.prefault({}),
      box: boxSchema(ctx.hostname).prefault({}),
      log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
    })
    .transform((c, zctx): Config => {
      const out = fillStateDefaults(c, ctx);
      const defaults = {
        project: out.pool.project,
        allowedRoots: out.inbox.allowed_roots,
        worktreeRequired: out.pool.permission_mode === "bypassPermissions",
      };
      for (const i of scheduleIssues(out.schedules, defaults, ctx.isDir))
        zctx.addIssue({ code: "custom", path: i.path, message: i.message });
      return out;
    });
}

export const DEFAULT_API_BASE = "https://api.anthropic.com";

type Parsed = Omit<Config, "state_dir" | "sessions" | "checkpoint" | "inbox" | "quota"> & {
  quota: Omit<Config["quota"], "usage_api_base"> & { usage_api_base?: string | undefined };
  state_dir?: string | undefined;
  sessions: Omit<Config["sessions"], "shared_projects_dir"> & { shared_projects_dir?: string | undefined };
  checkpoint: Omit<Config["checkpoint"], "dir"> & { dir?: string | undefined };
  inbox: Omit<Config["inbox"], "dir" | "allowed_roots"> & {
    dir?: string | undefined;
    allowed_roots?: string[] | undefined;
  };
};

/**
 * The default `inbox.allowed_roots`: the parent folder of each configured project (dedicated sessions and
 * pool.project). A parent that is `/` or the home directory is never a root by default: the
 * project itself is used instead, so the home is never allowed implicitly.
 */
export function defaultAllowedRoots(projects: string[], home: string): string[] {
  const roots = new Set<string>();
  const h = home.replace(/(.)\/+$/, "$1");
  for (const p of projects) {
    const parent = dirname(p);
    roots.add(parent === "/" || parent === h ? p : parent);
  }
  return [...roots];
}

/** Directories that default to places under state_dir. */
function fillStateDefaults(c: Parsed, ctx: ConfigContext): Config {
  const state_dir = c.state_dir ?? defaultStateDir(ctx.env, ctx.home);
  const defaults = stateLayout(state_dir).defaults;
  return {
    ...c,
    state_dir,
    sessions: { ...c.sessions, shared_projects_dir: c.sessions.shared_projects_dir ?? defaults.sharedProjectsDir },
    checkpoint: { ...c.checkpoint, dir: c.checkpoint.dir ?? defaults.checkpointDir },
    inbox: {
      ...c.inbox,
      dir: c.inbox.dir ?? defaults.inboxDir,
      allowed_roots:
        c.inbox.allowed_roots ??
        defaultAllowedRoots(
          [...c.dedicated.map((d) => d.project), ...(c.pool.project ? [c.pool.project] : [])],
          ctx.home,
        ),
    },
    // The usage endpoint lives where the CLI's API does: a proxy or stand-in set for the CLI serves both.
    quota: {
      ...c.quota,
      usage_api_base:
        c.quota.usage_api_base ?? (c.claude.env.ANTHROPIC_BASE_URL?.replace(/\/+$/, "") || DEFAULT_API_BASE),
    },
  };
}
