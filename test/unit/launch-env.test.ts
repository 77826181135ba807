import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LaunchEnvFiles } from "../../src/sessions/launch-env.js";
import { shellEnv } from "../../src/tmux/exec.js";

/** Runs the launcher like a pane does, with an almost empty environment; returns the child's env. */
function launch(l: { launcher: string; envDir: string }): Record<string, string> {
  const r = spawnSync(
    "/bin/sh",
    [l.launcher, l.envDir, process.execPath, "-e", "process.stdout.write(JSON.stringify(process.env))"],
    {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

describe("LaunchEnvFiles and the launcher", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "cf-launchenv-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the CLI gets every value byte for byte; nothing in them is run", () => {
    const files = new LaunchEnvFiles(join(dir, "a"));
    const nasty = `it's "q" $(touch ${dir}/pwned) \`touch ${dir}/pwned2\` $HOME; \\ #(x)\n\n`;
    const env = { NASTY: nasty, EMPTY: "", ANTHROPIC_BASE_URL: "http://127.0.0.1:1/x?a=b&c", UNICODE: "é漢字" };
    const got = launch(files.prepare(env));
    for (const [k, v] of Object.entries(env)) assert.equal(got[k], v, k);
    assert.ok(!existsSync(join(dir, "pwned")) && !existsSync(join(dir, "pwned2")));
  });

  it("root and env dirs are 0700, value files 0600, the launcher 0700", () => {
    const root = join(dir, "b");
    const l = new LaunchEnvFiles(root).prepare({ K: "v" });
    assert.equal(statSync(root).mode & 0o777, 0o700);
    assert.equal(statSync(l.envDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(l.envDir, "K")).mode & 0o777, 0o600);
    assert.equal(statSync(l.launcher).mode & 0o777, 0o700);
  });

  it("same values → same dir; new values → new dir, the one before the previous removed; stale dirs removed at first use", () => {
    const root = join(dir, "c");
    const first = new LaunchEnvFiles(root).prepare({ A: "1" });
    const files = new LaunchEnvFiles(root);
    const a = files.prepare({ A: "1" });
    assert.ok(!existsSync(first.envDir), "a dir of an earlier run is removed");
    assert.equal(files.prepare({ A: "1" }).envDir, a.envDir);
    const b = files.prepare({ A: "2" });
    assert.notEqual(b.envDir, a.envDir);
    assert.ok(existsSync(a.envDir), "the previous dir stays for a launch in flight");
    const c = files.prepare({ A: "3" });
    assert.ok(!existsSync(a.envDir));
    assert.deepEqual(
      readdirSync(root)
        .filter((n) => n.startsWith("env-"))
        .sort(),
      [b.envDir, c.envDir].map((p) => p.split("/").at(-1)).sort(),
    );
    assert.equal(launch(c).A, "3");
  });

  it("a missing env dir stops the launch (exit 126) instead of starting the CLI without its environment", () => {
    const l = new LaunchEnvFiles(join(dir, "d")).prepare({ A: "1" });
    rmSync(l.envDir, { recursive: true });
    const r = spawnSync("/bin/sh", [l.launcher, l.envDir, "true"], { encoding: "utf8" });
    assert.equal(r.status, 126);
    assert.match(r.stderr, /launch environment .* is missing/);
  });

  it("a dir removed under it is written again at the next prepare", () => {
    const files = new LaunchEnvFiles(join(dir, "e"));
    const l = files.prepare({ A: "1" });
    rmSync(l.envDir, { recursive: true });
    const again = files.prepare({ A: "1" });
    assert.equal(launch(again).A, "1");
  });

  it("a symlinked root is refused", () => {
    assert.throws(() => new LaunchEnvFiles("/proc/self/cwd").prepare({}), /symbolic link/);
  });
});

describe("shellEnv (the tmux client's and so the tmux server's environment)", () => {
  it("keeps what a shell needs, drops everything else", () => {
    const got = shellEnv({
      PATH: "/bin",
      HOME: "/h",
      USER: "u",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TERM: "xterm",
      SHELL: "/bin/sh",
      TMPDIR: "/t",
      CLAUDE_FAILOVER_TOKEN: "tok",
      MY_TOKEN: "x",
      NOTIFY_SOCKET: "/run/n",
      ANTHROPIC_API_KEY: "k",
      SSH_AUTH_SOCK: "/s",
      TMUX: "/tmp/t,1,0",
      LC_: "z",
    });
    assert.deepEqual(Object.keys(got).sort(), ["HOME", "LANG", "LC_ALL", "PATH", "SHELL", "TERM", "TMPDIR", "USER"]);
  });
});
