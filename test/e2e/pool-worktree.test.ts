// Worktree tasks (issue 18 point 1), real CLI against the stand-in, real tmux, real git: two worktree tasks
// on one git project run at once in two pool sessions, each started in its own worktree; a commit made in
// each worktree while its task runs lands on that task's branch only (the stand-in does not edit files:
// the test commits from the worktree path the task records, as the model would); the project's own tree,
// index and branch are untouched; the worktrees are gone afterwards and the branches stay; each result
// names branch, commits and diff stat. A worktree task for a project that is not a git repository is
// refused at enqueue with the reason. A worktree left by a crash is removed at start.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import type { WorktreeInfo } from "../../src/inbox/task-types.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

const g = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-C", cwd, "-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], {
    encoding: "utf8",
  }).trim();

describe("pool tasks in git worktrees", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let repo: string;
  before(async () => {
    h = await makeHarness({ accounts: 1, dedicated: [], config: { pool: { max: 2, min: 0 } } });
    repo = h.project("repo");
    g(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "README"), "hello\n");
    g(repo, "add", "README");
    g(repo, "commit", "-q", "-m", "first");
    (h.configObject.pool as Record<string, unknown>).project = repo;
    h.writeConfig();
    // a worktree a crash left behind: no task holds it
    mkdirSync(join(h.root, "state", "worktrees"), { recursive: true });
    g(repo, "worktree", "add", "-q", "-b", "cf/stale", join(h.root, "state", "worktrees", "stale"));
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("removed the worktree a crash left at start, keeping its branch", () => {
    assert.equal(existsSync(join(h.root, "state", "worktrees", "stale")), false);
    assert.doesNotMatch(g(repo, "worktree", "list"), /stale/);
    assert.equal(g(repo, "rev-parse", "--verify", "refs/heads/cf/stale").length, 40);
  });

  it("runs two worktree tasks at once, each on its own branch, and leaves the project alone", async () => {
    const head = g(repo, "rev-parse", "HEAD");
    for (const id of ["wt-1", "wt-2"]) {
      const f = join(h.root, `${id}.md`);
      writeFileSync(f, `---\nid: ${id}\nworktree: true\n---\nSLOW:8000 work on ${id}\n`);
      const r = await h.cli("enqueue", f);
      assert.equal(r.code, 0, r.err);
    }
    const running = await waitFor(
      () => {
        const ts = ["wt-1", "wt-2"].map((id) => d.inbox.tasks.get(id)!);
        return ts.every((t) => t.state === "running" && t.submittedAt) ? ts : null;
      },
      60_000,
      "both tasks running",
    );
    assert.notEqual(running[0]!.session, running[1]!.session, "two sessions");
    for (const t of running) {
      assert.equal(t.workdir, join(h.root, "state", "worktrees", t.id));
      assert.equal(t.branch, `cf/${t.id}`);
      assert.equal(t.baseCommit, head);
      assert.equal(d.inbox.pool.projectOf(t.session!), t.workdir, "the session runs in the worktree");
      assert.equal(g(t.workdir, "rev-parse", "--abbrev-ref", "HEAD"), t.branch);
      // what the model would do in its worktree: a file, committed on the task's branch
      writeFileSync(join(t.workdir, `${t.id}.txt`), `made by ${t.id}\n`);
      g(t.workdir, "add", `${t.id}.txt`);
      g(t.workdir, "commit", "-q", "-m", `change of ${t.id}`);
    }
    const ended = await waitFor(
      () => {
        const ts = ["wt-1", "wt-2"].map((id) => d.inbox.tasks.get(id)!);
        return ts.every((t) => t.worktreeInfo) ? ts : null;
      },
      60_000,
      "both worktrees finished",
    );
    for (const t of ended) {
      assert.equal(t.state, "done", `${t.id}: ${t.error}`);
      assert.match(t.result ?? "", new RegExp(`ANSWER: SLOW:8000 work on ${t.id}`));
      const info = JSON.parse(t.worktreeInfo!) as WorktreeInfo;
      assert.equal(info.branch, `cf/${t.id}`);
      assert.equal(info.base, head);
      assert.equal(info.commits.length, 1);
      assert.match(info.commits[0]!, new RegExp(`^[0-9a-f]{40} change of ${t.id}$`));
      assert.match(info.diffStat, new RegExp(`${t.id}\\.txt \\| 1 \\+`));
      assert.doesNotMatch(info.diffStat, new RegExp(ended.find((o) => o.id !== t.id)!.id), "only its own change");
      assert.equal(info.kept, null);
      assert.equal(t.workdir, null);
      assert.equal(existsSync(join(h.root, "state", "worktrees", t.id)), false, "worktree removed");
      assert.equal(g(repo, "show", `cf/${t.id}:${t.id}.txt`), `made by ${t.id}`, "the branch stays with the change");
      assert.ok(!d.inbox.pool.projectOf(t.session!), "its session stopped with the worktree");
    }
    // the project's own working tree, index and branch are untouched
    assert.equal(g(repo, "rev-parse", "--abbrev-ref", "HEAD"), "main");
    assert.equal(g(repo, "rev-parse", "HEAD"), head);
    assert.equal(g(repo, "status", "--porcelain", "--untracked-files=all"), "");
    assert.equal(
      g(repo, "worktree", "list", "--porcelain")
        .split("\n")
        .filter((l) => l.startsWith("worktree ")).length,
      1,
    );
    const detail = await h.cli("task", "wt-1");
    assert.match(detail.out, /commits {3}1/);
    assert.match(detail.out, /branch cf\/wt-1:/);
  });

  it("cancels a worktree task whose session is still starting: session stopped, worktree removed, branch kept", async () => {
    const f = join(h.root, "wt-3.md");
    writeFileSync(f, "---\nid: wt-3\nworktree: true\n---\nnever answered\n");
    assert.equal((await h.cli("enqueue", f)).code, 0);
    const wd = await waitFor(() => d.inbox.tasks.get("wt-3")!.workdir, 20_000, "worktree made");
    const r = await h.cli("task", "cancel", "wt-3");
    assert.equal(r.code, 0, r.err);
    const t = await waitFor(
      () => (d.inbox.tasks.get("wt-3")!.worktreeInfo ? d.inbox.tasks.get("wt-3")! : null),
      30_000,
      "worktree finished",
    );
    assert.equal(t.state, "cancelled");
    assert.equal(existsSync(wd), false);
    assert.equal(g(repo, "rev-parse", "--verify", "refs/heads/cf/wt-3").length, 40);
    await waitFor(() => !d.inbox.pool.list().some((p) => p.project === wd), 30_000, "no session left in the worktree");
    assert.ok(!h.api.turns().some((x) => x.userText.includes("never answered")), "the prompt never went out");
  });

  it("refuses a worktree task for a project that is not a git repository", async () => {
    const plain = h.project("plain");
    const f = join(h.root, "plain.md");
    writeFileSync(f, `---\nproject: ${plain}\nworktree: true\n---\nanything\n`);
    const r = await h.cli("enqueue", f);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /worktree: .* is not a git repository/); // the control plane shows paths as [path]
    assert.equal(d.inbox.tasks.list().length, 3, "nothing queued");
  });
});
