import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ConfigError,
  formatIssue,
  loadConfig,
  loadConfigFile,
  parseConfig,
  resolveConfigPath,
  type Config,
} from "../../src/config/load.js";

const HOME = "/home/u";
const ctx = (env: NodeJS.ProcessEnv = {}) => ({ env, home: HOME, hostname: "testhost" });
const yaml = (...lines: string[]) => lines.join("\n") + "\n";
const ACCOUNT = ["accounts:", "  - name: a", "    home: /home/u/a"]; // lines 1-3

function messages(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const r = parseConfig(text, "config.yaml", ctx(env));
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.issues.map(formatIssue);
}

function config(text: string, env: NodeJS.ProcessEnv = {}): Config {
  const r = parseConfig(text, "config.yaml", ctx(env));
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.issues.map(formatIssue).join("\n")}`);
  return r.config;
}

/** Asserts one of the messages matches, and shows them all when none does. */
function assertReports(text: string, expected: RegExp, env: NodeJS.ProcessEnv = {}): string[] {
  const all = messages(text, env);
  assert.ok(
    all.some((m) => expected.test(m)),
    `no message matches ${expected}:\n${all.join("\n")}`,
  );
  return all;
}

describe("malformed configs name the file, line and key", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "threshold above 1",
      yaml(...ACCOUNT, "quota:", "  window_5h_threshold: 1.5"),
      /^config\.yaml:5: quota\.window_5h_threshold: must be between 0 and 1, got 1\.5$/,
    ],
    [
      "threshold below 0",
      yaml(...ACCOUNT, "quota:", "  poll_interval: 5m", "  window_week_threshold: -0.1"),
      /^config\.yaml:6: quota\.window_week_threshold: must be between 0 and 1, got -0\.1$/,
    ],
    [
      "negative count",
      yaml(...ACCOUNT, "    limits:", "      hourly_msgs: -1"),
      /^config\.yaml:5: accounts\[0\]\.limits\.hourly_msgs: must be at least 0, got -1$/,
    ],
    [
      "keep 0",
      yaml(...ACCOUNT, "checkpoint:", "  keep: 0"),
      /^config\.yaml:5: checkpoint\.keep: must be between 1 and 1000, got 0$/,
    ],
    [
      "min > max",
      yaml(...ACCOUNT, "pool:", "  min: 4", "  max: 2"),
      /^config\.yaml:6: pool\.max: must be at least min \(4\)$/,
    ],
    [
      "bypassPermissions for the pool without worktrees",
      yaml(...ACCOUNT, "pool:", "  permission_mode: bypassPermissions"),
      /^config\.yaml:5: pool\.permission_mode: bypassPermissions runs every tool call without asking; it is only accepted with pool\.worktree: true/,
    ],
    [
      "an unknown pool permission mode",
      yaml(...ACCOUNT, "pool:", "  permission_mode: yolo"),
      /^config\.yaml:5: pool\.permission_mode: /,
    ],
    [
      "max above 64",
      yaml(...ACCOUNT, "pool:", "  max: 65"),
      /^config\.yaml:5: pool\.max: must be between 0 and 64, got 65$/,
    ],
    [
      "port 70000",
      yaml(...ACCOUNT, "mcp_http:", "  listen: 127.0.0.1:70000"),
      /^config\.yaml:5: mcp_http\.listen: must be host:port with a port between 0 and 65535/,
    ],
    [
      "duration in words",
      yaml(...ACCOUNT, "quota:", "  poll_interval: 5 minutes"),
      /^config\.yaml:5: quota\.poll_interval: must be a duration like 500ms, 30s, 5m, 2h or 7d, got "5 minutes"$/,
    ],
    [
      "duration without unit",
      yaml(...ACCOUNT, "sessions:", "  start_timeout: 30"),
      /^config\.yaml:5: sessions\.start_timeout: must be a duration like .*, got 30$/,
    ],
    [
      "zero where a positive duration is needed",
      yaml(...ACCOUNT, "swap:", "  exit_timeout: 0s"),
      /^config\.yaml:5: swap\.exit_timeout: must be longer than 0$/,
    ],
    [
      "priority as a word",
      yaml(...ACCOUNT, "    priority: high"),
      /^config\.yaml:4: accounts\[0\]\.priority: must be an integer, got "high"$/,
    ],
    [
      "fractional priority",
      yaml(...ACCOUNT, "    priority: 1.5"),
      /^config\.yaml:4: accounts\[0\]\.priority: must be an integer, got 1\.5$/,
    ],
    [
      "relative account home",
      yaml("accounts:", "  - name: a", "    home: accounts/a"),
      /^config\.yaml:3: accounts\[0\]\.home: must be an absolute path \(or start with ~\/\), got "accounts\/a"$/,
    ],
    [
      "unknown top-level key",
      yaml(...ACCOUNT, "quotas:", "  poll_interval: 5m"),
      /^config\.yaml:4: quotas: unknown key$/,
    ],
    [
      "unknown nested key (typo)",
      yaml(...ACCOUNT, "quota:", "  poll_interval: 5m", "  window_5h_treshold: 0.8"),
      /^config\.yaml:6: quota\.window_5h_treshold: unknown key$/,
    ],
    [
      "unknown key inside a list item",
      yaml(...ACCOUNT, "    limits:", "      daily_msgs: 3"),
      /^config\.yaml:5: accounts\[0\]\.limits\.daily_msgs: unknown key$/,
    ],
    [
      "accounts empty",
      yaml("state_dir: /tmp/s", "accounts: []"),
      /^config\.yaml:2: accounts: must list at least one account$/,
    ],
    ["accounts missing", yaml("# comment", "log:", "  level: info"), /^config\.yaml:2: accounts: is required$/],
    [
      "required key missing in an account",
      yaml("accounts:", "  - name: a", "  - name: b", "    home: /b"),
      /^config\.yaml:2: accounts\[0\]\.home: is required$/,
    ],
    [
      "duplicate account name",
      yaml(...ACCOUNT, "  - name: A", "    home: /home/u/b"),
      /^config\.yaml:4: accounts\[1\]\.name: same name as accounts\[0\]$/,
    ],
    [
      "duplicate account home",
      yaml(...ACCOUNT, "  - name: b", "    home: ~/a/"),
      /^config\.yaml:5: accounts\[1\]\.home: same home as accounts\[0\]$/,
    ],
    [
      "bad account name",
      yaml("accounts:", "  - name: -work", "    home: /w"),
      /^config\.yaml:2: accounts\[0\]\.name: must be 1-32 letters/,
    ],
    [
      "dedicated session on an unknown account",
      yaml(...ACCOUNT, "dedicated:", "  - name: main", "    project: /p", "    account: nope"),
      /^config\.yaml:7: dedicated\[0\]\.account: no account named "nope" \(accounts: a\)$/,
    ],
    [
      "duplicate dedicated session names",
      yaml(...ACCOUNT, "dedicated:", "  - { name: main, project: /p }", "  - { name: main, project: /q }"),
      /^config\.yaml:6: dedicated\[1\]\.name: same name as dedicated\[0\]$/,
    ],
    [
      "dedicated name in the pool's pattern",
      yaml(...ACCOUNT, "pool:", "  prefix: bot-", "dedicated:", "  - { name: bot-3, project: /p }"),
      /^config\.yaml:7: dedicated\[0\]\.name: clashes with pool session names \("bot-" \+ number/,
    ],
    [
      "dedicated name with a dot",
      yaml(...ACCOUNT, "dedicated:", "  - name: my.session", "    project: /p"),
      /^config\.yaml:5: dedicated\[0\]\.name: must be 1-64 letters, digits, '_' or '-' \(no '\.' or ':'\)/,
    ],
    [
      "dedicated project relative",
      yaml(...ACCOUNT, "dedicated:", "  - name: main", "    project: src/p"),
      /^config\.yaml:6: dedicated\[0\]\.project: must be an absolute path/,
    ],
    [
      "YAML syntax error",
      yaml(...ACCOUNT, "quota:", "  poll_interval: [5m", "log: {}"),
      /^config\.yaml:\d+: YAML syntax error: /,
    ],
    [
      "tab indentation",
      yaml(...ACCOUNT, "quota:", "\tpoll_interval: 5m"),
      /^config\.yaml:5: YAML syntax error: Tabs are not allowed as indentation$/,
    ],
    [
      "duplicate YAML key",
      yaml(...ACCOUNT, "log:", "  level: info", "log:", "  level: debug"),
      /^config\.yaml:6: YAML syntax error: duplicate key/,
    ],
    ["garbage", "{{{ ]]] :::\n", /^config\.yaml:1: YAML syntax error: /],
    [
      "top level is a list",
      yaml("- name: a", "  home: /a"),
      /^config\.yaml:1: the file must be a map of settings \(with at least accounts:\), got a list$/,
    ],
    [
      "top level is a scalar",
      "just some words\n",
      /^config\.yaml:1: the file must be a map of settings .*got "just some words"$/,
    ],
    ["empty file", "", /^config\.yaml:1: the file must be a map of settings .*got an empty file$/],
    [
      "unset variable",
      yaml(...ACCOUNT, "dedicated:", "  - name: main", "    project: ${PROJECT_DIR}"),
      /^config\.yaml:6: dedicated\[0\]\.project: environment variable PROJECT_DIR is not set/,
    ],
    [
      "malformed reference",
      yaml(...ACCOUNT, "swap:", "  continue_note: go on ${"),
      /^config\.yaml:5: swap\.continue_note: invalid reference/,
    ],
    [
      "non-loopback listen",
      yaml(...ACCOUNT, "mcp_http:", "  listen: 0.0.0.0:7777"),
      /^config\.yaml:5: mcp_http\.listen: is not a loopback address; set mcp_http\.allow_remote: true/,
    ],
    [
      "bad log level",
      yaml(...ACCOUNT, "log:", "  level: loud"),
      /^config\.yaml:5: log\.level: must be one of trace, debug, info, warn, error, got "loud"$/,
    ],
    [
      "usage URL not http",
      yaml(...ACCOUNT, "quota:", "  usage_api_base: ftp://example.com"),
      /^config\.yaml:5: quota\.usage_api_base: must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      "bearer token env not a name",
      yaml(...ACCOUNT, "mcp_http:", "  bearer_token_env: my-token"),
      /^config\.yaml:5: mcp_http\.bearer_token_env: must be an environment variable name, got "my-token"$/,
    ],
    [
      "env value not a string",
      yaml(...ACCOUNT, "claude:", "  env:", "    DEBUG: 1"),
      /^config\.yaml:6: claude\.env\.DEBUG: must be a string, got 1$/,
    ],
    [
      "env name invalid",
      yaml(...ACCOUNT, "claude:", "  env:", "    bad-name: x"),
      /^config\.yaml:6: claude\.env\.bad-name: "bad-name" is not a valid environment variable name$/,
    ],
    [
      "relative binary path",
      yaml(...ACCOUNT, "claude:", "  binary: ./bin/claude"),
      /^config\.yaml:5: claude\.binary: must be a plain name or an absolute path/,
    ],
    [
      "link_files escaping home",
      yaml(...ACCOUNT, "    link_files: [../x]"),
      /^config\.yaml:4: accounts\[0\]\.link_files\[0\]: must be a path relative to your home/,
    ],
    [
      "section of the wrong type",
      yaml(...ACCOUNT, "quota: fast"),
      /^config\.yaml:4: quota: must be a map, got "fast"$/,
    ],
    [
      "per-account threshold out of range",
      yaml(...ACCOUNT, "    window_5h_threshold: 1.5"),
      /^config\.yaml:4: accounts\[0\]\.window_5h_threshold: must be between 0 and 1/,
    ],
    [
      "boolean as a string",
      yaml(...ACCOUNT, "    managed: yes"),
      /^config\.yaml:4: accounts\[0\]\.managed: must be true or false, got "yes"$/,
    ],
    [
      "backoff above its maximum",
      yaml(...ACCOUNT, "sessions:", "  restart_backoff: 2m", "  restart_backoff_max: 1m"),
      /^config\.yaml:6: sessions\.restart_backoff_max: must be at least restart_backoff$/,
    ],
  ];
  assert.ok(cases.length >= 14);
  for (const [name, text, expected] of cases) {
    it(name, () => void assertReports(text, expected));
  }

  it("reports every problem in one pass, in line order", () => {
    const all = messages(
      yaml(
        "accounts:",
        "  - name: a",
        "    home: rel",
        "    priority: -1",
        "  - name: a",
        "    home: /b",
        "quota:",
        "  window_5h_threshold: 2",
        "bogus: true",
      ),
    );
    assert.deepEqual(all, [
      'config.yaml:3: accounts[0].home: must be an absolute path (or start with ~/), got "rel"',
      "config.yaml:4: accounts[0].priority: must be at least 0, got -1",
      "config.yaml:5: accounts[1].name: same name as accounts[0]",
      "config.yaml:8: quota.window_5h_threshold: must be between 0 and 1, got 2",
      "config.yaml:9: bogus: unknown key",
    ]);
  });

  it("does not echo every token after a YAML syntax error", () => {
    const all = messages(yaml(...ACCOUNT, "dedicated: []", "pool: { min: 1, max: ${X} , prefix: w }", "log: {}"));
    assert.equal(all.length, 1, all.join("\n"));
    assert.match(all[0] as string, /^config\.yaml:5: YAML syntax error: /);
  });

  it("uses the file name exactly as given", () => {
    const r = parseConfig("accounts: []\n", "../etc/cf.yaml", ctx());
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(formatIssue(r.issues[0]!), "../etc/cf.yaml:1: accounts: must list at least one account");
  });
});

describe("valid configs", () => {
  it("fills every default for a minimal config", () => {
    const state = "/home/u/.local/state/claude-failover";
    const expected: Config = {
      state_dir: state,
      tmux: { socket: "" },
      claude: { binary: "claude", args: [], env: {}, permission_mode: null },
      accounts: [
        {
          name: "a",
          home: "/home/u/a",
          priority: 100,
          limits: { hourly_msgs: 0, weekly_msgs: 0 },
          managed: true,
          link_files: [".gitconfig", ".ssh", ".config/gh"],
          disabled: false,
        },
      ],
      dedicated: [],
      pool: {
        prefix: "auto-",
        min: 0,
        max: 0,
        idle_timeout: 600_000,
        max_attempts: 3,
        retry_backoff: 10_000,
        retry_backoff_max: 600_000,
        worktree: false,
        worktree_prefix: "cf",
        keep_worktrees: false,
      },
      sessions: {
        shared_projects_dir: `${state}/shared/projects`,
        restart_backoff: 2_000,
        restart_backoff_max: 60_000,
        crash_loop_restarts: 5,
        crash_loop_window: 300_000,
        start_timeout: 60_000,
      },
      quota: {
        poll_interval: 300_000,
        poll_interval_min: 60_000,
        poll_interval_max: 1_800_000,
        window_5h_threshold: 0.85,
        window_week_threshold: 0.95,
        hysteresis: 0.05,
        min_dwell: 900_000,
        stale_after: 1_200_000,
        reactivate_cooldown: 600_000,
        min_runway: 1_800_000,
        usage_api_base: "https://api.anthropic.com",
        request_timeout: 10_000,
        usage_request_gap: 60_000,
        feed_fresh_for: 600_000,
      },
      swap: {
        graceful_timeout: 120_000,
        exit_timeout: 10_000,
        confirm_timeout: 60_000,
        continue_note: "Continue where you left off: your previous turn was interrupted by an account switch.",
      },
      checkpoint: { dir: `${state}/checkpoints`, interval: 300_000, keep: 10, scrollback_lines: 200 },
      mcp_http: {
        listen: "127.0.0.1:7777",
        allow_remote: false,
        bearer_token_env: "CLAUDE_FAILOVER_TOKEN",
        enable_trigger: false,
        max_body: 1_048_576,
        rate_limit_per_minute: 600,
        auth_failures_per_minute: 10,
        max_connections: 64,
      },
      inbox: { dir: `${state}/inbox`, max_file_bytes: 1_048_576, stable_time: 500, allowed_roots: [] },
      retention: {
        events: 90 * 86_400_000,
        events_max_rows: 1_000_000,
        prompts: 8 * 86_400_000,
        spool_bad: 7 * 86_400_000,
        inbox_done: 30 * 86_400_000,
        outbox: 30 * 86_400_000,
        max_files: 10_000,
      },
      notify: { dialog_after: 60_000, dedup_window: 600_000, rate_per_minute: 20, targets: [] },
      schedules: [],
      store: { backend: "sqlite", lease_ttl: 30_000 },
      box: { name: "testhost" },
      log: { level: "info" },
    };
    assert.deepEqual(config(yaml(...ACCOUNT)), expected);
  });

  it("treats an empty section as all defaults", () => {
    const c = config(yaml(...ACCOUNT, "quota:", "  # poll_interval: 1m", "pool:", "dedicated:"));
    assert.equal(c.quota.poll_interval, 300_000);
    assert.deepEqual(c.dedicated, []);
    assert.equal(c.pool.max, 0);
  });

  it("inbox.allowed_roots defaults to the configured projects' parents, never the home or / itself", () => {
    const c = config(
      yaml(
        ...ACCOUNT,
        "dedicated:",
        "  - { name: x, project: ~/code/x }",
        "  - { name: y, project: ~/code/y }",
        "  - { name: z, project: ~/z }",
        "  - { name: r, project: /srv }",
        "pool: { project: /work/tasks/t }",
      ),
    );
    assert.deepEqual(c.inbox.allowed_roots, ["/home/u/code", "/home/u/z", "/srv", "/work/tasks"]);
    assert.deepEqual(
      config(yaml(...ACCOUNT, "inbox:", "  allowed_roots: [~/projects, /opt/work]")).inbox.allowed_roots,
      ["/home/u/projects", "/opt/work"],
    );
    assertReports(yaml(...ACCOUNT, "inbox:", "  allowed_roots: [/]"), /inbox\.allowed_roots\[0\]: must not be \//);
    assertReports(
      yaml(...ACCOUNT, "inbox:", "  allowed_roots: [rel/dir]"),
      /inbox\.allowed_roots\[0\]: must be an absolute path/,
    );
  });

  it("derives directories from state_dir and XDG_STATE_HOME", () => {
    const c = config(yaml("state_dir: ~/state", ...ACCOUNT));
    assert.equal(c.state_dir, "/home/u/state");
    assert.equal(c.sessions.shared_projects_dir, "/home/u/state/shared/projects");
    assert.equal(c.checkpoint.dir, "/home/u/state/checkpoints");
    assert.equal(c.inbox.dir, "/home/u/state/inbox");
    assert.equal(config(yaml(...ACCOUNT), { XDG_STATE_HOME: "/xdg" }).state_dir, "/xdg/claude-failover");
    // A relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
    assert.equal(config(yaml(...ACCOUNT), { XDG_STATE_HOME: "rel" }).state_dir, "/home/u/.local/state/claude-failover");
  });

  it("expands ~ in paths and normalizes them", () => {
    const c = config(
      yaml(
        "accounts:",
        "  - { name: me, home: ~, managed: false }",
        "  - { name: w, home: ~/homes/w/ }",
        "dedicated:",
        "  - { name: main, project: ~/src/./p, account: w, args: [--model, opus] }",
        "pool: { project: /srv/tasks }",
        "tmux:",
        "  socket: ~/tmux.sock",
      ),
    );
    assert.equal(c.accounts[0]?.home, "/home/u");
    assert.equal(c.accounts[1]?.home, "/home/u/homes/w");
    assert.deepEqual(c.dedicated[0], {
      name: "main",
      project: "/home/u/src/p",
      account: "w",
      args: ["--model", "opus"],
    });
    assert.equal(c.pool.project, "/srv/tasks");
    assert.equal(c.tmux.socket, "/home/u/tmux.sock");
  });

  it("reads per-account thresholds and quota.min_runway", () => {
    const c = config(
      yaml(...ACCOUNT, "    window_5h_threshold: 0.7", "    window_week_threshold: 0.8", "quota: { min_runway: 45m }"),
    );
    assert.deepEqual(
      [c.accounts[0]?.window_5h_threshold, c.accounts[0]?.window_week_threshold, c.quota.min_runway],
      [0.7, 0.8, 2_700_000],
    );
    assert.equal(config(yaml(...ACCOUNT, "quota: { min_runway: 0s }")).quota.min_runway, 0);
  });

  it("claude.permission_mode: one of the CLI's --permission-mode choices, unset by default", () => {
    assert.equal(config(yaml(...ACCOUNT, "claude: { permission_mode: default }")).claude.permission_mode, "default");
    assert.equal(config(yaml(...ACCOUNT)).claude.permission_mode, null);
    assert.match(messages(yaml(...ACCOUNT, "claude: { permission_mode: yolo }")).join("\n"), /claude\.permission_mode/);
  });

  it("keeps a tmux socket name as a name", () => {
    assert.equal(config(yaml(...ACCOUNT, "tmux: { socket: failover }")).tmux.socket, "failover");
  });

  it("substitutes ${VAR} and ${VAR:-default}", () => {
    const text = yaml(
      "accounts:",
      "  - name: a",
      "    home: ${ACC_HOME}/a",
      "claude:",
      "  env:",
      "    ANTHROPIC_BASE_URL: ${BASE:-https://proxy.local}",
      "    EMPTY: ${EMPTY_VAR:-fallback}",
      "    LITERAL: price is $${NOT_A_VAR}",
      "pool:",
      "  max: ${POOL_MAX:-3}",
      "swap:",
      "  continue_note: '${NOTE}'",
    );
    const c = config(text, { ACC_HOME: "/data", EMPTY_VAR: "", NOTE: "42" });
    assert.equal(c.accounts[0]?.home, "/data/a");
    assert.deepEqual(c.claude.env, {
      ANTHROPIC_BASE_URL: "https://proxy.local",
      EMPTY: "fallback",
      LITERAL: "price is ${NOT_A_VAR}",
    });
    assert.equal(c.pool.max, 3); // unquoted: typed like YAML would
    assert.equal(c.swap.continue_note, "42"); // quoted: stays a string
    const set = config(text, { ACC_HOME: "/data", BASE: "http://b", POOL_MAX: "7", NOTE: "n" });
    assert.equal(set.claude.env.ANTHROPIC_BASE_URL, "http://b");
    assert.equal(set.pool.max, 7);
  });

  it("allows an empty ${VAR} without a default, like a shell", () => {
    assert.equal(config(yaml(...ACCOUNT, "tmux:", "  socket: ${SOCK}"), { SOCK: "" }).tmux.socket, "");
  });

  it("accepts a remote listen address when allowed", () => {
    const c = config(yaml(...ACCOUNT, "mcp_http:", "  listen: '[::]:8080'", "  allow_remote: true"));
    assert.equal(c.mcp_http.listen, "[::]:8080");
    assert.equal(config(yaml(...ACCOUNT, "mcp_http: { listen: 'localhost:0' }")).mcp_http.listen, "localhost:0");
  });

  it("drops a trailing slash from usage_api_base", () => {
    assert.equal(
      config(yaml(...ACCOUNT, "quota: { usage_api_base: 'http://127.0.0.1:9999/' }")).quota.usage_api_base,
      "http://127.0.0.1:9999",
    );
  });
});

describe("pool.permission_mode", () => {
  it("takes default, acceptEdits, plan; bypassPermissions only with worktree: true", () => {
    for (const m of ["default", "acceptEdits", "plan"]) {
      assert.equal(config(yaml(...ACCOUNT, "pool:", `  permission_mode: ${m}`)).pool.permission_mode, m);
    }
    const c = config(yaml(...ACCOUNT, "pool:", "  worktree: true", "  permission_mode: bypassPermissions"));
    assert.equal(c.pool.permission_mode, "bypassPermissions");
    assert.equal(config(yaml(...ACCOUNT)).pool.permission_mode, undefined);
  });
});

describe("deprecated key names (issue 15): pool.dedicated, pool.shared_projects_dir, pool.autonomous", () => {
  const OLD = yaml(
    ...ACCOUNT,
    "pool:",
    "  shared_projects_dir: ~/shared/projects",
    "  keep_worktrees: true",
    "  dedicated:",
    "    - { name: main, project: ~/src/p, account: a }",
    "  autonomous:",
    "    prefix: w-",
    "    min: 1",
    "    max: 3",
    "    project: /srv/tasks",
    "sessions: { restart_backoff: 1s }",
  );
  const NEW = yaml(
    ...ACCOUNT,
    "sessions: { restart_backoff: 1s, shared_projects_dir: ~/shared/projects }",
    "dedicated:",
    "  - { name: main, project: ~/src/p, account: a }",
    "pool:",
    "  prefix: w-",
    "  min: 1",
    "  max: 3",
    "  project: /srv/tasks",
    "  keep_worktrees: true",
  );

  it("loads the old shape as the new one, with a warning per old key naming file, line and new key", () => {
    const old = parseConfig(OLD, "config.yaml", ctx());
    const now = parseConfig(NEW, "config.yaml", ctx());
    assert.ok(old.ok && now.ok);
    assert.deepEqual(old.config, now.config);
    assert.deepEqual(now.warnings, []);
    assert.deepEqual(old.warnings.map(formatIssue), [
      "config.yaml:5: pool.shared_projects_dir: deprecated name of sessions.shared_projects_dir: move it there",
      "config.yaml:7: pool.dedicated: deprecated name of dedicated (a top-level list): move the list there",
      "config.yaml:9: pool.autonomous: deprecated: its keys are now directly under pool (pool.autonomous.max is pool.max): move them up one level",
    ]);
    assert.equal(old.config.sessions.shared_projects_dir, "/home/u/shared/projects");
    assert.equal(old.config.dedicated[0]?.project, "/home/u/src/p");
    assert.equal(old.config.pool.max, 3);
    assert.equal(old.config.pool.keep_worktrees, true);
  });

  it("a pool.max out of range is said once, with the value (not also 'must be at least min')", () => {
    assert.deepEqual(messages(yaml(...ACCOUNT, "pool:", "  max: -1")), [
      "config.yaml:5: pool.max: must be between 0 and 64, got -1",
    ]);
  });

  it("reports a problem inside an old key at the key the file has", () => {
    assert.deepEqual(
      messages(
        yaml(
          ...ACCOUNT,
          "pool:",
          "  dedicated:",
          "    - { name: main, project: /p, account: nope }",
          "    - { name: main, project: /q }",
          "  autonomous:",
          "    min: 4",
          "    max: 2",
          "    colour: blue",
        ),
      ),
      [
        'config.yaml:6: pool.dedicated[0].account: no account named "nope" (accounts: a)',
        "config.yaml:7: pool.dedicated[1].name: same name as pool.dedicated[0]",
        "config.yaml:10: pool.autonomous.max: must be at least min (4)",
        "config.yaml:11: pool.autonomous.colour: unknown key",
      ],
    );
  });

  it("refuses one thing given under both names, saying where each is", () => {
    assert.deepEqual(
      messages(yaml(...ACCOUNT, "dedicated: []", "pool:", "  dedicated:", "    - { name: m, project: /p }")),
      [
        "config.yaml:6: pool.dedicated: given twice: as dedicated and as pool.dedicated (its deprecated name); keep dedicated only (dedicated is on line 4)",
      ],
    );
    assert.deepEqual(
      messages(yaml(...ACCOUNT, "sessions:", "  shared_projects_dir: /a", "pool:", "  shared_projects_dir: /b")),
      [
        "config.yaml:7: pool.shared_projects_dir: given twice: as sessions.shared_projects_dir and as pool.shared_projects_dir (its deprecated name); keep sessions.shared_projects_dir only (sessions.shared_projects_dir is on line 5)",
      ],
    );
    assert.deepEqual(messages(yaml(...ACCOUNT, "pool:", "  max: 2", "  autonomous:", "    min: 1")), [
      "config.yaml:6: pool.autonomous: the pool's settings are given twice: under pool.autonomous (the deprecated name) and directly under pool (pool.max); keep them directly under pool (pool.max is on line 5)",
    ]);
  });

  it("keeps pool.keep_worktrees in both shapes", () => {
    const r = parseConfig(yaml(...ACCOUNT, "pool:", "  keep_worktrees: true", "  max: 1"), "config.yaml", ctx());
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.config.pool.keep_worktrees, true);
  });
});

describe("config.example.yaml", () => {
  const example = readFileSync(new URL("../../config.example.yaml", import.meta.url), "utf8");

  it("parses with an empty environment", () => {
    const c = config(example);
    assert.deepEqual(
      c.accounts.map((a) => [a.name, a.home, a.managed]),
      [
        ["personal", "/home/u", false],
        ["work", "/home/u/.local/share/claude-failover/homes/work", true],
      ],
    );
    assert.equal(c.quota.usage_api_base, "https://api.anthropic.com");
    assert.equal(c.dedicated[0]?.account, "work");
  });

  it("honours the overridable usage endpoint", () => {
    assert.equal(config(example, { CLAUDE_FAILOVER_USAGE_API: "http://stub:1" }).quota.usage_api_base, "http://stub:1");
  });

  it("shows every key, and docs/configuration.md describes every key", () => {
    const docs = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    const keys = [...leafKeys(config(example)), "pool.project"];
    for (const key of keys) {
      const last = key.split(".").pop() as string;
      assert.match(example, new RegExp(`\\b${last}:`), `config.example.yaml lacks ${key}`);
      assert.ok(docs.includes(`\`${key}\``), `docs/configuration.md lacks \`${key}\``);
    }
  });
});

/** Dotted key paths of all leaves; list items as "[]", map-valued env as a leaf. */
function leafKeys(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value))
    return value.length && typeof value[0] === "object" ? leafKeys(value[0], `${prefix}[]`) : [prefix];
  if (value === null || typeof value !== "object" || prefix === "claude.env") return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

describe("loading files", () => {
  it("reports an unreadable file as one issue without a line", () => {
    const r = loadConfigFile("/nonexistent/dir/config.yaml", ctx());
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.issues.length, 1);
      assert.match(formatIssue(r.issues[0]!), /^\/nonexistent\/dir\/config\.yaml: cannot read: ENOENT/);
    }
  });

  it("reads a file and labels issues with its path", () => {
    const dir = mkdtempSync(join(tmpdir(), "cf-config-"));
    try {
      const file = join(dir, "config.yaml");
      writeFileSync(file, yaml(...ACCOUNT));
      assert.equal(loadConfig(file, ctx()).accounts[0]?.name, "a");
      writeFileSync(file, yaml(...ACCOUNT, "log: { level: loud }"));
      assert.throws(
        () => loadConfig(file, ctx()),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.issues.length, 1);
          assert.match(err.message, new RegExp(`^${file.replace(/[.\\]/g, "\\$&")}:4: log\\.level: `));
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("resolveConfigPath", () => {
  it("prefers --config, then CLAUDE_FAILOVER_CONFIG, then XDG", () => {
    const env = { CLAUDE_FAILOVER_CONFIG: "/etc/cf.yaml", XDG_CONFIG_HOME: "/xdg" };
    assert.equal(resolveConfigPath("/opt/c.yaml", env, HOME), "/opt/c.yaml");
    assert.equal(resolveConfigPath(undefined, env, HOME), "/etc/cf.yaml");
    assert.equal(resolveConfigPath(undefined, { XDG_CONFIG_HOME: "/xdg" }, HOME), "/xdg/claude-failover/config.yaml");
    assert.equal(resolveConfigPath(undefined, {}, HOME), "/home/u/.config/claude-failover/config.yaml");
  });

  it("ignores empty and relative settings, expands ~", () => {
    assert.equal(
      resolveConfigPath("", { CLAUDE_FAILOVER_CONFIG: "" }, HOME),
      "/home/u/.config/claude-failover/config.yaml",
    );
    assert.equal(
      resolveConfigPath(undefined, { XDG_CONFIG_HOME: "rel" }, HOME),
      "/home/u/.config/claude-failover/config.yaml",
    );
    assert.equal(resolveConfigPath("~/cf.yaml", {}, HOME), "/home/u/cf.yaml");
    assert.equal(resolveConfigPath(undefined, { CLAUDE_FAILOVER_CONFIG: "~/x.yaml" }, HOME), "/home/u/x.yaml");
  });

  it("makes a relative --config absolute against the working directory", () => {
    assert.equal(resolveConfigPath("cf.yaml", {}, HOME), join(process.cwd(), "cf.yaml"));
  });
});

describe("formatIssue", () => {
  it("leaves out a zero line and an empty path", () => {
    assert.equal(
      formatIssue({ file: "c.yaml", line: 12, path: "quota.hysteresis", message: "m" }),
      "c.yaml:12: quota.hysteresis: m",
    );
    assert.equal(formatIssue({ file: "c.yaml", line: 3, path: "", message: "m" }), "c.yaml:3: m");
    assert.equal(
      formatIssue({ file: "c.yaml", line: 0, path: "", message: "cannot read: x" }),
      "c.yaml: cannot read: x",
    );
  });
});
