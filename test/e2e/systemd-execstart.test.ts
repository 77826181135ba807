// Where systemd cannot run the unit (containers, CI), this runs what it would: the system unit's
// ExecStart, with the environment its secrets drop-in loads and a NOTIFY_SOCKET, and a fake
// systemd-notify first on PATH that records its argv and what it sees at that moment. Readiness must
// come after /health answers and the session exists, with the daemon's own pid; SIGTERM must leave
// the session running (KillMode=process then keeps it alive under systemd), and the next start adopts it.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SYSTEM_SECRETS_FILE } from "../../src/ops/env-file.js";
import { parseUnit, readTemplate, secretsTemplateFile, splitExecStart, unitValues } from "../../src/ops/unit-file.js";
import { makeHarness, REPO, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

const FAKE_NOTIFY = `#!/usr/bin/env node
// Records argv, the socket, /health and whether the tmux session exists, as seen when called.
const { execFileSync } = require("node:child_process");
const { writeFileSync } = require("node:fs");
(async () => {
  const health = await fetch("http://" + process.env.CF_TEST_LISTEN + "/health").then((r) => r.status, () => 0);
  let session = false;
  try { execFileSync("tmux", ["-L", process.env.CF_TEST_TMUX, "has-session", "-t", "=dev"]); session = true; } catch {}
  writeFileSync(process.env.CF_TEST_NOTIFY_LOG, JSON.stringify({ argv: process.argv.slice(2), socket: process.env.NOTIFY_SOCKET, health, session }));
})();
`;

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

describe("the unit's ExecStart with the secrets env file", { timeout: 180_000 }, () => {
  let h: Harness;
  let child: ChildProcess | null = null;
  let log = "";
  before(async () => {
    h = await makeHarness({ accounts: 1 });
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await h.cleanup();
  });

  it("signals readiness with the daemon's pid once /health answers and the session runs; SIGTERM leaves the session; a restart adopts it", async () => {
    const unit = parseUnit(readTemplate("system"));
    const exec = splitExecStart(unitValues(unit, "Service", "ExecStart")[0]!);
    const envFiles = unitValues(parseUnit(readFileSync(secretsTemplateFile(), "utf8")), "Service", "EnvironmentFile");
    assert.deepEqual(envFiles, [SYSTEM_SECRETS_FILE]);

    // The command the unit names, and the fake systemd-notify, first on PATH.
    const bin = join(h.root, "bin");
    mkdirSync(bin);
    const tsx = import.meta.resolve("tsx");
    writeExecutable(
      join(bin, exec[1]!),
      `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${join(REPO, "src/cli/bin.ts")}" "$@"\n`,
    );
    writeExecutable(join(bin, "systemd-notify"), FAKE_NOTIFY);
    // The secrets file as a secret manager would provide it: the token, and here also the config path.
    const secrets = join(h.root, "secrets.env");
    writeFileSync(
      secrets,
      `# provided at boot\nCLAUDE_FAILOVER_TOKEN="${h.token}"\nCLAUDE_FAILOVER_CONFIG=${h.configPath}\n`,
      { mode: 0o600 },
    );
    const fromFile = Object.fromEntries(
      readFileSync(secrets, "utf8")
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).replace(/^"(.*)"$/, "$1")]),
    );

    const notifyLog = join(h.root, "notify.json");
    const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
    // Roughly what systemd hands a service: a bare environment plus the unit's and the files'.
    const env: NodeJS.ProcessEnv = {
      PATH: [bin, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      HOME: h.root,
      LANG: "C.UTF-8",
      NOTIFY_SOCKET: join(h.root, "notify.sock"),
      INVOCATION_ID: "0123456789abcdef",
      ...fromFile,
      CF_TEST_LISTEN: listen,
      CF_TEST_TMUX: h.socket,
      CF_TEST_NOTIFY_LOG: notifyLog,
    };
    // What systemd does at (re)start: run ExecStart, then wait for READY=1.
    const startService = async () => {
      rmSync(notifyLog, { force: true });
      const proc = spawn(exec[0]!, exec.slice(1), { env, cwd: h.root, stdio: ["ignore", "pipe", "pipe"] });
      child = proc;
      proc.stdout.on("data", (d: Buffer) => (log += d.toString()));
      proc.stderr.on("data", (d: Buffer) => (log += d.toString()));
      const rec = await waitFor(
        () => {
          if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${log}`);
          return existsSync(notifyLog) && readFileSync(notifyLog, "utf8");
        },
        90_000,
        "systemd-notify called",
        100,
      ).then((t) => JSON.parse(t) as { argv: string[]; socket: string; health: number; session: boolean });
      return { proc, rec };
    };
    const stopService = async (proc: ChildProcess) => {
      proc.kill("SIGTERM");
      return waitFor(() => proc.exitCode ?? (proc.signalCode ? -1 : null), 30_000, "daemon exited");
    };
    const panePid = () => h.tmux("display-message", "-p", "-t", "=dev:", "#{pane_pid}").out.trim();

    const { proc, rec } = await startService();
    assert.equal(rec.argv[0], "--ready");
    assert.ok(
      rec.argv.includes(`--pid=${proc.pid}`),
      `MAINPID is the process systemd started: ${JSON.stringify(rec.argv)}`,
    );
    assert.match(
      rec.argv.find((a) => a.startsWith("--status="))!,
      /listening on 127\.0\.0\.1:\d+, 1 session/,
    );
    assert.equal(rec.socket, env.NOTIFY_SOCKET);
    assert.equal(rec.health, 200, "the control plane answered before readiness");
    assert.equal(rec.session, true, "the session was reconciled before readiness");
    const pid = panePid();
    assert.match(pid, /^\d+$/);

    assert.equal(await stopService(proc), 0, log);
    assert.equal(h.tmux("has-session", "-t", "=dev").code, 0, "the session outlives the daemon");

    // `systemctl restart`: the next daemon adopts the session instead of starting a second CLI.
    const again = await startService();
    assert.ok(again.rec.argv.includes(`--pid=${again.proc.pid}`));
    assert.equal(panePid(), pid, "the same CLI process, not a restarted one");
    assert.deepEqual(h.tmux("list-sessions", "-F", "#{session_name}").out.trim().split("\n"), ["dev"]);
    assert.equal(await stopService(again.proc), 0, log);
  });
});
