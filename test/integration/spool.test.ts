import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { type HookEvent, parseSpoolName } from "../../src/sessions/hook-event.js";
import { HOOK_EVENTS, HOOK_SCRIPT, writeHookFiles } from "../../src/sessions/hook-script.js";
import { Spool } from "../../src/sessions/spool.js";
import { silentLogger } from "../../src/util/log.js";
import { waitFor } from "../support/wait.js";
import { stateLayout } from "../../src/config/paths.js";

const NS0 = 1_738_584_000_000_000_000n;

let root: string;
let serial = 0;
const freshDir = (label: string) => join(root, `${label}-${++serial}`);

/** Writes one event the way the hook does: a dot-temp file, then a rename into place. */
function spoolEvent(
  dir: string,
  ns: bigint,
  pid: number,
  event: string,
  payload: unknown,
  session = "s1",
  account = "acct-a",
): string {
  const name = `${ns}.${pid}.${session}.${account}.${event}.json`;
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, typeof payload === "string" ? payload : JSON.stringify(payload));
  renameSync(tmp, join(dir, name));
  return name;
}

const spoolFiles = (dir: string) => readdirSync(dir).filter((f) => f !== "bad" && !f.startsWith("."));

describe("Spool with a real directory", () => {
  let spool: Spool | null = null;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-spool-it-"));
  });
  afterEach(async () => {
    await spool?.stop();
    spool = null;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("events written before start are applied on start, in timestamp order, then deleted", async () => {
    const dir = freshDir("pre");
    mkdirSync(dir, { recursive: true });
    // Written out of order; the same ns twice to exercise the pid tiebreak.
    spoolEvent(dir, NS0 + 3_000_000n, 10, "Stop", { n: 4 });
    spoolEvent(dir, NS0 + 1_000_000n, 900, "UserPromptSubmit", { n: 2 });
    spoolEvent(dir, NS0, 5, "SessionStart", { n: 1 });
    spoolEvent(dir, NS0 + 1_000_000n, 1000, "Notification", { n: 3 });
    const seen: HookEvent[] = [];
    spool = new Spool({ handle: (ev) => void seen.push(ev), log: silentLogger() }, { dir });
    await spool.start();
    assert.deepEqual(
      seen.map((e) => e.payload.n),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      seen.map((e) => e.event),
      ["SessionStart", "UserPromptSubmit", "Notification", "Stop"],
    );
    assert.equal(seen[0]!.session, "s1");
    assert.equal(seen[0]!.account, "acct-a");
    assert.equal(seen[0]!.ts, Number(NS0 / 1_000_000n));
    assert.deepEqual(spoolFiles(dir), []);
    assert.equal(spool.applied, 4);
    assert.ok(statSync(join(dir, "bad")).isDirectory());
  });

  it("events arriving later are applied in order and deleted", async () => {
    const dir = freshDir("live");
    const seen: number[] = [];
    spool = new Spool(
      {
        handle: async (ev) => {
          await new Promise((r) => setImmediate(r)); // an async handler must still be awaited in order
          seen.push(ev.payload.n as number);
        },
        log: silentLogger(),
      },
      { dir },
    );
    await spool.start();
    assert.deepEqual(seen, []);
    for (let i = 1; i <= 20; i++) spoolEvent(dir, NS0 + BigInt(i) * 1_000_000n, 100 + i, "Stop", { n: i });
    await waitFor(() => seen.length === 20, 10_000, "20 live events applied");
    assert.deepEqual(
      seen,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await waitFor(() => spoolFiles(dir).length === 0, 5_000, "applied files deleted");
  });

  it("junk names and non-JSON payloads go to bad/ without stopping the others", async () => {
    const dir = freshDir("junk");
    mkdirSync(dir, { recursive: true });
    spoolEvent(dir, NS0, 1, "SessionStart", { n: 1 });
    writeFileSync(join(dir, "garbage.txt"), "hello");
    spoolEvent(dir, NS0 + 1n, 1, "Stop", "{ not json");
    spoolEvent(dir, NS0 + 2n, 1, "Stop", "[1,2,3]");
    spoolEvent(dir, NS0 + 3n, 1, "Stop", { n: 2 });
    mkdirSync(join(dir, "a-subdir")); // not a regular file: moved aside too
    const seen: number[] = [];
    spool = new Spool({ handle: (ev) => void seen.push(ev.payload.n as number), log: silentLogger() }, { dir });
    await spool.start();
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(
      readdirSync(join(dir, "bad")).sort(),
      [`${NS0 + 1n}.1.s1.acct-a.Stop.json`, `${NS0 + 2n}.1.s1.acct-a.Stop.json`, "a-subdir", "garbage.txt"].sort(),
    );
    assert.equal(readFileSync(join(dir, "bad", "garbage.txt"), "utf8"), "hello");
    assert.equal(spool.rejected, 4);
    assert.deepEqual(spoolFiles(dir), []);

    // Junk arriving while running is handled the same way, and later events still flow.
    writeFileSync(join(dir, "later-junk"), "x");
    spoolEvent(dir, NS0 + 10n, 1, "Stop", { n: 3 });
    await waitFor(() => seen.length === 3, 10_000, "event after live junk");
    await waitFor(() => existsSync(join(dir, "bad", "later-junk")), 5_000, "live junk moved to bad/");
  });

  it("a handler that throws doesn't stop the drain; the failed event is not retried forever", async () => {
    const dir = freshDir("throw");
    mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= 4; i++) spoolEvent(dir, NS0 + BigInt(i), 1, "Stop", { n: i });
    const seen: number[] = [];
    spool = new Spool(
      {
        handle: async (ev) => {
          seen.push(ev.payload.n as number);
          if (ev.payload.n === 2) throw new Error("boom");
          if (ev.payload.n === 3) await Promise.reject(new Error("async boom"));
        },
        log: silentLogger(),
      },
      { dir },
    );
    await spool.start();
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.deepEqual(spoolFiles(dir), []);
    spoolEvent(dir, NS0 + 100n, 1, "Stop", { n: 5 });
    await waitFor(() => seen.includes(5), 10_000, "event after a throwing handler");
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });

  it("temp files being written are not picked up", async () => {
    const dir = freshDir("tmp");
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${NS0}.1.s1.acct-a.Stop.json.tmp`);
    writeFileSync(tmp, '{"n":');
    const seen: HookEvent[] = [];
    spool = new Spool({ handle: (ev) => void seen.push(ev), log: silentLogger() }, { dir });
    await spool.start();
    await spool.drain();
    assert.deepEqual(seen, []);
    assert.ok(existsSync(tmp), "a half-written temp file is neither applied nor rejected");
    assert.deepEqual(readdirSync(join(dir, "bad")), []);
  });

  it("events spooled by the real hook script reach a running spool", async () => {
    const state = freshDir("state-live");
    const dir = join(state, "spool");
    const { script } = writeHookFiles(stateLayout(state).hookFiles);
    const seen: HookEvent[] = [];
    spool = new Spool({ handle: (ev) => void seen.push(ev), log: silentLogger() }, { dir });
    await spool.start();
    const r = spawnSync("sh", [script, "UserPromptSubmit"], {
      input: JSON.stringify({ prompt: "hello" }),
      env: {
        PATH: process.env.PATH,
        CLAUDE_FAILOVER_SPOOL: dir,
        CLAUDE_FAILOVER_SESSION: "work",
        CLAUDE_FAILOVER_ACCOUNT: "acct-b",
      },
    });
    assert.equal(r.status, 0);
    await waitFor(() => seen.length === 1, 10_000, "hook event applied");
    assert.equal(seen[0]!.event, "UserPromptSubmit");
    assert.equal(seen[0]!.session, "work");
    assert.equal(seen[0]!.account, "acct-b");
    assert.deepEqual(seen[0]!.payload, { prompt: "hello" });
    assert.ok(Math.abs(seen[0]!.ts - Date.now()) < 60_000, "the name carries the real time in ns");
  });
});

describe("hook script", () => {
  let state: string;
  let files: { script: string; settings: string };
  before(() => {
    // A state dir whose path needs quoting in the settings' command line.
    state = join(mkdtempSync(join(tmpdir(), "cf-hook-it-")), "it's a $(dir)");
    files = writeHookFiles(stateLayout(state).hookFiles);
  });
  after(() => rmSync(join(state, ".."), { recursive: true, force: true }));

  const run = (cmd: string[], input: string, env: Record<string, string>) =>
    spawnSync(cmd[0]!, cmd.slice(1), { input, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });

  it("writes exactly one well-named file with the payload byte-identical, printing nothing", () => {
    const spool = join(state, "spool-a");
    mkdirSync(spool);
    const payload = `{"session_id":"abc","prompt":"multi\\nline 'q' \\"dq\\" $(x) é 漢","hook_event_name":"UserPromptSubmit"}\n`;
    const r = run(["sh", files.script, "UserPromptSubmit"], payload, {
      CLAUDE_FAILOVER_SPOOL: spool,
      CLAUDE_FAILOVER_SESSION: "work-1",
      CLAUDE_FAILOVER_ACCOUNT: "acct_b",
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.length, 0);
    assert.equal(r.stderr.length, 0);
    const out = readdirSync(spool);
    assert.equal(out.length, 1, out.join(","));
    const meta = parseSpoolName(out[0]!);
    assert.ok(meta, `well-formed name: ${out[0]}`);
    assert.equal(meta.session, "work-1");
    assert.equal(meta.account, "acct_b");
    assert.equal(meta.event, "UserPromptSubmit");
    assert.equal(meta.order[1], r.pid, "the pid in the name is the hook's own");
    assert.deepEqual(readFileSync(join(spool, out[0]!)), Buffer.from(payload, "utf8"));
  });

  it("runs through the exact command line in the settings file (quoted path)", () => {
    const spool = join(state, "spool-b");
    mkdirSync(spool);
    const settings = JSON.parse(readFileSync(files.settings, "utf8")) as {
      hooks: Record<string, { hooks: { type: string; command: string; timeout: number }[] }[]>;
    };
    const cmd = settings.hooks.Stop![0]!.hooks[0]!.command;
    const r = run(["sh", "-c", cmd], '{"a":1}', {
      CLAUDE_FAILOVER_SPOOL: spool,
      CLAUDE_FAILOVER_SESSION: "s",
      CLAUDE_FAILOVER_ACCOUNT: "a",
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const out = readdirSync(spool);
    assert.equal(out.length, 1);
    assert.equal(parseSpoolName(out[0]!)?.event, "Stop");
    assert.equal(readFileSync(join(spool, out[0]!), "utf8"), '{"a":1}');
  });

  it("with CLAUDE_FAILOVER_SPOOL unset it exits 0, prints nothing and writes nothing", () => {
    const before = readdirSync(state).sort();
    const r = run(["sh", files.script, "Stop"], '{"a":1}', {
      CLAUDE_FAILOVER_SESSION: "s",
      CLAUDE_FAILOVER_ACCOUNT: "a",
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.length, 0);
    assert.deepEqual(readdirSync(state).sort(), before);
  });

  it("a missing spool dir still exits 0 and leaves no temp file behind", () => {
    const r = run(["sh", files.script, "Stop"], '{"a":1}', {
      CLAUDE_FAILOVER_SPOOL: join(state, "no-such-dir"),
      CLAUDE_FAILOVER_SESSION: "s",
      CLAUDE_FAILOVER_ACCOUNT: "a",
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.length, 0);
    assert.equal(existsSync(join(state, "no-such-dir")), false);
  });

  it("the settings list every HOOK_EVENTS entry with the script and the event name; script is executable", () => {
    const settings = JSON.parse(readFileSync(files.settings, "utf8")) as {
      hooks: Record<string, { hooks: { type: string; command: string }[] }[]>;
    };
    assert.deepEqual(Object.keys(settings.hooks).sort(), [...HOOK_EVENTS].sort());
    for (const ev of HOOK_EVENTS) {
      const h = settings.hooks[ev]![0]!.hooks[0]!;
      assert.equal(h.type, "command");
      assert.ok(h.command.endsWith(` ${ev}`), h.command);
      assert.ok(h.command.startsWith("'"), "the script path is single-quoted");
    }
    assert.equal(readFileSync(files.script, "utf8"), HOOK_SCRIPT);
    assert.equal(statSync(files.script).mode & 0o700, 0o700);
    assert.equal(statSync(files.settings).mode & 0o777, 0o600);
  });
});
