// A reload into pool.permission_mode bypassPermissions (issue 18 point 4), through the daemon with
// the stub CLI: a task queued before without a worktree fails with the reason instead of running unasked in
// the project's own tree; a new one with worktree: false is refused at enqueue; the hook settings file now
// carries the CLI's bypass acceptance key. Reloading back removes the key.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";

describe("reload into a bypassPermissions pool", { timeout: 60_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let work: string;
  const settings = () =>
    JSON.parse(readFileSync(join(h.root, "state", "hooks-settings.json"), "utf8")) as Record<string, unknown>;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      binary: STUB_CLAUDE,
      config: { inbox: { stable_time: "200ms" } },
    });
    work = h.project("work");
    h.configObject.pool = { max: 0, project: work };
    h.writeConfig();
    d = await h.start();
  });
  after(async () => h?.cleanup());

  it("fails a queued task without a worktree, refuses worktree: false, writes the acceptance key; and back", async () => {
    dropFiles(join(h.root, "state", "inbox"), [
      { name: "plain.md", prompt: "queued before the reload", front: { id: "plain" } },
    ]);
    await waitFor(() => d.inbox.tasks.get("plain")?.state === "queued", 10_000, "queued");
    assert.equal(settings().skipDangerousModePermissionPrompt, undefined);
    const auto = h.configObject.pool as Record<string, unknown>;
    Object.assign(auto, { worktree: true, permission_mode: "bypassPermissions" });
    h.writeConfig();
    await d.reload(h.loadConfig());
    const t = await waitFor(
      () => (d.inbox.tasks.get("plain")?.state === "failed" ? d.inbox.tasks.get("plain")! : null),
      10_000,
      "failed",
    );
    assert.match(t.error ?? "", /worktree: false is refused: pool\.permission_mode is now bypassPermissions/);
    assert.equal(settings().skipDangerousModePermissionPrompt, true);
    const f = join(h.root, "opt-out.md");
    writeFileSync(f, "---\nworktree: false\n---\nin the project's own tree, please\n");
    const r = await h.cli("enqueue", f);
    assert.equal(r.code, 1);
    assert.match(r.err, /worktree: false is refused: pool\.permission_mode is bypassPermissions/);
    Object.assign(auto, { worktree: false });
    delete auto.permission_mode;
    h.writeConfig();
    await d.reload(h.loadConfig());
    assert.equal(settings().skipDangerousModePermissionPrompt, undefined);
  });
});
