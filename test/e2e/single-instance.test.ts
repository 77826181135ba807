// Issue 14, point 3: one daemon per state dir. The real daemon (tsx, as a child process) holds the lock;
// a second `claude-failover daemon` on the same config exits 2 at once naming the first one's PID, and
// leaves its spool, its control socket and its sessions alone. The first is SIGSTOPped while the second
// runs, so anything the second touched would still show (a spooled event it drained, a pane it respawned).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChildProcess } from "node:child_process";
import { makeHarness, REPO, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";

function runCli(h: Harness, ...args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), join(REPO, "src/cli/bin.ts"), ...args],
    { env: h.env, cwd: h.root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, ms: Date.now() - t0 })));
}

describe("one daemon per state dir", { timeout: 120_000 }, () => {
  let h: Harness;
  let first: ChildProcess;
  before(async () => {
    h = await makeHarness({ binary: STUB_CLAUDE, config: { claude: { env: { STUB_CLAUDE_OFFLINE_DELAY_MS: "50" } } } });
    first = await h.spawnDaemon();
    await waitFor(
      () => h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_dead}").out.trim() === "0",
      30_000,
      "dev running",
    );
  });
  after(async () => {
    if (first.exitCode === null) first.kill("SIGCONT");
    await h.cleanup();
  });

  it("a second daemon exits 2 within a second of its start-up, naming the first one's PID; the first is untouched", async (t) => {
    const state = join(h.root, "state");
    const sock = join(state, "control.sock");
    const sockIno = statSync(sock).ino;
    const panePid = h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_pid}").out.trim();
    // The cost of loading the CLI through tsx, measured, so the time the lock takes can be told apart.
    const baseline = await runCli(h, "--version");
    first.kill("SIGSTOP");
    const event = join(
      state,
      "spool",
      `${process.hrtime.bigint() + 1_700_000_000_000_000_000n}.1.dev.a.Notification.json`,
    );
    writeFileSync(event, JSON.stringify({ hook_event_name: "Notification", message: "probe" }));
    try {
      const second = await runCli(h, "--config", h.configPath, "daemon");
      t.diagnostic(
        `second daemon exited ${second.code} after ${second.ms} ms; loading the CLI alone takes ${baseline.ms} ms`,
      );
      assert.equal(second.code, 2, second.out);
      assert.match(second.out, new RegExp(`PID ${first.pid}\\b`));
      // Not a speed target: the second daemon must not wait on the frozen first one (a connect or lock
      // timeout would show as seconds here).
      assert.ok(
        second.ms - baseline.ms < 5000,
        `exited ${second.ms} ms after start, start-up alone takes ${baseline.ms} ms: it waited on the frozen daemon`,
      );
      assert.ok(existsSync(event), "the second daemon drained the first one's spool");
      assert.equal(statSync(sock).ino, sockIno, "control.sock removed or replaced");
      assert.equal(
        h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_pid}").out.trim(),
        panePid,
        "the session was restarted",
      );
    } finally {
      first.kill("SIGCONT");
    }
    // The first carries on: it applies the event and answers.
    await waitFor(() => !existsSync(event), 10_000, "event applied by the first daemon");
    const status = await h.cli("status", "--json");
    assert.equal(status.code, 0, status.err);
    assert.equal((JSON.parse(status.out) as { pid: number }).pid, first.pid);
  });

  it("after the first daemon is killed (SIGKILL), the lock is free: a new one starts", async () => {
    first.kill("SIGKILL");
    await waitFor(() => first.exitCode !== null || first.signalCode !== null, 10_000, "first gone");
    const next = await h.spawnDaemon();
    assert.notEqual(next.pid, first.pid);
    assert.equal(
      spawnSync("cat", [join(h.root, "state", "daemon.pid")], { encoding: "utf8" }).stdout.trim(),
      String(next.pid),
    );
  });
});
