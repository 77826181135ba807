// pool.permission_mode bypassPermissions (issue 18 point 4), real CLI against the stand-in, real
// tmux and git: the pool session starts with --permission-mode bypassPermissions and without stopping at the
// CLI's one-time acceptance dialog (the daemon's settings file carries skipDangerousModePermissionPrompt), a
// worktree task's Bash call runs without asking (no waiting), and doctor prints the warning. As root the CLI
// refuses the mode unless IS_SANDBOX=1 (docs/notes/permission-dialog.md), which the test then sets.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import type { WorktreeInfo } from "../../src/inbox/task-types.js";
import { makeHarness, type Harness } from "../support/harness.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { waitFor } from "../support/wait.js";

const g = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-C", cwd, "-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], {
    encoding: "utf8",
  }).trim();
const hasToolResult = (r: RecordedRequest) => {
  const last = (r.body?.messages as { content?: unknown }[] | undefined)?.at(-1);
  return Array.isArray(last?.content) && (last.content as { type?: string }[]).some((b) => b.type === "tool_result");
};

describe("pool in bypassPermissions mode", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    const root = process.getuid?.() === 0;
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: {
        ...(root ? { claude: { env: { IS_SANDBOX: "1" } } } : {}),
        pool: { max: 1, min: 0, worktree: true, permission_mode: "bypassPermissions" },
      },
    });
    const repo = h.project("repo");
    g(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "README"), "hello\n");
    g(repo, "add", "README");
    g(repo, "commit", "-q", "-m", "first");
    (h.configObject.pool as Record<string, unknown>).project = repo;
    h.writeConfig();
    h.api.setReplier((r) => {
      if (hasToolResult(r)) return { text: "bash ran" };
      if (r.userText.includes("RUN-BASH"))
        return {
          toolUse: { name: "Bash", input: { command: "echo by-bypass > bypass.txt", description: "write a file" } },
        };
      return undefined;
    });
    d = await h.start();
  });
  after(async () => h?.cleanup());

  it("runs a worktree task's tool call without asking, in a session started in bypassPermissions mode", async () => {
    const settings = JSON.parse(readFileSync(join(h.root, "state", "hooks-settings.json"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(settings.skipDangerousModePermissionPrompt, true);
    const f = join(h.root, "bp.md");
    writeFileSync(f, "---\nid: bp-1\n---\nRUN-BASH please\n");
    const r = await h.cli("enqueue", f);
    assert.equal(r.code, 0, r.err);
    const cmd = await waitFor(
      () => {
        const out = h.tmux("display-message", "-p", "-t", "=auto-01:", "#{pane_start_command}");
        return out.code === 0 && out.out.includes("--permission-mode") ? out.out : null;
      },
      60_000,
      "auto-01 started",
    );
    assert.match(cmd, /--permission-mode bypassPermissions/);
    const t = await waitFor(
      () => {
        const x = d.inbox.tasks.get("bp-1")!;
        return x.state !== "queued" && x.state !== "running" && x.worktreeInfo ? x : null;
      },
      90_000,
      "bp-1 ended and summarized",
    );
    assert.equal(t.state, "done", `${t.state}: ${t.error}`);
    assert.equal(t.result, "bash ran");
    const info = JSON.parse(t.worktreeInfo!) as WorktreeInfo;
    assert.ok(
      info.uncommitted.some((l) => l.includes("bypass.txt")),
      JSON.stringify(info),
    );
    const kinds = d.store
      .tailEvents(500)
      .filter((e) => e.data.id === "bp-1")
      .map((e) => e.kind);
    assert.ok(!kinds.includes("task.waiting"), kinds.join(","));
  });

  it("doctor prints the warning", async () => {
    const r = await h.cli("doctor");
    assert.match(
      r.out,
      /! pool permission mode: WARNING: pool sessions run with --permission-mode bypassPermissions: every tool call .* runs WITHOUT ASKING/,
    );
  });
});
