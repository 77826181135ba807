// Issue 14, point 4, with the whole daemon (in-process, so a blocked event loop also blocks /health), the
// stub CLI, real tmux and real files:
// - a FIFO, a symlink to /dev/zero and a 100 MB file in the spool, named like hook events: /health keeps
//   answering within a second, they go to spool/bad/ with a reason, and the real hook events of a task run
//   around them are applied (the task completes, which needs its UserPromptSubmit and Stop);
// - task files with an alias bomb, a NUL byte, nesting deep enough to crash the YAML parser, and a symlink
//   to an account's credentials file: each rejected with a reason; a good task dropped after them is done.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  ftruncateSync,
} from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Daemon } from "../../src/daemon.js";
import { createLogger } from "../../src/util/log.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles, taskText } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";

const BOMB = [
  "---",
  "a: &a [x, x, x, x, x, x, x, x, x, x]",
  ...["b", "c", "d", "e", "f", "g", "h"].map(
    (k, i) => `${k}: &${k} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(", ")}]`,
  ),
  "---",
  "bomb",
  "",
].join("\n");

describe("hostile spool and inbox entries", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let logs = "";
  let spool: string;
  let inbox: string;
  let worstHealthMs = 0;
  let probing = true;
  let prober: Promise<void>;

  before(async () => {
    h = await makeHarness({
      binary: STUB_CLAUDE,
      dedicated: [],
      config: {
        claude: { env: { STUB_CLAUDE_OFFLINE_DELAY_MS: "50" } },
        pool: { max: 1, min: 0 },
        inbox: { stable_time: "200ms" },
      },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => ((logs += chunk.toString()), cb()) });
    d = await Daemon.start({
      config: h.loadConfig(),
      env: h.env,
      log: createLogger("warn", sink),
      realHome: h.root,
      sweepMs: 300,
    });
    spool = join(h.root, "state", "spool");
    inbox = join(h.root, "state", "inbox");
    const listen = String((h.configObject.mcp_http as Record<string, unknown>).listen);
    prober = (async () => {
      while (probing) {
        const t0 = Date.now();
        const r = await fetch(`http://${listen}/health`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
        worstHealthMs = Math.max(worstHealthMs, r?.status === 200 ? Date.now() - t0 : 5000);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
  });
  after(async () => {
    probing = false;
    await prober;
    await d?.stop();
    await h.cleanup();
  });

  it("spool: FIFO, /dev/zero symlink, 100 MB file → bad/ with reasons; the task's own hook events still applied; /health within 1 s", async () => {
    const ns = BigInt(Date.now()) * 1_000_000n;
    const name = (i: number, ev: string) => `${ns + BigInt(i)}.${1000 + i}.auto-01.a.${ev}.json`;
    execFileSync("mkfifo", [join(spool, name(1, "Stop"))]);
    symlinkSync("/dev/zero", join(spool, name(2, "Notification")));
    const big = openSync(join(spool, name(3, "UserPromptSubmit")), "w");
    ftruncateSync(big, 100 * 1024 * 1024);
    closeSync(big);
    dropFiles(inbox, [{ name: "first.md", prompt: "first task around the hostile spool" }]);
    const t = await waitFor(
      () => d.inbox.tasks.inState("done").find((x) => x.prompt.includes("first task")),
      60_000,
      "first task done",
      100,
    );
    assert.ok(t.result?.includes("ANSWER"), t.result ?? "");
    await waitFor(() => readdirSync(join(spool, "bad")).length === 3, 10_000, "three files in bad/");
    assert.deepEqual(
      readdirSync(join(spool, "bad")).sort(),
      [name(1, "Stop"), name(2, "Notification"), name(3, "UserPromptSubmit")].sort(),
    );
    assert.ok(lstatSync(join(spool, "bad", name(2, "Notification"))).isSymbolicLink(), "the link itself was moved");
    assert.match(logs, /not a regular file: FIFO/);
    assert.match(logs, /not a regular file: symbolic link/);
    assert.match(logs, /too large: 104857600 bytes/);
    assert.ok(worstHealthMs < 1000, `/health took ${worstHealthMs} ms`);
  });

  it("inbox: alias bomb, NUL byte, deep nesting, symlink to credentials → rejected with reasons; a good task after them is done", async (t) => {
    const creds = join(h.root, "homes", "a", ".claude", ".credentials.json");
    const staging = join(h.root, "state", "staging2");
    execFileSync("mkdir", ["-p", staging]);
    writeFileSync(join(staging, "bomb.md"), BOMB);
    writeFileSync(
      join(staging, "nul.md"),
      Buffer.concat([Buffer.from("---\npriority: 1\n---\nhello"), Buffer.from([0]), Buffer.from("world\n")]),
    );
    writeFileSync(join(staging, "deep.md"), `---\nproject: ${"[".repeat(7_000)}${"]".repeat(7_000)}\n---\nx\n`);
    for (const n of ["bomb.md", "nul.md", "deep.md"]) execFileSync("mv", [join(staging, n), join(inbox, n)]);
    symlinkSync(creds, join(inbox, "creds.md"));
    // A good one after them, and one with CRLF line ends.
    dropFiles(inbox, [{ name: "zz-good.md", prompt: "the good task after the bad ones" }]);
    writeFileSync(
      join(staging, "zz-crlf.md"),
      taskText({ prompt: "crlf task", front: { priority: 5 } }).replace(/\n/g, "\r\n"),
    );
    execFileSync("mv", [join(staging, "zz-crlf.md"), join(inbox, "zz-crlf.md")]);

    const reason = (n: string) =>
      waitFor(
        () =>
          existsSync(join(inbox, "rejected", `${n}.reason`)) &&
          readFileSync(join(inbox, "rejected", `${n}.reason`), "utf8"),
        20_000,
        `${n} rejected`,
      );
    assert.match(await reason("bomb.md"), /YAML aliases/);
    assert.match(await reason("nul.md"), /binary file: NUL byte at offset 25/);
    assert.match(await reason("deep.md"), /nested deeper than 16 levels/);
    assert.match(await reason("creds.md"), /not a regular file: symbolic link/);
    assert.ok(lstatSync(join(inbox, "rejected", "creds.md")).isSymbolicLink(), "moved as a link, never followed");
    assert.equal(lstatSync(join(inbox, "rejected", "creds.md.reason")).mode & 0o777, 0o600);
    const done = await waitFor(
      () => {
        const ts = d.inbox.tasks.inState("done");
        return ts.some((x) => x.prompt === "the good task after the bad ones") &&
          ts.some((x) => x.prompt === "crlf task")
          ? ts
          : null;
      },
      90_000,
      "good tasks done",
      200,
    );
    const all = [
      ...done,
      ...d.inbox.tasks.inState("queued"),
      ...d.inbox.tasks.inState("running"),
      ...d.inbox.tasks.inState("failed"),
    ];
    assert.ok(!all.some((x) => x.prompt.includes("accessToken")), "the credentials file was read as a task");
    assert.equal(existsSync(creds), true);
    for (const x of done) {
      const out = join(h.root, "state", "outbox", `${x.id}.md`);
      assert.equal(lstatSync(out).mode & 0o777, 0o600);
    }
    assert.equal(lstatSync(join(h.root, "state", "outbox")).mode & 0o777, 0o700);
    assert.ok(worstHealthMs < 1000, `/health took ${worstHealthMs} ms`);
    t.diagnostic(`slowest /health answer during both tests: ${worstHealthMs} ms`);
  });
});
