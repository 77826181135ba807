// doctor's line about pool.permission_mode (ops/doctor-pool.ts) and the settings file that lets a
// bypassPermissions pool session start without the CLI's acceptance dialog (sessions/hook-script.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { bypassWarning, checkPoolPermissionMode } from "../../src/ops/doctor-pool.js";
import { writeHookFiles } from "../../src/sessions/hook-script.js";
import { stateLayout } from "../../src/config/paths.js";

const cfg = (...lines: string[]): Config => {
  const r = parseConfig(["accounts:", "  - name: a", "    home: /home/u/a", ...lines].join("\n") + "\n", "c.yaml", {
    env: {},
    home: "/home/u",
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
};
const BYPASS = ["pool:", "  worktree: true", "  permission_mode: bypassPermissions"];

describe("doctor: pool permission mode", () => {
  it("ok without a pool mode or with a mode that asks", () => {
    assert.equal(checkPoolPermissionMode(cfg(), 1000).status, "ok");
    const c = checkPoolPermissionMode(cfg("pool:", "  permission_mode: acceptEdits"), 1000);
    assert.deepEqual([c.status, c.detail], ["ok", "acceptEdits"]);
    assert.equal(bypassWarning(cfg()), null);
  });
  it("bypassPermissions: a loud warning; as root without IS_SANDBOX a failure (the CLI refuses the mode for root)", () => {
    const c = cfg(...BYPASS);
    const w = checkPoolPermissionMode(c, 1000);
    assert.equal(w.status, "warn");
    assert.match(
      w.detail,
      /^WARNING: pool sessions run with --permission-mode bypassPermissions: every tool call .* runs WITHOUT ASKING/,
    );
    const root = checkPoolPermissionMode(c, 0);
    assert.equal(root.status, "fail");
    assert.match(root.fix ?? "", /IS_SANDBOX/);
    assert.equal(checkPoolPermissionMode(cfg(...BYPASS, "claude:", "  env:", '    IS_SANDBOX: "1"'), 0).status, "warn");
  });
});

describe("hook settings: the bypass acceptance", () => {
  it("skipDangerousModePermissionPrompt only when the pool runs bypassPermissions", () => {
    const dir = mkdtempSync(join(tmpdir(), "cf-hookset-"));
    try {
      const read = () => JSON.parse(readFileSync(join(dir, "hooks-settings.json"), "utf8")) as Record<string, unknown>;
      writeHookFiles(stateLayout(dir).hookFiles);
      assert.equal(read().skipDangerousModePermissionPrompt, undefined);
      writeHookFiles(stateLayout(dir).hookFiles, undefined, { acceptBypass: true });
      assert.equal(read().skipDangerousModePermissionPrompt, true);
      assert.equal(read().disableAllHooks, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
