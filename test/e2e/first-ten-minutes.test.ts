// Issue 12, points 2 and 7: the daemon with no CLI at all fails the session once, with the problem
// and the fix in its state reason and the log (no restart loop); a CLI that dies shows its exit status
// and last lines; and the real CLI in a new, untrusted folder shows `starting (waiting: trust dialog)`.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { join } from "node:path";
import { test } from "node:test";
import { Daemon } from "../../src/daemon.js";
import { createLogger } from "../../src/util/log.js";
import { makeHarness, REPO } from "../support/harness.js";
import { makeAccountHome } from "../support/real-cli.js";
import { waitFor } from "../support/wait.js";

function capturingLogger() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  return { log: createLogger("info", dest), lines };
}

test(
  "no CLI at all: the session fails once with the problem and the fix, logged once, no restart loop",
  { timeout: 60_000 },
  async (t) => {
    const h = await makeHarness({ accounts: 1, binary: "/nonexistent/claude" });
    t.after(() => h.cleanup());
    const { log, lines } = capturingLogger();
    const d = await Daemon.start({ config: h.loadConfig(), env: h.env, log, realHome: h.root, sweepMs: 100 });
    t.after(() => d.stop());
    const row = await waitFor(
      () => {
        const s = d.sessions.get("dev");
        return s?.state === "failed" ? s : undefined;
      },
      10_000,
      "dev failed",
    );
    assert.match(
      row.stateReason ?? "",
      /^Claude Code CLI not found: \/nonexistent\/claude does not exist or is not executable; fix: install it/,
    );
    // Several sweeps later: still failed, never launched, one error line.
    const sweepsFrom = Date.now();
    await waitFor(() => Date.now() - sweepsFrom > 1000, 5000, "ten sweeps", 100);
    assert.equal(d.sessions.get("dev")?.state, "failed");
    assert.equal(d.store.tailEvents(100).filter((e) => e.kind === "session.launch").length, 0);
    assert.equal(lines.filter((l) => l.includes("Claude Code CLI not found")).length, 1, lines.join("\n"));
    assert.equal(h.tmux("has-session", "-t", "=dev").code, 1, "no tmux session was created");
    const st = await h.cli("status");
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, /dev .*failed.*Claude Code CLI not found: \/nonexistent\/claude .*fix: install it/);
    // The event log says it too, as text and, with --json, one object per line.
    const ev = await h.cli("events", "-n", "20");
    assert.match(ev.out, /session\.failed session=dev .*Claude Code CLI not found/);
    const evJson = (await h.cli("events", "-n", "20", "--json")).out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; session: string | null });
    assert.ok(evJson.some((e) => e.kind === "session.failed" && e.session === "dev"));
    // doctor names it too.
    const doc = await h.cli("doctor");
    assert.match(doc.out, /✗ Claude Code CLI: \/nonexistent\/claude not found\n {4}fix: install it/);
  },
);

test("a dead CLI's state reason has its exit status and its last lines", { timeout: 60_000 }, async (t) => {
  const h = await makeHarness({
    accounts: 1,
    binary: join(REPO, "test", "fixtures", "crashing-cli.sh"),
    config: { sessions: { restart_backoff: "5s", restart_backoff_max: "5s" } },
  });
  t.after(() => h.cleanup());
  const d = await h.start();
  const row = await waitFor(
    () => {
      const s = d.sessions.get("dev");
      return s?.state === "exited" ? s : undefined;
    },
    20_000,
    "dev exited",
  );
  assert.match(row.stateReason ?? "", /^CLI exited \(status 3\); last lines: .*crashing on purpose/);
});

test("real CLI in a new, untrusted folder: status says `waiting: trust dialog`", { timeout: 120_000 }, async (t) => {
  const h = await makeHarness({ accounts: 1 });
  t.after(() => h.cleanup());
  // The user's own home (unmanaged, as the quick start has it): logged in, onboarding done, this folder never trusted.
  const home = join(h.root, "own-home");
  makeAccountHome(home, { accessToken: h.accountTokens.a!, projects: [] });
  h.configObject.accounts = [{ name: "a", home, managed: false }];
  h.configObject.dedicated = [{ name: "dev", project: h.project("new-folder") }];
  h.writeConfig();
  await h.start();
  const out = await waitFor(
    async () => {
      const r = await h.cli("status");
      return /dev +dedicated +starting \(waiting: trust dialog\)/.test(r.out) ? r.out : undefined;
    },
    90_000,
    "status shows the trust dialog",
    500,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\npane:\n${h.tmux("capture-pane", "-p", "-t", "=dev:").out}`);
  });
  assert.match(out, /waiting: trust dialog \(answer it: claude-failover attach dev\)/);
  assert.match(h.tmux("capture-pane", "-p", "-t", "=dev:").out, /trust/i);
});
