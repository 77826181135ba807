// The `daemon` command refuses to start without a usable bearer token: exit code 1, a message that
// names the variable and says what to do, the token's value never printed, and no session started.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeHarness, REPO, type Harness } from "../support/harness.js";

function runDaemon(h: Harness, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), join(REPO, "src/cli/bin.ts"), "--config", h.configPath, "daemon"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
        cwd: h.root,
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`daemon still running after 30 s: ${out}`));
    }, 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("daemon startup without a usable token", { timeout: 90_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ accounts: 1 });
    h.writeConfig();
  });
  after(async () => h.cleanup());

  it("unset: exit 1 and says which variable to set", async () => {
    const env = { ...h.env };
    delete env.CLAUDE_FAILOVER_TOKEN;
    const r = await runDaemon(h, env);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /cannot start: environment variable CLAUDE_FAILOVER_TOKEN is not set/);
    assert.match(r.out, /openssl rand/);
    assert.ok(!r.out.includes("    at "), "no stack trace");
  });

  it("too short: exit 1, says how short, never prints the value", async () => {
    const short = "Zq9shortTok";
    const r = await runDaemon(h, { ...h.env, CLAUDE_FAILOVER_TOKEN: short });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /CLAUDE_FAILOVER_TOKEN is too short \(11 characters, need at least 16\)/);
    assert.ok(!r.out.includes(short));
  });

  it("a custom bearer_token_env is the one named", async () => {
    h.configObject.mcp_http = { ...(h.configObject.mcp_http as object), bearer_token_env: "MY_CF_TOKEN" };
    h.writeConfig();
    const r = await runDaemon(h, h.env); // CLAUDE_FAILOVER_TOKEN is set, MY_CF_TOKEN is not
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /MY_CF_TOKEN is not set/);
  });

  it("nothing was started: no tmux server, no listener", async () => {
    assert.notEqual(h.tmux("list-sessions").code, 0);
    const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
    const r = await fetch(`http://${listen}/health`).catch(() => null);
    assert.equal(r, null);
  });
});
