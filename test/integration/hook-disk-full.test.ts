// The hook script on a full disk (issue 16 point 4, chaos disk_full): its spool write failed and the event
// was dropped without a word (a Stop lost leaves the session `busy` for good). Now the payload is kept in
// memory and the write tried again for up to HOOK_RETRY_S while the CLI waits. The real script (sh) on a
// real 64 KiB tmpfs filled to the last page; needs root to mount one (skipped with the reason elsewhere).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stateLayout } from "../../src/config/paths.js";
import { parseSpoolName } from "../../src/sessions/hook-event.js";
import { HOOK_RETRY_S, HOOK_TIMEOUT_S, writeHookFiles } from "../../src/sessions/hook-script.js";
import { TestTmpfs } from "../support/tmpfs.js";
import { delay } from "../support/wait.js";

describe("hook script on a full disk", { timeout: 60_000 }, () => {
  let disk: TestTmpfs;
  let script: string;
  before(() => {
    disk = TestTmpfs.mount("cf-hookfull-", "64k");
    script = writeHookFiles(stateLayout(join(disk.root, "state")).hookFiles).script;
  });
  after(() => disk.dispose());

  /** Runs the hook as the CLI does (payload on stdin); resolves with its exit code, output and duration. */
  const hook = (spool: string, event: string, payload: string, retryS?: number) =>
    new Promise<{ code: number | null; out: string; err: string; ms: number; pid: number }>((resolve) => {
      const t0 = Date.now();
      const child = spawn("sh", [script, event], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          CLAUDE_FAILOVER_SPOOL: spool,
          CLAUDE_FAILOVER_SESSION: "s1",
          CLAUDE_FAILOVER_ACCOUNT: "a",
          ...(retryS ? { CLAUDE_FAILOVER_HOOK_RETRY_S: String(retryS) } : {}),
        },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      child.on("close", (code) => resolve({ code, out, err, ms: Date.now() - t0, pid: child.pid! }));
      child.stdin.end(payload);
    });

  it("retries for less than the CLI's hook timeout", () => {
    assert.ok(HOOK_RETRY_S + 5 <= HOOK_TIMEOUT_S, `${HOOK_RETRY_S} s of retries, timeout ${HOOK_TIMEOUT_S} s`);
  });

  it("an event written while the disk is full lands, whole, once space is back (the CLI waits)", async (t) => {
    if (!disk.dir) return t.skip(disk.skipped!);
    const spool = join(disk.dir, "spool-a");
    mkdirSync(spool);
    disk.fill();
    const payload = `{"session_id":"x","prompt_id":"p","last_assistant_message":"${"é漢 ".repeat(300)}"}\n`;
    const running = hook(spool, "Stop", payload);
    await delay(1500);
    assert.deepEqual(readdirSync(spool), [], "nothing spooled while full");
    disk.free();
    const r = await running;
    assert.equal(r.code, 0);
    assert.equal(r.out, "");
    assert.equal(r.err, "");
    assert.ok(r.ms >= 1400, `the hook waited for the space (${r.ms} ms)`);
    const files = readdirSync(spool);
    assert.equal(files.length, 1, files.join(", "));
    const meta = parseSpoolName(files[0]!);
    assert.equal(meta?.event, "Stop");
    assert.equal(meta?.order[1], r.pid);
    assert.deepEqual(readFileSync(join(spool, files[0]!)), Buffer.from(payload));
  });

  it("a disk full for longer than the retries: gives up in time, says so on stderr, exits 0, no temp file", async (t) => {
    if (!disk.dir) return t.skip(disk.skipped!);
    const spool = join(disk.dir, "spool-b");
    mkdirSync(spool);
    disk.fill();
    try {
      // 3 s instead of HOOK_RETRY_S (the environment variable the script honours), to keep the test short.
      const r = await hook(spool, "UserPromptSubmit", `{"prompt":"${"x".repeat(5000)}"}`, 3);
      assert.equal(r.code, 0);
      assert.equal(r.out, "", "nothing on stdout (it would be added to the prompt)");
      assert.match(r.err, /could not spool the UserPromptSubmit hook event/);
      assert.ok(r.ms >= 2000 && r.ms < 5000, `gave up after about 3 s (${r.ms} ms)`);
      assert.deepEqual(readdirSync(spool), []);
    } finally {
      disk.free();
    }
  });
});
