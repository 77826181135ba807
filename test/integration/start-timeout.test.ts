// A CLI that never sends SessionStart (hooks switched off under us: a managed disableAllHooks or
// allowManagedHooksOnly; issue 13 point 5): the session becomes `failed` with that reason after
// sessions.start_timeout instead of `starting` for ever, and a pool start that fails this way frees its slot
// while its task stays queued and runs once a CLI starts properly. Real daemon, real tmux, the stub CLI
// (silent while a file exists).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

describe("no SessionStart within sessions.start_timeout", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let silent: string;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      binary: STUB_CLAUDE,
      config: { sessions: { start_timeout: "2s" }, inbox: { stable_time: "200ms" } },
    });
    silent = join(h.root, "silent");
    writeFileSync(silent, "");
    const claude = h.configObject.claude as { env: Record<string, string> };
    claude.env.STUB_CLAUDE_SILENT_WHILE = silent;
    h.configObject.pool = {
      max: 1,
      project: h.project("work"),
      idle_timeout: "5m",
    };
    h.writeConfig();
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("a dedicated session is failed with the reason, not starting for ever", async () => {
    const row = await waitFor(
      () => (d.sessions.get("dev")?.state === "failed" ? d.sessions.get("dev") : null),
      20_000,
      "dev failed",
    );
    assert.match(
      row.stateReason ?? "",
      /no SessionStart within 2s of the launch \(sessions\.start_timeout\).*disableAllHooks or allowManagedHooksOnly/,
    );
    assert.ok(
      d.store
        .tailEvents(50, { session: "dev", kindPrefix: "session.failed" })
        .some((e) => (e.data as { reason?: string }).reason === "no SessionStart"),
    );
  });

  it("a pool start that gets no SessionStart frees its slot; the task waits queued and runs once a CLI starts", async () => {
    dropFiles(join(h.root, "state", "inbox"), [{ name: "t.md", prompt: "after the silent start", front: { id: "t" } }]);
    const failed = await waitFor(
      () => d.store.tailEvents(50, { kindPrefix: "pool.start_failed" })[0],
      30_000,
      "pool start failed",
    );
    assert.match(String((failed.data as { error?: string }).error), /no SessionStart within 2s/);
    const name = failed.session!;
    await waitFor(() => d.sessions.get(name)?.state === "stopped", 10_000, "the silent pool session stopped");
    assert.equal(d.inbox.tasks.get("t")?.state, "queued", "the task is still queued, not lost or failed");
    assert.ok(!d.inbox.pool.has(name), "its slot is free");
    rmSync(silent); // the next CLI sends its hooks again
    await waitFor(() => d.inbox.tasks.get("t")?.state === "done", 60_000, "task done in a new pool session");
    await d.sessions.restart("dev");
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 20_000, "dev idle after an operator restart");
  });
});
