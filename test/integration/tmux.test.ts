import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { realExec } from "../../src/tmux/exec.js";
import { OWNER_OPTION, type PaneInfo, Tmux } from "../../src/tmux/tmux.js";
import { waitFor } from "../support/wait.js";

// A tiny program that records every byte it receives, raw, and asks for bracketed paste like the CLI does.
// "READY" is printed after the mode switch: once tmux shows it, tmux has also seen the mode switch.
const RECORDER = `
const fs = require("node:fs");
const out = process.argv[2];
fs.writeFileSync(out, "");
process.stdin.setRawMode(true);
process.stdin.on("data", (d) => fs.appendFileSync(out, d));
process.stdout.write("\\x1b[?2004h" + "READY\\n");
`;

const SOCKET = `cf-it-${process.pid}-${randomBytes(4).toString("hex")}`;
const exec = realExec();
const tmux = new Tmux(exec, SOCKET);
let dir: string;
let recorder: string;

async function pane(name: string): Promise<PaneInfo | undefined> {
  return (await tmux.listPanes()).find((p) => p.session === name);
}

/** Starts a recorder in a new session and waits until it is reading raw input. */
async function startRecorder(name: string): Promise<string> {
  const out = join(dir, `${name}.bytes`);
  await tmux.newSession(name, { cwd: dir, argv: [process.execPath, recorder, out] }, { cols: 100, rows: 30 });
  await waitFor(async () => (await tmux.capture(name)).includes("READY"), 10_000, `${name} recorder ready`);
  return out;
}

const received = (out: string) => (existsSync(out) ? readFileSync(out) : Buffer.alloc(0));

describe("Tmux against a real tmux server", () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-tmux-it-"));
    recorder = join(dir, "recorder.cjs");
    writeFileSync(recorder, RECORDER);
  });

  after(async () => {
    // tmux leaves its socket file behind after kill-server.
    const sock = (await exec(["-L", SOCKET, "display-message", "-p", "#{socket_path}"])).stdout.trim();
    await tmux.killServer();
    if (sock.endsWith(SOCKET)) rmSync(sock, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("sendLiteral delivers shell-special text byte for byte", async () => {
    const out = await startRecorder("lit");
    const text = `it's "q" $(rm -rf /) \`id\`; echo $HOME & | > < \\ # ~ * ? -l -- Enter C-c é 漢字`;
    await tmux.sendLiteral("lit", text);
    const want = Buffer.from(text, "utf8");
    const got = await waitFor(
      () => (received(out).length >= want.length ? received(out) : null),
      10_000,
      "literal bytes",
    );
    assert.equal(got.toString("utf8"), text);
    assert.deepEqual(got, want);
  });

  it("paste delivers a 10 KB multi-line text inside bracketed-paste markers, LF kept as LF", async () => {
    const out = await startRecorder("paste");
    const lines: string[] = [];
    for (let i = 0; lines.join("\n").length < 10_240; i++) lines.push(`${i}: $(echo hi) \`x\` 'a' "b"; \\t\ttab end`);
    const text = `${lines.join("\n")}\n`;
    await tmux.paste("paste", text);
    const START = "\x1b[200~";
    const END = "\x1b[201~";
    const got = await waitFor(
      () => {
        const s = received(out).toString("utf8");
        return s.includes(END) ? s : null;
      },
      10_000,
      "bracketed paste end",
    );
    assert.ok(got.startsWith(START), `starts with ${JSON.stringify(got.slice(0, 10))}`);
    assert.ok(got.endsWith(END));
    const inner = got.slice(START.length, got.length - END.length);
    assert.equal(inner.length, text.length);
    assert.equal(inner, text);
    // -d: the unique buffer is gone afterwards.
    const buffers = await exec(["-L", SOCKET, "list-buffers", "-F", "#{buffer_name}"]);
    assert.ok(!buffers.stdout.includes("cf-"), buffers.stdout);
  });

  it("listPanes shows the owner option for our sessions only", async () => {
    await tmux.newSession("owned", { cwd: dir, argv: ["sh", "-c", "exec cat"] });
    const r = await exec(["-L", SOCKET, "new-session", "-d", "-s", "foreign", "--", "sh", "-c", "exec cat"]);
    assert.equal(r.code, 0, r.stderr);
    const panes = await tmux.listPanes();
    const owned = panes.find((p) => p.session === "owned");
    const foreign = panes.find((p) => p.session === "foreign");
    assert.ok(owned && foreign);
    assert.equal(owned.owned, true);
    assert.equal(foreign.owned, false);
    assert.equal(owned.dead, false);
    assert.ok(owned.pid && owned.pid > 0);
    assert.match(owned.paneId, /^%\d+$/);
    const opt = await exec(["-L", SOCKET, "show-options", "-v", "-t", "=owned:", OWNER_OPTION]);
    assert.equal(opt.stdout.trim(), "1");
  });

  it("a program that exits leaves a dead pane with its status; respawn keeps the pane id", async () => {
    await tmux.newSession("dies", { cwd: dir, argv: ["sh", "-c", "read x; exit 7"] });
    const before = await pane("dies");
    assert.ok(before && !before.dead);
    await tmux.sendKeys("dies", "Enter");
    // tmux marks the pane dead when the pty closes and fills in the status once it has reaped the child.
    // tmux built with libutempter can lose that SIGCHLD (utempter's own handler is installed while it
    // removes the utmp record of the closing pane: tmux/tmux#311), leaving the pane dead with no status
    // until the next SIGCHLD; nudge our private server's reaper as a user's next pane exit would.
    const serverPid = Number((await exec(["-L", SOCKET, "display-message", "-p", "#{pid}"])).stdout.trim());
    const dead = await waitFor(
      async () => {
        const p = await pane("dies");
        if (p?.dead && p.deadStatus === null && serverPid > 0) process.kill(serverPid, "SIGCHLD");
        return p?.dead && p.deadStatus !== null ? p : null;
      },
      10_000,
      "pane dead with its exit status",
    );
    assert.equal(dead.deadStatus, 7);
    assert.equal(dead.paneId, before.paneId);
    assert.equal(await tmux.hasSession("dies"), true, "remain-on-exit keeps the session");

    const out = join(dir, "respawned.bytes");
    await tmux.respawn("dies", { cwd: dir, argv: [process.execPath, recorder, out] });
    await waitFor(async () => (await tmux.capture("dies")).includes("READY"), 10_000, "respawned recorder");
    const after = await pane("dies");
    assert.ok(after);
    assert.equal(after.paneId, before.paneId);
    assert.equal(after.dead, false);
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.owned, true);
  });

  it("respawn -k replaces a live program too, same pane", async () => {
    await tmux.newSession("live", { cwd: dir, argv: ["sh", "-c", "exec cat"] });
    const before = await pane("live");
    await tmux.respawn("live", { cwd: dir, argv: ["sh", "-c", "exec cat"] });
    const after = await waitFor(
      async () => {
        const p = await pane("live");
        return p && p.pid !== before?.pid ? p : null;
      },
      10_000,
      "new pid",
    );
    assert.equal(after.paneId, before?.paneId);
  });

  it("targets never prefix-match: `a` does not hit session `ab`", async () => {
    const out = await startRecorder("ab");
    assert.equal(await tmux.hasSession("ab"), true);
    assert.equal(await tmux.hasSession("a"), false);
    await assert.rejects(tmux.sendLiteral("a", "should not arrive"));
    await assert.rejects(tmux.capture("a"));
    await assert.rejects(tmux.paste("a", "nor this"));
    await tmux.killSession("a");
    assert.equal(await tmux.hasSession("ab"), true, "killSession(a) left ab alone");
    // Proof the pane is live and only got what was meant for it.
    await tmux.sendLiteral("ab", "ok");
    await waitFor(() => received(out).toString() === "ok", 10_000, "ab got only its own text");
    const buffers = await exec(["-L", SOCKET, "list-buffers", "-F", "#{buffer_name}"]);
    assert.ok(!buffers.stdout.includes("cf-"), "a failed paste deletes its buffer");
  });

  it("newSession refuses a duplicate name; killSession removes exactly one session", async () => {
    await tmux.newSession("dup", { cwd: dir, argv: ["sh", "-c", "exec cat"] });
    await assert.rejects(tmux.newSession("dup", { cwd: dir, argv: ["sh", "-c", "exec cat"] }), /duplicate/);
    assert.equal(await tmux.hasSession("dup"), true, "the failed duplicate did not kill the original");
    await tmux.killSession("dup");
    assert.equal(await tmux.hasSession("dup"), false);
    assert.equal(await tmux.hasSession("owned"), true);
  });
});
