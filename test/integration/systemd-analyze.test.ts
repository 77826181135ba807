// `systemd-analyze verify` on the checked-in units and on the ones `init --print-unit` renders.
// verify exits 0 on unknown keys (it only warns), so any output at all counts as a failure here.
// Skipped, saying so, where systemd-analyze is not installed; the structural test in
// test/unit/systemd-units.test.ts runs everywhere.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run } from "../../src/cli/main.js";
import { secretsTemplateFile, systemdDir } from "../../src/ops/unit-file.js";

const analyze = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" }).stdout.trim();
const skip = analyze
  ? false
  : "systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd); structure is still checked by systemd-units.test.ts";

function verify(file: string, userScope: boolean, runtimeDir: string): { code: number; out: string } {
  const args = userScope ? ["--user", "verify", file] : ["verify", file];
  // The user manager's verify needs a runtime dir, which a CI container without a login session lacks.
  const r = spawnSync(analyze, args, {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: "0" },
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}`.trim() };
}

async function printUnit(home: string, ...flags: string[]): Promise<string> {
  let out = "";
  let err = "";
  const code = await run(["--config", join(home, "config.yaml"), "init", "--print-unit", ...flags], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    env: { ...process.env, HOME: home },
  });
  assert.equal(code, 0, err);
  return out;
}

describe("systemd-analyze verify", { skip }, () => {
  let root: string;
  let runtime: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-sd-verify-"));
    runtime = join(root, "runtime");
    mkdirSync(runtime, { mode: 0o700 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("passes on the checked-in system unit with its secrets drop-in, and on the user unit", () => {
    const sys = verify(join(systemdDir(), "claude-failover.service"), false, runtime);
    assert.deepEqual(sys, { code: 0, out: "" });
    const usr = verify(join(systemdDir(), "claude-failover-user.service"), true, runtime);
    assert.deepEqual(usr, { code: 0, out: "" });
  });

  it("passes on the units init renders for this installation (system and user)", async () => {
    const sysDir = join(root, "system");
    mkdirSync(join(sysDir, "claude-failover.service.d"), { recursive: true });
    writeFileSync(join(sysDir, "claude-failover.service"), await printUnit(root));
    copyFileSync(secretsTemplateFile(), join(sysDir, "claude-failover.service.d", "secrets.conf"));
    assert.deepEqual(verify(join(sysDir, "claude-failover.service"), false, runtime), { code: 0, out: "" });
    const userDir = join(root, "user");
    mkdirSync(userDir);
    writeFileSync(join(userDir, "claude-failover.service"), await printUnit(root, "--user"));
    assert.deepEqual(verify(join(userDir, "claude-failover.service"), true, runtime), { code: 0, out: "" });
  });

  it("would notice a broken unit (an unknown key, a missing binary)", () => {
    const bad = join(root, "bad.service");
    writeFileSync(bad, "[Service]\nType=notify\nKillMod=process\nExecStart=/nonexistent/claude-failover daemon\n");
    const r = verify(bad, false, runtime);
    assert.match(r.out, /Unknown key 'KillMod'/);
    assert.match(r.out, /nonexistent/);
  });
});
