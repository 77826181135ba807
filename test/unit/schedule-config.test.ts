// `schedules:` in the config: each mistake is named with file, line and key.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatIssue, isDir, loadConfigFile, parseConfig, type Config } from "../../src/config/load.js";
import { fillPrompt } from "../../src/config/schedules.js";

const HOME = "/home/u";
const yaml = (...lines: string[]) => lines.join("\n") + "\n";
// lines 1-5: an account, the pool's default project, allowed roots
const BASE = [
  "accounts:",
  "  - { name: a, home: /home/u/a }",
  "pool:",
  "  project: /srv/work/app",
  "inbox: { allowed_roots: [/srv/work] }",
];

function parse(text: string, isDir?: (p: string) => boolean) {
  return parseConfig(text, "config.yaml", { env: {}, home: HOME, ...(isDir ? { isDir } : {}) });
}
function ok(text: string): Config {
  const r = parse(text);
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  return r.config;
}
function errors(text: string, isDir?: (p: string) => boolean): string[] {
  const r = parse(text, isDir);
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe("schedules: valid entries", () => {
  it("fills the defaults and keeps what was given", () => {
    const c = ok(
      yaml(
        ...BASE,
        "schedules:",
        "  - name: nightly",
        "    cron: '0 3 * * *'",
        "    prompt: 'Update deps on {{date}} ({{name}})'",
        "  - name: every-5s",
        "    cron: '*/5 * * * * *'",
        "    timezone: europe/berlin",
        "    project: /srv/work/other",
        "    prompt: tick",
        "    worktree: true",
        "    timeout: 30m",
        "    priority: 7",
        "    catch_up: none",
      ),
    );
    assert.deepEqual(c.schedules, [
      {
        name: "nightly",
        cron: "0 3 * * *",
        prompt: "Update deps on {{date}} ({{name}})",
        priority: 0,
        catch_up: "latest",
      },
      {
        name: "every-5s",
        cron: "*/5 * * * * *",
        timezone: "Europe/Berlin",
        project: "/srv/work/other",
        prompt: "tick",
        worktree: true,
        timeout: 1_800_000,
        priority: 7,
        catch_up: "none",
      },
    ]);
  });

  it("none by default", () => {
    assert.deepEqual(ok(yaml(...BASE)).schedules, []);
  });

  it("fills {{date}} and {{name}}, with or without spaces inside the braces", () => {
    assert.equal(
      fillPrompt("on {{date}} for {{ name }}: {{date}}", { date: "2026-11-30", name: "n" }),
      "on 2026-11-30 for n: 2026-11-30",
    );
  });
});

describe("schedules: mistakes name the key", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "a bad cron",
      ["  - { name: x, cron: '61 * * * *', prompt: p }"],
      /^config\.yaml:7: schedules\[0\]\.cron: not a cron expression .*minute: 61/,
    ],
    [
      "a cron with seven fields",
      ["  - { name: x, cron: '0 0 0 1 1 * 2030', prompt: p }"],
      /^config\.yaml:7: schedules\[0\]\.cron: not a cron expression/,
    ],
    [
      "a cron that is no cron",
      ["  - { name: x, cron: 'every day', prompt: p }"],
      /^config\.yaml:7: schedules\[0\]\.cron: not a cron expression .*"every day"/,
    ],
    [
      "a bad time zone",
      ["  - { name: x, cron: '@daily', timezone: Mars/Olympus, prompt: p }"],
      /^config\.yaml:7: schedules\[0\]\.timezone: not a time zone name .*"Mars\/Olympus"/,
    ],
    [
      "a duplicate name",
      ["  - { name: x, cron: '@daily', prompt: p }", "  - { name: x, cron: '@hourly', prompt: q }"],
      /^config\.yaml:8: schedules\[1\]\.name: same name as schedules\[0\]/,
    ],
    [
      "a name that can't be part of a task id",
      ["  - { name: 'a b', cron: '@daily', prompt: p }"],
      /^config\.yaml:7: schedules\[0\]\.name: must be 1-64 letters/,
    ],
    [
      "a project outside inbox.allowed_roots",
      ["  - { name: x, cron: '@daily', prompt: p, project: /elsewhere/app }"],
      /^config\.yaml:7: schedules\[0\]\.project: \/elsewhere\/app is not inside inbox\.allowed_roots \(\/srv\/work\)/,
    ],
    [
      "a relative project",
      ["  - { name: x, cron: '@daily', prompt: p, project: app }"],
      /^config\.yaml:7: schedules\[0\]\.project: must be an absolute path/,
    ],
    [
      "an unknown placeholder",
      ["  - { name: x, cron: '@daily', prompt: 'run {{when}}' }"],
      /^config\.yaml:7: schedules\[0\]\.prompt: unknown placeholder \{\{when\}\} \(known: \{\{date\}\}, \{\{name\}\}\)/,
    ],
    [
      "a prompt the CLI would run as a command",
      ["  - { name: x, cron: '@daily', prompt: '/clear now' }"],
      /^config\.yaml:7: schedules\[0\]\.prompt: prompt starts with \/clear/,
    ],
    ["no prompt", ["  - { name: x, cron: '@daily' }"], /^config\.yaml:7: schedules\[0\]\.prompt: is required/],
    [
      "a bad catch_up",
      ["  - { name: x, cron: '@daily', prompt: p, catch_up: all }"],
      /^config\.yaml:7: schedules\[0\]\.catch_up: must be one of none, latest/,
    ],
    [
      "a timeout below a second",
      ["  - { name: x, cron: '@daily', prompt: p, timeout: 10ms }"],
      /^config\.yaml:7: schedules\[0\]\.timeout: must be at least 1000ms/,
    ],
    [
      "a priority out of range",
      ["  - { name: x, cron: '@daily', prompt: p, priority: 5000 }"],
      /^config\.yaml:7: schedules\[0\]\.priority: must be between -1000 and 1000/,
    ],
    [
      "an unknown key",
      ["  - { name: x, cron: '@daily', prompt: p, model: opus }"],
      /^config\.yaml:7: schedules\[0\]\.model: unknown key/,
    ],
  ];
  for (const [what, lines, expected] of cases) {
    it(what, () => {
      const all = errors(yaml(...BASE, "schedules:", ...lines));
      assert.ok(
        all.some((m) => expected.test(m)),
        `no message matches ${expected}:\n${all.join("\n")}`,
      );
    });
  }

  it("worktree: false while the pool runs bypassPermissions (each run would be refused)", () => {
    const pool = [
      "accounts:",
      "  - { name: a, home: /home/u/a }",
      "pool: { project: /srv/work/app, worktree: true, permission_mode: bypassPermissions }",
      "dedicated: []",
      "inbox: { allowed_roots: [/srv/work] }",
    ];
    const all = errors(yaml(...pool, "schedules:", "  - { name: x, cron: '@daily', prompt: p, worktree: false }"));
    assert.deepEqual(all, [
      "config.yaml:7: schedules[0].worktree: false is refused: pool.permission_mode is bypassPermissions, so pool tasks run only in a git worktree of their own",
    ]);
    ok(yaml(...pool, "schedules:", "  - { name: x, cron: '@daily', prompt: p }"));
    ok(yaml(...BASE, "schedules:", "  - { name: x, cron: '@daily', prompt: p, worktree: false }"));
  });

  it("no project and no pool.project", () => {
    const all = errors(
      yaml("accounts:", "  - { name: a, home: /home/u/a }", "schedules:", "  - { name: x, cron: '@daily', prompt: p }"),
    );
    assert.deepEqual(all, ["config.yaml:4: schedules[0].project: is required: none given and pool.project is not set"]);
  });

  it("a project that does not exist, when asked (config check, a reload)", () => {
    const text = yaml(...BASE, "schedules:", "  - { name: x, cron: '@daily', prompt: p, project: /srv/work/gone }");
    assert.deepEqual(
      errors(text, (p) => p === "/srv/work/app"),
      ["config.yaml:7: schedules[0].project: /srv/work/gone does not exist or is not a directory"],
    );
    const dir = mkdtempSync(join(tmpdir(), "cf-sched-config-"));
    try {
      mkdirSync(join(dir, "work", "app"), { recursive: true });
      const file = join(dir, "config.yaml");
      const lines = (project: string) =>
        yaml(
          "accounts:",
          "  - { name: a, home: /home/u/a }",
          "inbox:",
          `  allowed_roots: [${join(dir, "work")}]`,
          "schedules:",
          `  - { name: x, cron: '@daily', prompt: p, project: ${project} }`,
        );
      writeFileSync(file, lines(join(dir, "work", "app")));
      assert.equal(loadConfigFile(file, { env: {}, home: HOME, isDir }).ok, true);
      writeFileSync(file, lines(join(dir, "work", "nope")));
      assert.equal(
        loadConfigFile(file, { env: {}, home: HOME }).ok,
        true,
        "not checked unless asked: the daemon still starts",
      );
      const r = loadConfigFile(file, { env: {}, home: HOME, isDir });
      assert.equal(r.ok, false);
      if (!r.ok)
        assert.equal(
          formatIssue(r.issues[0]!),
          `${file}:6: schedules[0].project: ${join(dir, "work", "nope")} does not exist or is not a directory`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
