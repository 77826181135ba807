// `claude-failover daemon` runs without the token exported when token.env sits beside the config (what
// the quick start and `init` write); with neither, it refuses with the fix (issue 12, point 8). It warns
// about ANTHROPIC_* variables of its own that the CLI will not get (point 4).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeHarness, REPO } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

test(
  "the daemon reads token.env beside the config; without any token it says how to fix it",
  { timeout: 90_000 },
  async (t) => {
    const h = await makeHarness({ accounts: 1, binary: join(REPO, "test", "fixtures", "stub-claude.mjs") });
    t.after(() => h.cleanup());
    const env = { ...h.env };
    delete env.CLAUDE_FAILOVER_TOKEN;
    const argv = [
      "--import",
      import.meta.resolve("tsx"),
      join(REPO, "src/cli/bin.ts"),
      "--config",
      h.configPath,
      "daemon",
    ];

    const refused = spawnSync(process.execPath, argv, { env, encoding: "utf8", timeout: 60_000 });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /cannot start: .*\nfix: create the token file with `claude-failover init` \(or the quick start\), or load one with `set -a; \. .*token\.env; set \+a`/,
    );

    writeFileSync(join(h.root, "token.env"), `CLAUDE_FAILOVER_TOKEN=${h.token}\n`, { mode: 0o600 });
    // An ANTHROPIC_* variable of the daemon's own that claude.env does not set: warned about once at start.
    const child = spawn(process.execPath, argv, {
      env: { ...env, ANTHROPIC_MODEL: "claude-test" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
    await waitFor(
      async () => (await fetch(`http://${listen}/health`).catch(() => null))?.status === 200,
      60_000,
      `daemon up (log: ${log})`,
      200,
    );
    // The token it serves with is the file's: a bearer call with it works.
    const r = await fetch(`http://${listen}/status`, { headers: { authorization: `Bearer ${h.token}` } });
    assert.equal(r.status, 200);
    const warned = log
      .split("\n")
      .filter((l) => l.includes("ANTHROPIC_MODEL is set in the daemon's environment but the CLI will not get it"));
    assert.equal(warned.length, 1, log);
    assert.match(warned[0]!, /set claude\.env\.ANTHROPIC_MODEL in /);
    child.kill("SIGTERM");
    await new Promise((res) => child.on("exit", res));
  },
);
