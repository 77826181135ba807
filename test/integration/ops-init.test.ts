// `claude-failover init` on a scratch HOME: accounts found on disk or given, homes prepared, a token
// file, the unit printed or installed, and an existing config never overwritten without --force.
import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { run } from "../../src/cli/main.js";
import { parseConfig } from "../../src/config/load.js";
import { parseUnit, splitExecStart, unitValues } from "../../src/ops/unit-file.js";
import { CLAUDE_BIN } from "../support/harness.js";

describe("claude-failover init", () => {
  const roots: string[] = [];
  let home: string;
  let cfg: string;
  const env = () => ({
    HOME: home,
    PATH: [dirname(CLAUDE_BIN), process.env.PATH].join(delimiter),
    XDG_CONFIG_HOME: "",
    XDG_STATE_HOME: "",
  });
  async function cli(...args: string[]) {
    let out = "";
    let err = "";
    const code = await run(args, { out: (s) => (out += s), err: (s) => (err += s), env: env() });
    return { code, out, err };
  }
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "cf-init-"));
    roots.push(home);
    cfg = join(home, ".config", "claude-failover", "config.yaml");
  });
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  it("finds accounts under --accounts-dir, adds --account ones, writes a valid config and prepares every home", async () => {
    for (const n of ["work", "play", "bad.name"]) mkdirSync(join(home, "accts", n, ".claude"), { recursive: true });
    mkdirSync(join(home, "accts", "no-claude-dir"));
    mkdirSync(join(home, "proj"));
    const r = await cli(
      "init",
      "--accounts-dir",
      join(home, "accts"),
      "--account",
      "extra=~/more/extra",
      "--project",
      join(home, "proj"),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /skipped .*bad\.name/);
    assert.match(r.out, /not logged in yet: claude-failover login work/);
    const text = readFileSync(cfg, "utf8");
    assert.equal(statSync(cfg).mode & 0o777, 0o600);
    const parsed = parseConfig(text, cfg, { env: {}, home });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.issues));
    assert.deepEqual(parsed.warnings, [], "init writes the current key names only");
    const c = parsed.config;
    assert.deepEqual(
      c.accounts.map((a) => [a.name, a.home]),
      [
        ["extra", join(home, "more", "extra")],
        ["play", join(home, "accts", "play")],
        ["work", join(home, "accts", "work")],
      ],
    );
    assert.deepEqual(
      c.dedicated.map((d) => [d.name, d.project]),
      [["proj", join(home, "proj")]],
    );
    assert.equal(c.claude.binary, CLAUDE_BIN, "the CLI found on PATH, by absolute path");
    assert.equal(c.state_dir, join(home, ".local", "state", "claude-failover"));
    assert.equal(statSync(c.state_dir).mode & 0o777, 0o700);
    for (const a of c.accounts) {
      assert.ok(lstatSync(join(a.home, ".claude", "projects")).isSymbolicLink(), `${a.name} projects linked`);
      const seeded = JSON.parse(readFileSync(join(a.home, ".claude.json"), "utf8")) as Record<string, any>;
      assert.equal(seeded.projects[join(home, "proj")].hasTrustDialogAccepted, true);
    }
    const token = readFileSync(join(dirname(cfg), "token.env"), "utf8");
    assert.match(token, /^CLAUDE_FAILOVER_TOKEN=[0-9a-f]{64}\n$/);
    assert.equal(statSync(join(dirname(cfg), "token.env")).mode & 0o777, 0o600);
  });

  it("extends an existing config without --force (comments kept); with --force replaces it, keeping a backup; the token file stays", async () => {
    assert.equal((await cli("init", "--account", "a=~/a")).code, 0);
    writeFileSync(cfg, `# a note of mine\n${readFileSync(cfg, "utf8")}`);
    const token = readFileSync(join(dirname(cfg), "token.env"), "utf8");
    const again = await cli("init", "--account", "b=~/b", "--project", "~/p");
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /extended .*config\.yaml \(comments and order kept\): added account b, session p/);
    const first = readFileSync(cfg, "utf8");
    assert.match(first, /^# a note of mine\n/);
    assert.ok(first.indexOf("name: a") < first.indexOf("name: b"));
    assert.match(first, /- name: p\n\s+project: .*\/p\n/);
    const same = await cli("init", "--account", "b=~/b");
    assert.equal(same.code, 0, same.err);
    assert.match(same.out, /already has everything given; nothing changed/);
    assert.equal(readFileSync(cfg, "utf8"), first);
    const clash = await cli("init", "--account", "b=~/other");
    assert.equal(clash.code, 2);
    assert.match(clash.err, /already an account named b \(nothing written\)/);
    const forced = await cli("init", "--account", "b=~/b", "--force");
    assert.equal(forced.code, 0, forced.err);
    assert.match(readFileSync(cfg, "utf8"), /name: b/);
    const backups = readdirSync(dirname(cfg)).filter((f) => f.startsWith("config.yaml.bak-"));
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(join(dirname(cfg), backups[0]!), "utf8"), first);
    assert.equal(readFileSync(join(dirname(cfg), "token.env"), "utf8"), token);
  });

  it("without account flags reuses the existing config (e.g. to install the unit later)", async () => {
    assert.equal((await cli("init", "--account", "a=~/a")).code, 0);
    const r = await cli("init", "--user", "--install");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /using the existing config/);
    assert.ok(existsSync(join(home, ".config", "systemd", "user", "claude-failover.service")));
  });

  it("refuses to write a config with no account, or with a bad --account, exit 2", async () => {
    const none = await cli("init");
    assert.equal(none.code, 2);
    assert.match(none.err, /no accounts: give --accounts-dir/);
    const bad = await cli("init", "--account", "just-a-name");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /expected NAME=HOME/);
    const clash = await cli("init", "--account", "a=~/x", "--account", "b=~/x");
    assert.equal(clash.code, 2);
    assert.match(clash.err, /clash/);
    assert.equal(existsSync(cfg), false);
  });

  it("--user --install writes a user unit running this installation with --config, PATH and the token file", async () => {
    const r = await cli("init", "--account", "a=~/a", "--user", "--install");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /systemctl --user daemon-reload && systemctl --user enable --now claude-failover/);
    const u = parseUnit(readFileSync(join(home, ".config", "systemd", "user", "claude-failover.service"), "utf8"));
    const exec = splitExecStart(unitValues(u, "Service", "ExecStart")[0]!);
    assert.equal(exec[0], realpathSync(process.execPath), "this node, by absolute path");
    assert.deepEqual(exec.slice(-3), ["--config", cfg, "daemon"]);
    assert.ok(existsSync(exec[exec.length - 4]!), "the entry point exists");
    assert.deepEqual(unitValues(u, "Service", "User"), []);
    assert.deepEqual(unitValues(u, "Service", "EnvironmentFile"), [`-${join(dirname(cfg), "token.env")}`]);
    const path = unitValues(u, "Service", "Environment")[0]!;
    assert.ok(path.startsWith("PATH=") && path.includes(dirname(CLAUDE_BIN)), path);
    assert.equal(unitValues(u, "Service", "KillMode")[0], "process");
  });

  it("a system unit gets User=; --print-unit only prints; --install into an unwritable dir says how to use sudo", async () => {
    assert.equal((await cli("init", "--account", "a=~/a")).code, 0);
    const p = await cli("init", "--print-unit");
    assert.equal(p.code, 0, p.err);
    const u = parseUnit(p.out);
    assert.equal(unitValues(u, "Service", "User")[0], (await import("node:os")).userInfo().username);
    assert.equal(unitValues(u, "Install", "WantedBy")[0], "multi-user.target");
    const dir = join(home, "etc-systemd");
    const inst = await cli("init", "--install", "--unit-dir", dir);
    assert.equal(inst.code, 0, inst.err);
    assert.equal(readFileSync(join(dir, "claude-failover.service"), "utf8"), p.out);
    writeFileSync(join(home, "a-file"), "");
    const denied = await cli("init", "--install", "--unit-dir", join(home, "a-file", "sub"));
    assert.equal(denied.code, 1);
    assert.match(denied.err, /claude-failover init --print-unit \| sudo tee/);
  });
});
