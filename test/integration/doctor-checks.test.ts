// `claude-failover doctor` on a setup made by `init` (real tmux, the real CLI for --version): exit 0
// when healthy, and each broken thing a test sets up is reported with its fix and a non-zero exit.
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  appendFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { run } from "../../src/cli/main.js";
import { ExitError } from "../../src/ops/cli-config.js";
import { runDoctor, type DoctorOptions } from "../../src/ops/doctor.js";
import type { Run } from "../../src/ops/doctor-system.js";
import { CLAUDE_BIN, fakeCredentials, freePort } from "../support/harness.js";

describe("claude-failover doctor", { timeout: 120_000 }, () => {
  let root: string;
  let cfg: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let unitPath: string;
  const servers: Server[] = [];
  const home = (n: string) => join(root, "homes", n);

  async function doctor(o: DoctorOptions = {}, e: NodeJS.ProcessEnv = env): Promise<{ code: number; out: string }> {
    let out = "";
    const io = { out: (s: string) => (out += s), err: (s: string) => (out += s), env: e };
    try {
      await runDoctor(cfg, io, { units: [{ scope: "user", path: unitPath }], hasSystemctl: true, ...o });
      return { code: 0, out };
    } catch (x) {
      if (x instanceof ExitError) return { code: x.exitCode, out };
      throw x;
    }
  }
  const failed = (out: string) => out.split("\n").filter((l) => l.startsWith("✗"));

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "cf-doctor-"));
    cfg = join(root, "config.yaml");
    unitPath = join(root, "units", "claude-failover.service");
    env = {
      HOME: root,
      PATH: [dirname(CLAUDE_BIN), process.env.PATH].join(delimiter),
      CLAUDE_FAILOVER_TOKEN: "0123456789abcdef0123456789abcdef",
    };
    mkdirSync(join(root, "proj"));
    let err = "";
    const code = await run(
      [
        "--config",
        cfg,
        "init",
        "--account",
        "a=~/homes/a",
        "--account",
        "b=~/homes/b",
        "--project",
        join(root, "proj"),
      ],
      { out: () => {}, err: (s) => (err += s), env },
    );
    assert.equal(code, 0, err);
    port = await freePort();
    appendFileSync(cfg, `mcp_http:\n  listen: "127.0.0.1:${port}"\n`);
    for (const n of ["a", "b"])
      writeFileSync(join(home(n), ".claude", ".credentials.json"), fakeCredentials(`sk-ant-oat01-${n}`), {
        mode: 0o600,
      });
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it("a healthy setup: every check passes, exit 0 (also through the CLI)", async () => {
    const r = await doctor();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(failed(r.out), []);
    for (const want of [
      /✓ tmux: tmux \d/,
      /✓ Claude Code CLI: \d+\.\d+\.\d+ \(Claude Code\)/,
      /✓ account a: credentials: max, access token valid for [78]h/,
      /✓ account b: links to the shared tree/,
      /✓ account a: \.claude\.json: seeded \(onboarding done, 1 project\(s\) trusted\)/,
      /✓ shared tree/,
      /✓ state dir: .* \(mode 700\)/,
      /✓ token \(CLAUDE_FAILOVER_TOKEN\): set in the environment/,
      /✓ port \(127\.0\.0\.1:\d+\): free/,
      /! systemd unit: not installed/,
      /all \d+ checks passed \(1 warning\)/,
    ])
      assert.match(r.out, want);
    let out = "";
    assert.equal(
      await run(["--config", cfg, "doctor"], { out: (s) => (out += s), err: (s) => (out += s), env }),
      0,
      out,
    );
  });

  it("--json prints the checks as one JSON object, and still exits 1 on a failure", async () => {
    let out = "";
    assert.equal(
      await run(["--config", cfg, "doctor", "--json"], { out: (s) => (out += s), err: (s) => (out += s), env }),
      0,
      out,
    );
    const j = JSON.parse(out) as {
      ok: boolean;
      checks: Array<{ status: string; name: string; detail: string; fix?: string }>;
    };
    assert.equal(j.ok, true);
    assert.ok(j.checks.some((c) => c.name === "tmux" && c.status === "ok"));
    out = "";
    const noCli = { ...env, PATH: "/nonexistent" };
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/binary: .*/, "binary: /nonexistent/claude"));
    assert.equal(
      await run(["--config", cfg, "doctor", "--json"], { out: (s) => (out += s), err: (s) => (out += s), env: noCli }),
      1,
    );
    const bad = JSON.parse(out) as typeof j;
    assert.equal(bad.ok, false);
    const cli = bad.checks.find((c) => c.name === "Claude Code CLI")!;
    assert.equal(cli.status, "fail");
    assert.match(cli.fix ?? "", /install it/);
  });

  it("managed settings that block user hooks (disableAllHooks, allowManagedHooksOnly) fail, naming the file and key", async () => {
    const managed = join(root, "etc-claude-code");
    mkdirSync(join(managed, "managed-settings.d"), { recursive: true });
    writeFileSync(join(managed, "managed-settings.json"), JSON.stringify({ permissions: { deny: [] } }));
    const fine = await doctor({ managedSettingsDir: managed });
    assert.match(fine.out, /✓ hooks \(managed settings\): 1 managed settings file\(s\) in .*, none blocks hooks/);
    writeFileSync(
      join(managed, "managed-settings.d", "20-lockdown.json"),
      JSON.stringify({ allowManagedHooksOnly: true }),
    );
    writeFileSync(join(managed, "managed-settings.json"), JSON.stringify({ disableAllHooks: true }));
    const r = await doctor({ managedSettingsDir: managed });
    assert.equal(r.code, 1);
    const line = failed(r.out).find((l) => l.includes("hooks (managed settings)")) ?? "";
    assert.match(
      line,
      /managed-settings\.json sets disableAllHooks: true; .*20-lockdown\.json sets allowManagedHooksOnly: true: the CLI then runs none of claude-failover's hooks/,
    );
    assert.match(r.out, /fix: ask the machine's administrator/);
    assert.match(
      (await doctor({ managedSettingsDir: join(root, "none") })).out,
      /✓ hooks \(managed settings\): no managed settings in/,
    );
  });

  it("a deprecated key name (issue 15): a warning naming the file, line and new key; still exit 0", async () => {
    const line = readFileSync(cfg, "utf8").split("\n").length + 1;
    appendFileSync(cfg, "pool:\n  autonomous:\n    max: 0\n");
    const r = await doctor();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^! config: .*config\.yaml: deprecated key names \(still read\):$/m);
    assert.ok(
      r.out.includes(`    ${cfg}:${line}: pool.autonomous: deprecated: its keys are now directly under pool`),
      r.out,
    );
    assert.match(r.out, /all \d+ checks passed \(2 warnings\)/);
  });

  it("missing credentials: says to log in, exit 1", async () => {
    unlinkSync(join(home("b"), ".claude", ".credentials.json"));
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.deepEqual(failed(r.out), ["✗ account b: credentials: no .claude/.credentials.json (needs login)"]);
    assert.match(r.out, /fix: claude-failover login b/);
  });

  it("a projects link replaced by a real directory (the CLI recreated it)", async () => {
    const at = join(home("a"), ".claude", "projects");
    unlinkSync(at);
    mkdirSync(join(at, "-proj"), { recursive: true });
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(
      failed(r.out).join("\n"),
      /✗ account a: links to the shared tree: .*projects is a real directory, not a link to/,
    );
    assert.match(r.out, /fix: restart the daemon/);
  });

  it("bad permissions: a state dir others can enter, a world-readable credentials file", async () => {
    chmodSync(join(root, ".local", "state", "claude-failover"), 0o755);
    chmodSync(join(home("a"), ".claude", ".credentials.json"), 0o644);
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ state dir: .* has mode 755/);
    assert.match(r.out, /fix: chmod 700 /);
    assert.match(r.out, /✗ account a: credentials: .* is readable by others \(mode 644\)/);
  });

  it("missing or short token; a token file is found and must be private", async () => {
    const { CLAUDE_FAILOVER_TOKEN: _t, ...noToken } = env;
    let r = await doctor({}, noToken);
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ token \(CLAUDE_FAILOVER_TOKEN\): not set, and no token file found/);
    assert.match(r.out, /fix: umask 077; echo CLAUDE_FAILOVER_TOKEN=\$\(openssl rand -hex 32\) > .*token\.env/);
    r = await doctor({}, { ...noToken, CLAUDE_FAILOVER_TOKEN: "short" });
    assert.match(r.out, /✗ token .*too short \(5 characters/);
    const file = join(root, "token.env");
    writeFileSync(file, `CLAUDE_FAILOVER_TOKEN=${"f".repeat(64)}\n`, { mode: 0o600 });
    r = await doctor({}, noToken);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /✓ token \(CLAUDE_FAILOVER_TOKEN\): set in .*token\.env/);
    chmodSync(file, 0o644);
    assert.match((await doctor({}, noToken)).out, /✗ token .*readable by others/);
  });

  it("the port: held by our daemon is fine, held by another program is not", async () => {
    const listen = (body: string) =>
      new Promise<void>((res) => {
        const s = createServer((_q, a) => a.writeHead(200, { "content-type": "application/json" }).end(body));
        servers.push(s);
        s.listen(port, "127.0.0.1", () => res());
      });
    await listen(JSON.stringify({ ok: true }));
    assert.match((await doctor()).out, /✓ port .*held by the running claude-failover daemon/);
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await listen("not us");
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ port \(127\.0\.0\.1:\d+\): in use by another program/);
  });

  it("a .claude.json that does not parse: fail, and the fix says it is never replaced and where the CLI's backups are", async () => {
    writeFileSync(join(home("a"), ".claude.json"), '{"oauthAccount": {"emailAdd');
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /✗ account a: \.claude\.json: .*is not valid JSON\n {4}fix: repair it by hand, or copy the newest .*\.claude\/backups\/\.claude\.json\.backup\.\* .* never replaces a file that does not parse/,
    );
  });

  it("token expiry: expired with a refresh token is a warning, without one a failure", async () => {
    const creds = (refresh: string | null) =>
      JSON.stringify({
        claudeAiOauth: { accessToken: "sk-ant-oat01-x", refreshToken: refresh, expiresAt: Date.now() - 3 * 3600_000 },
      });
    writeFileSync(join(home("a"), ".claude", ".credentials.json"), creds("sk-ant-ort01-x"), { mode: 0o600 });
    let r = await doctor();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /! account a: credentials: access token expired 3h 0m ago; the CLI refreshes it/);
    writeFileSync(join(home("a"), ".claude", ".credentials.json"), creds(null), { mode: 0o600 });
    r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ account a: credentials: access token expired .* no refresh token/);
  });

  it("two homes holding one login (a copied credentials file); an unseeded .claude.json", async () => {
    copyFileSync(join(home("a"), ".claude", ".credentials.json"), join(home("b"), ".claude", ".credentials.json"));
    unlinkSync(join(home("b"), ".claude.json"));
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ accounts a, b: accounts a and b hold the same refresh token/);
    assert.match(r.out, /✗ account b: \.claude\.json: .*\.claude\.json is missing/);
  });

  it("tmux too old, the CLI missing", async () => {
    const old: Run = async (file) =>
      file === "tmux" ? { code: 0, out: "tmux 2.9a" } : { code: 0, out: "2.1.197 (Claude Code)" };
    assert.match((await doctor({ run: old })).out, /✗ tmux: tmux 2\.9a is too old/);
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/binary: .*/, "binary: /nonexistent/claude"));
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ Claude Code CLI: \/nonexistent\/claude not found/);
  });

  it("the installed unit: init's passes; one without KillMode=process fails", async () => {
    let out = "";
    assert.equal(
      await run(["--config", cfg, "init", "--user", "--install", "--unit-dir", dirname(unitPath)], {
        out: (s) => (out += s),
        err: (s) => (out += s),
        env,
      }),
      0,
      out,
    );
    assert.match((await doctor()).out, /✓ systemd unit: .*claude-failover\.service \(user\)/);
    writeFileSync(unitPath, readFileSync(unitPath, "utf8").replace("KillMode=process", "KillMode=control-group"));
    const r = await doctor();
    assert.equal(r.code, 1);
    assert.match(r.out, /✗ systemd unit: .*KillMode is not `process`/);
    assert.match((await doctor({ hasSystemctl: false })).out, /✓ systemd unit: systemctl not available: skipped/);
  });
});
