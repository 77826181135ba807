// Issue 14, points 1 and 2, against the compiled-from-source daemon as a child process (its own
// environment holds the bearer token), a real tmux server it starts itself, and the stub CLI:
// - a dedicated session whose project directory is named with `#(touch <tmp>/fmt)` runs in exactly that
//   directory and nothing is run by tmux;
// - the tmux server's global environment holds neither the token nor NOTIFY_SOCKET;
// - a claude.env value reaches the CLI, but is in no process's argv and not in #{pane_start_command}.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";

const SECRET = `cf-secret-${process.pid}-d41d8cd98f00b204`;

function allCmdlines(): { pid: string; argv: string }[] {
  const out: { pid: string; argv: string }[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      out.push({ pid, argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {
      /* exited */
    }
  }
  return out;
}

describe("daemon-started tmux: no secrets in tmux or argv, no formats expanded", { timeout: 120_000 }, () => {
  let h: Harness;
  let project: string;
  let cliPid: number;
  before(async () => {
    h = await makeHarness({
      binary: STUB_CLAUDE,
      config: { claude: { env: { STUB_CLAUDE_OFFLINE_DELAY_MS: "50", CF_TEST_SECRET: SECRET } } },
    });
    project = join(h.root, "projects", `#(touch ${h.root}/fmt)`, "x;");
    mkdirSync(project, { recursive: true });
    h.configObject.dedicated = [{ name: "dev", project }];
    h.env.NOTIFY_SOCKET = join(h.root, "no-such-notify-socket");
    await h.spawnDaemon();
    cliPid = await waitFor(
      () => {
        const r = h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_dead} #{pane_pid}");
        const [dead, pid] = r.out.trim().split(" ");
        return r.code === 0 && dead === "0" && pid ? Number(pid) : null;
      },
      30_000,
      "dev pane running",
    );
    // The launcher has exec'd the CLI once its argv names the stub.
    await waitFor(() => readFileSync(`/proc/${cliPid}/cmdline`, "utf8").includes("stub-claude"), 15_000, "CLI exec'd");
  });
  after(async () => h.cleanup());

  it("the session runs in the exact project directory and #( in its name was never run", () => {
    assert.equal(readlinkSync(`/proc/${cliPid}/cwd`), realpathSync(project));
    assert.equal(existsSync(join(h.root, "fmt")), false);
  });

  it("tmux show-environment -g holds neither the bearer token nor NOTIFY_SOCKET", () => {
    const r = h.tmux("show-environment", "-g");
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes(h.token), "bearer token in the tmux global environment");
    assert.ok(!/^CLAUDE_FAILOVER_TOKEN=/m.test(r.out));
    assert.ok(!/^NOTIFY_SOCKET=/m.test(r.out));
    assert.ok(!r.out.includes(SECRET));
    assert.match(r.out, /^PATH=/m, "a shell's variables are still there");
  });

  it("the claude.env value reaches the CLI but no argv and no pane start command", () => {
    const environ = readFileSync(`/proc/${cliPid}/environ`, "utf8").split("\0");
    assert.ok(environ.includes(`CF_TEST_SECRET=${SECRET}`), "the CLI got the value");
    assert.ok(!environ.some((e) => e.startsWith("CLAUDE_FAILOVER_TOKEN=")), "the CLI got the bearer token");
    const leaks = allCmdlines().filter((c) => c.argv.includes(SECRET) || c.argv.includes(h.token));
    assert.deepEqual(leaks, []);
    const start = h.tmux("display-message", "-p", "-t", "=dev:", "#{pane_start_command}");
    assert.equal(start.code, 0, start.err);
    assert.ok(start.out.includes("launch.sh"), start.out);
    assert.ok(!start.out.includes(SECRET));
  });
});
