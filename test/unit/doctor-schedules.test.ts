// doctor's check of each schedule (ops/doctor-schedules.ts): real folders, a real git repository.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { formatIssue, parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { checkSchedules } from "../../src/ops/doctor-schedules.js";

const NOW = Date.parse("2026-11-30T10:15:00Z");

describe("doctor: schedules", () => {
  let dir: string;
  let home: string;
  let git: string;
  let plain: string;
  const cfg = (schedules: unknown[], pool: Record<string, unknown> = {}): Config => {
    const text = stringify({
      accounts: [{ name: "a", home: join(home, "a") }],
      pool: { project: git, ...pool },
      inbox: { allowed_roots: [join(dir, "work")] },
      schedules,
    });
    const r = parseConfig(text, "c.yaml", { env: {}, home });
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join("\n"));
    return r.config;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-doctor-sched-"));
    home = join(dir, "home");
    git = join(dir, "work", "repo");
    plain = join(dir, "work", "plain");
    for (const d of [home, git, plain]) mkdirSync(d, { recursive: true });
    execFileSync("git", ["init", "-q", git]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ok: the next run, its zone and the project", () => {
    const [c] = checkSchedules(
      cfg([{ name: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", prompt: "p", worktree: true }]),
      NOW,
      home,
    );
    assert.deepEqual(c, {
      status: "ok",
      name: "schedule nightly",
      detail: `next run 2026-12-01T02:00:00.000Z (0 3 * * *, Europe/Berlin), project ${git}, each run in its own worktree`,
    });
  });

  it("fail: a worktree schedule on a folder that is not a git repository", () => {
    const [c] = checkSchedules(
      cfg([{ name: "w", cron: "@daily", prompt: "p", project: plain, worktree: true }]),
      NOW,
      home,
    );
    assert.equal(c!.status, "fail");
    assert.match(c!.detail, new RegExp(`^its runs would not be queued: worktree: ${plain} is not a git repository`));
  });

  it("fail: a project folder that went away", () => {
    const gone = join(dir, "work", "gone");
    const [c] = checkSchedules(cfg([{ name: "g", cron: "@daily", prompt: "p", project: gone }]), NOW, home);
    assert.equal(c!.status, "fail");
    assert.match(c!.detail, new RegExp(`project: ${gone} does not exist or is not a directory`));
  });

  it("fail: no worktree while the pool bypasses permissions", () => {
    // The config check refuses this file first (schedule-config.test.ts); doctor's own look says the same of a config object.
    const conf = cfg([{ name: "b", cron: "@daily", prompt: "p", worktree: false }], { worktree: true });
    conf.pool.permission_mode = "bypassPermissions";
    const [c] = checkSchedules(conf, NOW, home);
    assert.equal(c!.status, "fail");
    assert.match(c!.detail, /its runs would not be queued: .*bypassPermissions/);
  });

  it("warn: a cron that matches no time ahead", () => {
    const [c] = checkSchedules(cfg([{ name: "feb30", cron: "0 0 30 2 *", prompt: "p" }]), NOW, home);
    assert.equal(c!.status, "warn");
    assert.match(c!.detail, /never run/);
  });

  it("one check per schedule, none without", () => {
    assert.deepEqual(checkSchedules(cfg([]), NOW, home), []);
    assert.equal(
      checkSchedules(
        cfg([
          { name: "x", cron: "@hourly", prompt: "p" },
          { name: "y", cron: "@daily", prompt: "q", project: plain },
        ]),
        NOW,
        home,
      ).length,
      2,
    );
  });
});
