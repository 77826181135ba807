// The git worktree wrapper (src/inbox/worktree.ts) against real temp repositories: create on a new branch
// from HEAD or a base, summary of commits and diff stat, removal keeping the branch, crash leftovers
// removed without knowing the project, a non-repository refused, hostile base refs refused.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  checkBaseRef,
  createWorktree,
  notAGitRepo,
  removeWorktree,
  summarize,
  worktreeDirs,
} from "../../src/inbox/worktree.js";

const g = (cwd: string, ...args: string[]) => execFileSync("git", ["-C", cwd, ...args], { encoding: "utf8" }).trim();

function repo(root: string, name: string): string {
  const p = join(root, name);
  mkdirSync(p);
  g(p, "init", "-q", "-b", "main");
  g(p, "config", "user.email", "t@example.invalid");
  g(p, "config", "user.name", "t");
  writeFileSync(join(p, "a.txt"), "one\n");
  g(p, "add", "a.txt");
  g(p, "commit", "-q", "-m", "first");
  return p;
}

describe("git worktrees for tasks", () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), "cf-wt-"))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("creates a worktree on a new branch from HEAD, summarizes its commits, removes it and keeps the branch", async () => {
    const p = repo(root, "p1");
    const head = g(p, "rev-parse", "HEAD");
    const wt = join(root, "wts", "t1");
    mkdirSync(join(root, "wts"), { recursive: true });
    const c = await createWorktree(p, wt, "cf/t1", null);
    assert.equal(c.baseCommit, head);
    assert.equal(g(wt, "rev-parse", "--abbrev-ref", "HEAD"), "cf/t1");
    writeFileSync(join(wt, "b.txt"), "two\n");
    g(wt, "add", "b.txt");
    g(wt, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "add b");
    writeFileSync(join(wt, "c.txt"), "left over\n");
    const s = await summarize(p, wt, "cf/t1", c.baseCommit);
    assert.equal(s.commits.length, 1);
    assert.match(s.commits[0]!, /^[0-9a-f]{40} add b$/);
    assert.match(s.diffStat, /b\.txt \| 1 \+/);
    assert.deepEqual(s.uncommitted, ["?? c.txt"]);
    await removeWorktree(wt);
    assert.equal(existsSync(wt), false);
    assert.equal(g(p, "rev-parse", "--verify", "refs/heads/cf/t1").length, 40, "the branch stays");
    assert.doesNotMatch(g(p, "worktree", "list"), /t1/);
    // the project's own tree and branch are untouched
    assert.equal(g(p, "rev-parse", "--abbrev-ref", "HEAD"), "main");
    assert.equal(g(p, "status", "--porcelain"), "");
    assert.equal(existsSync(join(p, "b.txt")), false);
  });

  it("starts from a base ref, and reuses a branch left by a crash", async () => {
    const p = repo(root, "p2");
    const first = g(p, "rev-parse", "HEAD");
    writeFileSync(join(p, "a.txt"), "changed\n");
    g(p, "commit", "-q", "-am", "second");
    const wt = join(root, "wts", "t2");
    const c = await createWorktree(p, wt, "cf/t2", first);
    assert.equal(c.baseCommit, first);
    assert.equal(readFileSync(join(wt, "a.txt"), "utf8"), "one\n");
    await removeWorktree(wt);
    const again = await createWorktree(p, wt, "cf/t2", first);
    assert.equal(again.baseCommit, first);
    await removeWorktree(wt);
  });

  it("removes a leftover worktree found only by its folder", async () => {
    const p = repo(root, "p3");
    const dir = join(root, "left");
    mkdirSync(dir);
    await createWorktree(p, join(dir, "t3"), "cf/t3", null);
    mkdirSync(join(dir, "junk")); // not a worktree at all
    assert.deepEqual(
      worktreeDirs(dir)
        .map((d) => d.slice(dir.length + 1))
        .sort(),
      ["junk", "t3"],
    );
    for (const d of worktreeDirs(dir)) await removeWorktree(d);
    assert.deepEqual(worktreeDirs(dir), []);
    assert.doesNotMatch(g(p, "worktree", "list", "--porcelain"), /t3/);
  });

  it("refuses a non-repository, a missing base and option-looking refs", async () => {
    const plain = join(root, "plain");
    mkdirSync(plain);
    assert.match(notAGitRepo(plain) ?? "", /is not a git repository/);
    assert.equal(notAGitRepo(repo(root, "p4")), null);
    await assert.rejects(
      createWorktree(join(root, "p4"), join(root, "wts", "t4"), "cf/t4", "no-such-ref"),
      /base "no-such-ref" is not a commit/,
    );
    assert.match(checkBaseRef("--upload-pack=x") ?? "", /leading '-'/);
    assert.match(checkBaseRef("a b") ?? "", /no spaces/);
    assert.equal(checkBaseRef("main"), null);
    await assert.rejects(
      createWorktree(join(root, "p4"), join(root, "wts", "t5"), "cf/bad..name", null),
      /not a valid branch name/,
    );
    assert.equal(existsSync(join(root, "wts", "t4")), false);
  });
});
