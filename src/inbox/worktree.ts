// Git worktrees for pool tasks (issue 18 point 1): a small wrapper over git itself, argv only (execFile, no
// shell), so branch names, refs and paths are never interpreted by anything but git. Every function throws
// a WorktreeError whose message says which git command failed and what git said.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { shellEnv } from "../tmux/exec.js";

export class WorktreeError extends Error {}

const GIT_TIMEOUT_MS = 60_000;
/**
 * git's environment from the daemon's `env`: only what a shell needs (tmux/exec.ts shellEnv: PATH, HOME,
 * LANG…), never the daemon's secrets (the MCP bearer token, the PostgreSQL URL): git runs the project's own
 * hooks (post-checkout at `worktree add`), which a pool task may have written. No prompts for credentials
 * or editors, no pager.
 */
export function gitEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return { ...shellEnv(env), GIT_TERMINAL_PROMPT: "0", GIT_EDITOR: "true", GIT_PAGER: "cat", LC_ALL: "C" };
}
const GIT_ENV = gitEnv(process.env);

/** Runs `git -C cwd ...args`; resolves with stdout, rejects with a WorktreeError carrying git's stderr. */
export function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      ["-C", cwd, ...args],
      { env: GIT_ENV, timeout: GIT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new WorktreeError(
              `git ${args[0]} in ${cwd} failed: ${(String(stderr).trim() || err.message).split("\n")[0]}`,
            ),
          );
        else resolve(String(stdout));
      },
    );
  });
}

/**
 * null when `project` is inside a git work tree, else why it is not (synchronous: used while validating a
 * task, which is synchronous; `git rev-parse` takes a few milliseconds).
 */
export function notAGitRepo(project: string): string | null {
  try {
    const out = execFileSync("git", ["-C", project, "rev-parse", "--is-inside-work-tree"], {
      env: GIT_ENV,
      timeout: 10_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (String(out).trim() === "true") return null;
    return `worktree: ${project} is not inside a git work tree (a bare repository or a .git folder), so a task there can't run in a git worktree`;
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? "")
      .trim()
      .split("\n")[0];
    return `worktree: ${project} is not a git repository, so a task there can't run in a git worktree${stderr ? ` (git: ${stderr})` : ""}`;
  }
}

/** A ref a task may name as its `base:`: no option-looking or control characters, no spaces. */
export function checkBaseRef(ref: string): string | null {
  if (
    !ref ||
    ref.length > 200 ||
    ref.startsWith("-") ||
    // eslint-disable-next-line no-control-regex -- git check-ref-format refuses control characters: so do we
    /[\s\x00-\x1f\x7f~^:?*[\\]/.test(ref.replace(/\^\{commit\}$/, ""))
  ) {
    return `base: must be a branch, tag or commit name (no spaces, no leading '-', none of ~ ^ : ? * [ \\), got ${JSON.stringify(ref).slice(0, 210)}`;
  }
  return null;
}

export interface CreatedWorktree {
  path: string;
  branch: string;
  /** the commit the branch started from (full hash) */
  baseCommit: string;
}

/**
 * Creates `path` as a new worktree of `project` on a new branch `branch` started at `base` (default HEAD).
 * A branch of that name that already exists (a crash after an earlier creation) is checked out as it is,
 * its base being its merge base with `base`. The parent of `path` is created (0700) by the caller.
 */
export async function createWorktree(
  project: string,
  path: string,
  branch: string,
  base: string | null,
): Promise<CreatedWorktree> {
  const bad = base ? checkBaseRef(base) : null;
  if (bad) throw new WorktreeError(bad);
  await git(project, ["check-ref-format", "--branch", branch]).catch(() => {
    throw new WorktreeError(
      `worktree: ${JSON.stringify(branch)} is not a valid branch name (pool.worktree_prefix + task id)`,
    );
  });
  const baseCommit = (
    await git(project, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${base ?? "HEAD"}^{commit}`]).catch(
      () => {
        throw new WorktreeError(
          `worktree: ${base ? `base ${JSON.stringify(base)} is not a commit in ${project}` : `${project} has no commit yet (HEAD does not name one)`}`,
        );
      },
    )
  ).trim();
  const exists = await git(project, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`]).then(
    () => true,
    () => false,
  );
  if (exists) {
    await git(project, ["worktree", "add", path, branch]);
    const mb = (await git(project, ["merge-base", baseCommit, `refs/heads/${branch}`]).catch(() => baseCommit)).trim();
    return { path, branch, baseCommit: mb || baseCommit };
  }
  await git(project, ["worktree", "add", "-b", branch, path, baseCommit]);
  return { path, branch, baseCommit };
}

export interface WorktreeSummary {
  branch: string;
  base: string;
  /** commits on the branch since base, oldest first: "<hash> <subject>" */
  commits: string[];
  /** `git diff --stat base branch` */
  diffStat: string;
  /** changes left uncommitted in the worktree when it ended (`git status --porcelain` lines) */
  uncommitted: string[];
}

/** What the task did on its branch. `path` may be gone already (then nothing is uncommitted). */
export async function summarize(
  project: string,
  path: string,
  branch: string,
  baseCommit: string,
): Promise<WorktreeSummary> {
  const ref = `refs/heads/${branch}`;
  const log = await git(project, ["log", "--reverse", "--format=%H %s", `${baseCommit}..${ref}`, "--"]);
  const stat = await git(project, ["diff", "--stat", baseCommit, ref, "--"]);
  const status = existsSync(path)
    ? await git(path, ["status", "--porcelain", "--untracked-files=all"]).catch(() => "")
    : "";
  const lines = (s: string) =>
    s
      .split("\n")
      .map((l) => l.trimEnd())
      .filter(Boolean);
  return { branch, base: baseCommit, commits: lines(log), diffStat: stat.trimEnd(), uncommitted: lines(status) };
}

/**
 * Removes the worktree at `path` (`git worktree remove --force`, then prune); the branch stays. The
 * repository is found from the worktree itself, so this works without knowing the project (crash leftovers).
 * A folder git no longer knows as a worktree is deleted outright.
 */
export async function removeWorktree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  let common: string | null;
  try {
    common = (await git(path, ["rev-parse", "--path-format=absolute", "--git-common-dir"])).trim();
  } catch {
    common = null;
  }
  if (common) {
    const owner = dirname(common); // the main work tree of a normal (non-bare) repository
    try {
      await git(existsSync(owner) ? owner : path, ["worktree", "remove", "--force", "--force", path]);
    } catch {
      /* not a registered worktree any more: deleted below */
    }
  }
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
  if (common) await git(dirname(common), ["worktree", "prune"]).catch(() => {});
}

/** The worktree folders under `dir` (one per task id); none when it does not exist. */
export function worktreeDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}
