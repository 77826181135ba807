// The daemon as a process on a state database it must not use: one written by a newer version
// (PRAGMA user_version above the last migration) and one that is damaged. Each time it exits 2 (the
// units' RestartPreventExitStatus=2: systemd does not loop), says why, names the file, and leaves it
// as it was.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { openDb } from "../../src/store/db.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness, REPO, type Harness } from "../support/harness.js";

function runDaemon(h: Harness): Promise<{ code: number | null; out: string; ms: number }> {
  h.writeConfig();
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), join(REPO, "src/cli/bin.ts"), "--config", h.configPath, "daemon"],
    {
      env: h.env,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: h.root,
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(kill);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

describe("state database refused", { timeout: 120_000 }, () => {
  let h: Harness;
  let stateDir: string;
  let dbPath: string;
  before(async () => {
    h = await makeHarness({ accounts: 1, binary: STUB_CLAUDE });
    stateDir = String(h.configObject.state_dir);
    dbPath = join(stateDir, "state.db");
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  });
  after(async () => h?.cleanup());

  it("a newer schema (user_version above the last migration): exit 2, a clear message, the file untouched", async () => {
    openDb(stateDir).close();
    const db = new Database(dbPath);
    db.pragma(`user_version = ${MIGRATIONS.length + 3}`);
    db.exec("CREATE TABLE from_the_future (x INTEGER)");
    db.close();
    const r = await runDaemon(h);
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.out,
      new RegExp(
        `schema version ${MIGRATIONS.length + 3}, newer than this claude-failover knows \\(${MIGRATIONS.length}\\)`,
      ),
    );
    assert.ok(r.out.includes(dbPath), "names the file");
    const after = new Database(dbPath, { readonly: true });
    assert.equal(after.pragma("user_version", { simple: true }), MIGRATIONS.length + 3, "not migrated down or touched");
    after.close();
    assert.equal(h.tmux("list-sessions").code === 0, false, "no session was started");
  });

  it("a file that is not a database: exit 2 with its path", async () => {
    writeFileSync(dbPath, Buffer.alloc(8192, 0x5a));
    for (const side of ["-wal", "-shm"]) writeFileSync(dbPath + side, "");
    const r = await runDaemon(h);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /state database .*state\.db is damaged/);
    assert.ok(r.out.includes(dbPath));
    assert.deepEqual(readFileSync(dbPath), Buffer.alloc(8192, 0x5a), "left as it was");
  });

  it("a database with a damaged page (found by quick_check): exit 2 with its path", async () => {
    for (const f of ["", "-wal", "-shm"]) writeFileSync(dbPath + f, "");
    const db = openDb(stateDir);
    const ins = db.prepare("INSERT INTO events (ts, kind, session, account, data) VALUES (?, 'x', NULL, NULL, ?)");
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) ins.run(i, "y".repeat(200));
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    db.close();
    const bytes = readFileSync(dbPath);
    // Scribble over pages in the middle of the file (table and index b-tree pages), keep the header.
    for (let p = 20; p < 30; p++) bytes.fill(0xa5, p * pageSize, p * pageSize + pageSize);
    writeFileSync(dbPath, bytes);
    const r = await runDaemon(h);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /is damaged/);
    assert.ok(r.out.includes(dbPath));
  });
});
