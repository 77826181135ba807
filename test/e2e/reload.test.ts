// SIGHUP: a valid config is applied live, a broken one is rejected and the old one stays. The daemon starts
// from a config with the deprecated name pool.dedicated (issue 15): read as dedicated, warned about in the log.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

type Status = { sessions: { name: string; state: string }[] };

describe("reload on SIGHUP", { timeout: 300_000 }, () => {
  let h: Harness;
  let child: ChildProcess;
  let stderr = "";
  let stdout = "";
  // Straight to /status: the CLI would read the (possibly broken) config file for the address.
  const status = async () => {
    const r = await fetch(`http://${listen()}/status`, { headers: { authorization: `Bearer ${h.token}` } }).catch(
      () => null,
    );
    return r?.status === 200 ? ((await r.json()) as Status) : null;
  };
  const state = async (name: string) => (await status())?.sessions.find((s) => s.name === name)?.state;
  const listen = () => String((h.configObject.mcp_http as Record<string, unknown>).listen);
  const trigger = () =>
    fetch(`http://${listen()}/trigger/checkpoint`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify({ session: "extra" }),
    });

  before(async () => {
    h = await makeHarness({ accounts: 2 });
    h.configObject.pool = { dedicated: h.configObject.dedicated };
    delete h.configObject.dedicated;
    child = await h.spawnDaemon();
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    await waitFor(async () => (await state("dev")) === "idle", 90_000, "dev idle");
  });

  it("started from pool.dedicated: the session runs, and the log names the file, line and new key", () => {
    const line = readFileSync(h.configPath, "utf8").split("\n").indexOf("  dedicated:") + 1;
    assert.ok(line > 0);
    const out = h.daemonOutput(child);
    assert.ok(
      out.includes(`${h.configPath}:${line}: pool.dedicated: deprecated name of dedicated (a top-level list)`),
      out,
    );
  });
  after(async () => h.cleanup());

  it("adds a session, removes one only after its turn ends, and applies changed settings", async () => {
    assert.equal((await trigger()).status, 403, "triggers off before the reload");
    h.tmux("send-keys", "-t", "=dev:", "-l", "--", "SLOW:6000 finish me first");
    await waitFor(() => h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes("finish me first"), 10_000, "typed");
    h.tmux("send-keys", "-t", "=dev:", "Enter");
    await waitFor(async () => (await state("dev")) === "busy", 15_000, "dev busy");

    // Now in the current shape: dedicated at the top level, no pool.dedicated.
    h.configObject.pool = {};
    h.configObject.dedicated = [{ name: "extra", project: h.project("extra") }];
    h.configObject.mcp_http = { ...(h.configObject.mcp_http as object), enable_trigger: true };
    h.writeConfig();
    child.kill("SIGHUP");
    await waitFor(async () => (await state("extra")) === "idle", 90_000, "extra added and idle");
    assert.equal(h.tmux("has-session", "-t", "=dev").code, 0, "dev still running while its turn runs");
    await waitFor(
      () => h.api.turns().find((t) => t.userText === "SLOW:6000 finish me first" && t.status === 200),
      30_000,
      "turn answered",
    );
    await waitFor(() => h.tmux("has-session", "-t", "=dev").code !== 0, 30_000, "dev stopped after its turn");
    assert.equal((await trigger()).status, 200, "enable_trigger applied live");
  });

  it("a reload warns about a deprecated name, and rejects one thing given under both names", async () => {
    stdout = "";
    h.configObject.pool = { autonomous: { max: 0 } };
    h.writeConfig();
    child.kill("SIGHUP");
    await waitFor(() => /reload: .*pool\.autonomous: deprecated/.test(stdout), 15_000, "reload warning logged");
    assert.ok(stdout.includes(`reload: ${h.configPath}:`), stdout);
    stderr = "";
    h.configObject.pool = { dedicated: [] };
    h.writeConfig();
    child.kill("SIGHUP");
    await waitFor(() => /given twice/.test(stderr), 15_000, "rejection printed");
    assert.match(stderr, /config\.yaml:\d+: pool\.dedicated: given twice: as dedicated and as pool\.dedicated/);
    assert.equal(await state("extra"), "idle", "old config still in force");
  });

  it("rejects a broken config with the config-check messages and keeps the old one", async () => {
    writeFileSync(h.configPath, "accounts:\n  - name: a\n    home: relative/path\nquota:\n  window_5h_threshold: 7\n");
    stderr = "";
    child.kill("SIGHUP");
    await waitFor(() => /window_5h_threshold/.test(stderr), 15_000, "rejection printed");
    assert.match(stderr, /config\.yaml:5: quota\.window_5h_threshold: must be between 0 and 1/);
    assert.equal(child.exitCode, null, "daemon still running");
    assert.equal(await state("extra"), "idle", "old config still in force");
    assert.equal((await trigger()).status, 200);
  });
});
