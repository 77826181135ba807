// config/params.ts: every config key a service takes, mapped in one place. Each key is set to a value no
// other key has, so a key mapped to the wrong parameter (or not at all) shows as a wrong value.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIssue, parseConfig, type Config } from "../../src/config/load.js";
import {
  accountLimits,
  checkpointParams,
  dispatchSettings,
  httpLimits,
  LOAD_PER_SESSION,
  limitParams,
  pollParams,
  policyParams,
  sessionTuning,
  swapTuning,
} from "../../src/config/params.js";

const S = 1000;
const M = 60 * S;

function config(lines: string[]): Config {
  const text =
    [
      "state_dir: /srv/cf",
      "accounts:",
      "  - name: a",
      "    home: /home/u/a",
      "    limits: { hourly_msgs: 7, weekly_msgs: 70 }",
      "  - name: b",
      "    home: /home/u/b",
      ...lines,
    ].join("\n") + "\n";
  const r = parseConfig(text, "config.yaml", { env: {}, home: "/home/u" });
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  return r.config;
}

const SET = config([
  "sessions: { restart_backoff: 3s, restart_backoff_max: 4m, crash_loop_restarts: 6, crash_loop_window: 7m, start_timeout: 8s }",
  "quota:",
  "  poll_interval: 9m",
  "  poll_interval_min: 2m",
  "  poll_interval_max: 31m",
  "  window_5h_threshold: 0.71",
  "  window_week_threshold: 0.93",
  "  hysteresis: 0.04",
  "  min_dwell: 11m",
  "  stale_after: 12m",
  "  reactivate_cooldown: 13m",
  "  min_runway: 14m",
  "  usage_request_gap: 15s",
  "swap: { graceful_timeout: 16s, exit_timeout: 17s, confirm_timeout: 18s, continue_note: go on }",
  "checkpoint: { interval: 19m, keep: 21, scrollback_lines: 22 }",
  "mcp_http: { max_body: 2300, rate_limit_per_minute: 24, auth_failures_per_minute: 25, max_connections: 26, enable_trigger: true }",
  "inbox: { dir: /srv/inbox }",
  "pool:",
  "  keep_worktrees: true",
  "  min: 1",
  "  max: 27",
  "  idle_timeout: 28m",
  "  project: /srv/proj",
  "  max_attempts: 29",
  "  retry_backoff: 30s",
  "  retry_backoff_max: 32m",
  "  task_timeout: 33m",
  "  worktree_prefix: cfw",
]);
const DEFAULTS = config([]);

interface Row {
  name: string;
  got: unknown;
  want: unknown;
}

const table: Row[] = [
  {
    name: "pollParams",
    got: pollParams(SET),
    want: {
      baseMs: 9 * M,
      minMs: 2 * M,
      maxMs: 31 * M,
      window5hThreshold: 0.71,
      windowWeekThreshold: 0.93,
      hysteresis: 0.04,
      requestGapMs: 15 * S,
    },
  },
  {
    name: "policyParams",
    got: policyParams(SET),
    want: {
      window5hThreshold: 0.71,
      windowWeekThreshold: 0.93,
      hysteresis: 0.04,
      minDwellMs: 11 * M,
      staleAfterMs: 12 * M,
      reactivateCooldownMs: 13 * M,
      loadPerSession: LOAD_PER_SESSION,
      minRunwayMs: 14 * M,
    },
  },
  {
    name: "accountLimits",
    got: [...accountLimits(SET)],
    want: [
      ["a", { hourly_msgs: 7, weekly_msgs: 70 }],
      ["b", { hourly_msgs: 0, weekly_msgs: 0 }],
    ],
  },
  {
    name: "swapTuning",
    got: swapTuning(SET),
    want: { gracefulMs: 16 * S, exitMs: 17 * S, confirmMs: 18 * S, continueNote: "go on" },
  },
  {
    name: "sessionTuning",
    got: sessionTuning(SET),
    want: {
      restartBackoffMs: 3 * S,
      restartBackoffMaxMs: 4 * M,
      crashLoopRestarts: 6,
      crashLoopWindowMs: 7 * M,
      startTimeoutMs: 8 * S,
    },
  },
  { name: "limitParams", got: limitParams(SET), want: { cooldownMs: 13 * M } },
  {
    name: "dispatchSettings",
    got: dispatchSettings(SET),
    want: {
      min: 1,
      max: 27,
      idleTimeoutMs: 28 * M,
      defaultProject: "/srv/proj",
      retry: { maxAttempts: 29, backoffMs: 30 * S, backoffMaxMs: 32 * M },
      confirmTimeoutMs: 18 * S,
      outboxDir: "/srv/outbox",
      taskTimeoutMs: 33 * M,
      worktreeDir: "/srv/cf/worktrees",
      worktreePrefix: "cfw",
      keepWorktrees: true,
    },
  },
  {
    name: "httpLimits",
    got: httpLimits(SET),
    want: { maxBody: 2300, ratePerMinute: 24, enableTrigger: true, authFailures: 25, maxConnections: 26 },
  },
  { name: "checkpointParams", got: checkpointParams(SET), want: { keep: 21, scrollbackLines: 22, intervalMs: 19 * M } },
  // The defaults as the schema gives them (docs/configuration.md).
  {
    name: "pollParams (defaults)",
    got: pollParams(DEFAULTS),
    want: {
      baseMs: 5 * M,
      minMs: M,
      maxMs: 30 * M,
      window5hThreshold: 0.85,
      windowWeekThreshold: 0.95,
      hysteresis: 0.05,
      requestGapMs: M,
    },
  },
  {
    name: "swapTuning (defaults)",
    got: { ...swapTuning(DEFAULTS), continueNote: typeof swapTuning(DEFAULTS).continueNote },
    want: { gracefulMs: 2 * M, exitMs: 10 * S, confirmMs: 60 * S, continueNote: "string" },
  },
  {
    name: "sessionTuning (defaults)",
    got: sessionTuning(DEFAULTS),
    want: {
      restartBackoffMs: 2 * S,
      restartBackoffMaxMs: M,
      crashLoopRestarts: 5,
      crashLoopWindowMs: 5 * M,
      startTimeoutMs: 60 * S,
    },
  },
  {
    name: "dispatchSettings (defaults): no project, no task timeout",
    got: [dispatchSettings(DEFAULTS).defaultProject, dispatchSettings(DEFAULTS).taskTimeoutMs],
    want: [null, null],
  },
];

describe("config/params.ts: config keys → service parameters", () => {
  for (const row of table) {
    it(row.name, () => assert.deepEqual(row.got, row.want));
  }

  it("is pure: the same config gives equal results, a new object each time", () => {
    assert.deepEqual(pollParams(SET), pollParams(SET));
    assert.notEqual(policyParams(SET), policyParams(SET));
  });
});
