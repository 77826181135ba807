// Issue 14, point 5, with the daemon (in-process), real tmux, the stub CLI and a real full file system: the
// checkpoint dir is a 64 KiB tmpfs. Filled up, a checkpoint fails with ENOSPC: the earlier checkpoint is
// intact, no temp file is left, an event `disk.write_failed` names the file, and `status` reports it.
// Needs root to mount the tmpfs (this box's tests run as root); elsewhere it is skipped with the reason,
// and test/integration/fs-hardening.test.ts covers the same logic through the injected-ENOSPC seam.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { isCfError } from "../../src/util/errors.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { TestTmpfs } from "../support/tmpfs.js";
import { waitFor } from "../support/wait.js";

describe("a full disk under the checkpoints", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let disk: TestTmpfs;
  let mnt: string | null = null;
  before(async () => {
    h = await makeHarness({ binary: STUB_CLAUDE, config: { claude: { env: { STUB_CLAUDE_OFFLINE_DELAY_MS: "50" } } } });
    disk = TestTmpfs.mount("cf-cpfull-", "64k");
    if (!disk.dir) return;
    mnt = disk.dir;
    (h.configObject as { checkpoint?: Record<string, unknown> }).checkpoint = { dir: mnt, scrollback_lines: 0 };
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  });
  after(async () => {
    await d?.stop();
    disk?.dispose();
    await h.cleanup();
  });

  it("ENOSPC: old checkpoint intact, no temp file, an event and status say what failed", async (t) => {
    if (!mnt) return t.skip(disk.skipped!);
    const first = await d.checkpoints.take("dev", "before the disk fills");
    const before = readFileSync(first.path, "utf8");
    disk.fill(); // what is left
    // The daemon takes checkpoints of its own (at launch, periodically); whatever is there once the disk is
    // full must stay as it is, and its own attempts on the full disk count as write failures too.
    const listed = readdirSync(join(mnt, "dev")).sort();
    assert.ok(listed.includes(first.path.split("/").at(-1)!));
    await assert.rejects(d.checkpoints.take("dev", "on a full disk"), (e: unknown) => isCfError(e, "disk_full"));
    const files = readdirSync(join(mnt, "dev")).sort();
    assert.deepEqual(files, listed, "only the earlier checkpoints, no temp file");
    assert.equal(readFileSync(first.path, "utf8"), before);
    JSON.parse(before);
    const ev = d.store.tailEvents(50, { kindPrefix: "disk.write_failed" });
    assert.ok(ev.length >= 1, "at least our write failed");
    for (const e of ev) {
      assert.equal(e.data.code, "disk_full");
      assert.match(String(e.data.path), new RegExp(`^${mnt}/dev/`));
    }
    const status = await h.cli("status", "--json");
    assert.equal(status.code, 0, status.err);
    const wf = (JSON.parse(status.out) as { writeFailures: { count: number; last: { code: string; error: string } } })
      .writeFailures;
    assert.ok(wf.count >= 1, `count ${wf.count}`);
    assert.equal(wf.last.code, "disk_full");
    assert.match(wf.last.error, /ENOSPC: no space left on device/);
    const text = await h.cli("status");
    assert.match(text.out, /WRITE FAILURES: [1-9]\d*, last .*ENOSPC/);
  });
});
