// Readiness: a no-op outside systemd, the exact systemd-notify argv inside, never an exception.
// The last test sends through the real systemd-notify to a datagram socket bound by python3 (Node
// cannot bind one), and is skipped where either is missing.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { notifyReady, readyArgs, type NotifyExec } from "../../src/ops/sd-notify.js";
import { silentLogger } from "../../src/util/log.js";
import { waitFor } from "../support/wait.js";

const log = silentLogger();
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

describe("sd-notify readiness", () => {
  it("does nothing when NOTIFY_SOCKET is unset", async () => {
    let called = false;
    const exec: NotifyExec = async () => void (called = true);
    const r = await notifyReady({}, 123, "ready", log, exec);
    assert.deepEqual(r.sent, false);
    assert.equal(called, false);
  });

  it("runs systemd-notify --ready --pid=<daemon> --status=... with NOTIFY_SOCKET passed through", async () => {
    const calls: { file: string; args: string[]; sock: string | undefined }[] = [];
    const exec: NotifyExec = async (file, args, env) => void calls.push({ file, args, sock: env.NOTIFY_SOCKET });
    const r = await notifyReady(
      { NOTIFY_SOCKET: "/run/x.sock" },
      4242,
      "listening on 127.0.0.1:7777,\n2 session(s)",
      log,
      exec,
    );
    assert.deepEqual(r, { sent: true });
    assert.deepEqual(calls, [
      {
        file: "systemd-notify",
        args: ["--ready", "--pid=4242", "--status=listening on 127.0.0.1:7777, 2 session(s)"],
        sock: "/run/x.sock",
      },
    ]);
  });

  it("reports a failing systemd-notify as a value, not an exception", async () => {
    const exec: NotifyExec = async () => {
      throw new Error("spawn systemd-notify ENOENT");
    };
    const r = await notifyReady({ NOTIFY_SOCKET: "@x" }, 1, "s", log, exec);
    assert.equal(r.sent, false);
    assert.equal(!r.sent && r.reason, "failed");
  });

  const realSkip =
    has("systemd-notify") && has("python3")
      ? false
      : "needs systemd-notify and python3 (to bind a unix datagram socket)";
  it(
    "the real systemd-notify delivers READY=1 and MAINPID on a datagram socket",
    { skip: realSkip, timeout: 20_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "cf-notify-"));
      const sock = join(dir, "notify.sock");
      // Keeps receiving: systemd-notify follows READY=1 with a BARRIER=1 datagram and waits for it.
      const py =
        "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\n" +
        "s.settimeout(15)\nwhile True: print(repr(s.recv(4096)),flush=True)\n";
      const rx = spawn("python3", ["-c", py, sock], { stdio: ["ignore", "pipe", "inherit"] });
      let got = "";
      rx.stdout.on("data", (d: Buffer) => (got += d.toString()));
      try {
        await waitFor(() => got.includes("bound"), 10_000, "receiver bound");
        const r = await notifyReady({ ...process.env, NOTIFY_SOCKET: sock }, 31337, "up", log);
        assert.deepEqual(r, { sent: true });
        await waitFor(() => got.includes("READY=1"), 10_000, "datagram received");
        assert.match(got, /MAINPID=31337/);
        assert.match(got, /STATUS=up/);
        assert.deepEqual(readyArgs(31337, "up"), ["--ready", "--pid=31337", "--status=up"]);
      } finally {
        rx.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
