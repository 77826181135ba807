// config/legacy-keys.ts: the deprecated key names (issue 15) translated to the current shape, purely.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pathInFile, RENAMED_KEYS, translateLegacyKeys } from "../../src/config/legacy-keys.js";
import { formatPath } from "../../src/config/yaml-doc.js";

const names = (used: { old: readonly PropertyKey[] }[]) => used.map((u) => formatPath(u.old));

describe("translateLegacyKeys", () => {
  it("leaves a config in the current shape as it is (the same object)", () => {
    const raw = { accounts: [], dedicated: [{ name: "m" }], pool: { max: 2, keep_worktrees: true }, sessions: {} };
    const t = translateLegacyKeys(raw);
    assert.equal(t.raw, raw);
    assert.deepEqual([t.used, t.moves, t.conflicts], [[], [], []]);
    assert.equal(translateLegacyKeys("text").raw, "text");
    assert.equal(translateLegacyKeys({ pool: "x" }).used.length, 0);
  });

  it("moves pool.dedicated, pool.shared_projects_dir and pool.autonomous.* to dedicated, sessions.*, pool.*", () => {
    const raw = {
      accounts: [{ name: "a" }],
      pool: {
        shared_projects_dir: "/s",
        dedicated: [{ name: "m", project: "/p" }],
        autonomous: { max: 3, min: 1, prefix: "w-" },
        keep_worktrees: true,
      },
      sessions: { restart_backoff: "1s" },
    };
    const before = structuredClone(raw);
    const t = translateLegacyKeys(raw);
    assert.deepEqual(t.raw, {
      accounts: [{ name: "a" }],
      dedicated: [{ name: "m", project: "/p" }],
      pool: { max: 3, min: 1, prefix: "w-", keep_worktrees: true },
      sessions: { restart_backoff: "1s", shared_projects_dir: "/s" },
    });
    assert.deepEqual(raw, before, "the input is not changed");
    assert.deepEqual(names(t.used), ["pool.dedicated", "pool.shared_projects_dir", "pool.autonomous"]);
    assert.deepEqual(
      t.used.map((u) => formatPath(u.new)),
      ["dedicated", "sessions.shared_projects_dir", "pool"],
    );
    assert.deepEqual(t.conflicts, []);
  });

  it("creates sessions: for pool.shared_projects_dir when there is none", () => {
    assert.deepEqual(translateLegacyKeys({ pool: { shared_projects_dir: "/s" } }).raw, {
      pool: {},
      sessions: { shared_projects_dir: "/s" },
    });
  });

  it("reports one thing given under both names and leaves that old key in place", () => {
    const t = translateLegacyKeys({
      dedicated: [],
      sessions: { shared_projects_dir: "/a" },
      pool: { dedicated: [], shared_projects_dir: "/b", max: 1, autonomous: { min: 0 } },
    });
    assert.deepEqual(
      t.conflicts.map((c) => [formatPath(c.path), formatPath(c.other)]),
      [
        ["pool.dedicated", "dedicated"],
        ["pool.shared_projects_dir", "sessions.shared_projects_dir"],
        ["pool.autonomous", "pool.max"],
      ],
    );
    assert.deepEqual(t.used, []);
    assert.match(t.conflicts[2]!.message, /given twice: under pool\.autonomous .* \(pool\.max\)/);
  });

  it("allows pool.keep_worktrees beside pool.autonomous (its name is the same in both shapes)", () => {
    const t = translateLegacyKeys({ pool: { keep_worktrees: false, autonomous: { max: 1 } } });
    assert.deepEqual(t.conflicts, []);
    assert.deepEqual(t.raw, { pool: { keep_worktrees: false, max: 1 } });
  });

  it("reports keep_worktrees given both under pool.autonomous and under pool (not one silently over the other)", () => {
    const t = translateLegacyKeys({ pool: { keep_worktrees: true, autonomous: { max: 1, keep_worktrees: false } } });
    assert.deepEqual(
      t.conflicts.map((c) => [formatPath(c.path), formatPath(c.other)]),
      [["pool.autonomous", "pool.keep_worktrees"]],
    );
    assert.deepEqual(t.used, []);
  });

  it("leaves a pool.autonomous that is not a map for the schema (an unknown key of pool)", () => {
    const t = translateLegacyKeys({ pool: { autonomous: 5 } });
    assert.deepEqual([t.used, t.conflicts], [[], []]);
    assert.deepEqual(t.raw, { pool: { autonomous: 5 } });
  });
});

describe("pathInFile", () => {
  const { moves } = translateLegacyKeys({
    pool: { dedicated: [{}], autonomous: { max: 1, colour: "x" } },
  });
  it("shows a moved key at the key the file has; other keys unchanged", () => {
    const at = (p: PropertyKey[]) => formatPath(pathInFile(p, moves));
    assert.equal(at(["dedicated", 0, "account"]), "pool.dedicated[0].account");
    assert.equal(at(["pool", "max"]), "pool.autonomous.max");
    assert.equal(at(["pool", "colour"]), "pool.autonomous.colour");
    assert.equal(at(["pool", "min"]), "pool.min", "a key the file does not have stays where the schema puts it");
    assert.equal(at(["pool", "keep_worktrees"]), "pool.keep_worktrees");
    assert.equal(at(["quota", "hysteresis"]), "quota.hysteresis");
  });
  it("the table of renamed keys names each old key once", () => {
    assert.deepEqual(
      RENAMED_KEYS.map((r) => formatPath(r.old)),
      ["pool.dedicated", "pool.shared_projects_dir", "pool.autonomous"],
    );
  });
});
