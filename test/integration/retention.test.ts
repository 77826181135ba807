// Retention on a real SQLite file and real directories: events, prompts, spool/bad, processed/,
// rejected/ and the outbox pruned to the configured ages and file cap; symlinks removed, never
// followed; directories left alone; and the daemon runs a pass when it starts.
import assert from "node:assert/strict";
import {
  existsSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { openDb } from "../../src/store/db.js";
import { planFilePrune, RetentionService, type RetentionParams } from "../../src/store/retention.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import { makeHarness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 12, 0);

function file(dir: string, name: string, ageMs: number, now = NOW): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), name);
  const t = new Date(now - ageMs);
  utimesSync(join(dir, name), t, t);
}

describe("planFilePrune (pure)", () => {
  const e = (name: string, ageDays: number) => ({ name, mtimeMs: NOW - ageDays * DAY });
  const rows: [string, ReturnType<typeof e>[], number, number, string[]][] = [
    ["nothing old, under the cap", [e("a", 1), e("b", 2)], 7, 10, []],
    ["older than the age", [e("a", 1), e("b", 8)], 7, 10, ["b"]],
    ["the oldest beyond the cap", [e("a", 1), e("b", 3), e("c", 2)], 7, 2, ["b"]],
    ["age and cap together", [e("a", 1), e("b", 9), e("c", 2), e("d", 3)], 7, 2, ["b", "d"]],
    ["dot-files only by age", [e(".tmp1", 1), e(".tmp2", 8), e("a", 1)], 7, 1, [".tmp2"]],
    ["exactly at the age is kept", [{ name: "a", mtimeMs: NOW - 7 * DAY }], 7, 10, []],
  ];
  for (const [name, entries, days, max, want] of rows)
    it(name, () => assert.deepEqual(planFilePrune(entries, NOW, days * DAY, max).sort(), want.sort()));
});

describe("retention config", () => {
  const parse = (extra: string) =>
    parseConfig(`accounts:\n  - name: a\n    home: /tmp/a\n${extra}`, "c.yaml", { env: {}, home: "/home/u" });
  it("prompts shorter than a week is refused: the weekly soft cap counts the last 7 days", () => {
    const r = parse("retention:\n  prompts: 3d\n");
    assert.equal(r.ok, false);
    assert.match(JSON.stringify(!r.ok && r.issues), /retention.prompts.*at least 7d/);
    const ok = parse("retention:\n  prompts: 7d\n  events: 1d\n");
    assert.ok(ok.ok && ok.config.retention.prompts === 7 * DAY && ok.config.retention.events === DAY);
  });
});

describe("RetentionService on real files", () => {
  let root: string;
  let store: Store;
  const clock = new ManualClock(NOW);
  const params: RetentionParams = {
    events: 30 * DAY,
    events_max_rows: 1000,
    prompts: 8 * DAY,
    spool_bad: 7 * DAY,
    inbox_done: 30 * DAY,
    outbox: 30 * DAY,
    max_files: 5,
  };
  let dirs: { spoolBad: string; processed: string; rejected: string; outbox: string };

  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-retention-"));
    store = new Store(openDb(join(root, "state")));
    dirs = {
      spoolBad: join(root, "state/spool/bad"),
      processed: join(root, "inbox/processed"),
      rejected: join(root, "inbox/rejected"),
      outbox: join(root, "outbox"),
    };
  });
  after(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("prunes rows and files to the configured bounds, and records what it did", () => {
    const ins = store.db.prepare(
      "INSERT INTO events (ts, kind, session, account, data) VALUES (?, 'k', NULL, NULL, '{}')",
    );
    store.db.transaction(() => {
      for (let i = 0; i < 200; i++) ins.run(NOW - 40 * DAY + i); // old
      for (let i = 0; i < 1500; i++) ins.run(NOW - DAY + i); // recent, but over the row cap
    })();
    for (let i = 0; i < 10; i++) store.recordPrompt(NOW - 9 * DAY + i, "s", "a");
    for (let i = 0; i < 10; i++) store.recordPrompt(NOW - 6 * DAY + i, "s", "a");
    file(dirs.spoolBad, "old.json", 8 * DAY);
    file(dirs.spoolBad, "new.json", DAY);
    for (let i = 0; i < 8; i++) file(dirs.processed, `t${i}.md`, i * DAY); // 8 young files, cap 5
    file(dirs.rejected, "bad.md", 31 * DAY);
    file(dirs.rejected, "bad.md.reason", 31 * DAY);
    file(dirs.rejected, "fresh.md", DAY);
    file(dirs.outbox, "result-old.md", 40 * DAY);
    file(dirs.outbox, "result-new.md", DAY);
    // A symlink in the outbox (old): the link goes, what it points to stays. A directory is left alone.
    const target = join(root, "precious.txt");
    writeFileSync(target, "keep me");
    symlinkSync(target, join(dirs.outbox, "link.md"));
    const lt = new Date(NOW - 40 * DAY);
    lutimesSync(join(dirs.outbox, "link.md"), lt, lt); // the link's own time, not its target's
    mkdirSync(join(dirs.outbox, "a-dir"));
    utimesSync(join(dirs.outbox, "a-dir"), lt, lt);

    const svc = new RetentionService({ store, clock, log: silentLogger() }, { dirs, params });
    const r = svc.runOnce();

    assert.equal(
      (store.db.prepare("SELECT COUNT(*) AS n FROM events WHERE kind = 'k'").get() as { n: number }).n,
      1000,
      "capped at events_max_rows",
    );
    assert.equal(
      (store.db.prepare("SELECT MIN(ts) AS t FROM events WHERE kind = 'k'").get() as { t: number }).t,
      NOW - DAY + 500,
      "the newest kept",
    );
    assert.equal(store.countPrompts("a", 0), 10, "prompts older than 8d gone, the last week kept");
    assert.deepEqual(readdirSync(dirs.spoolBad), ["new.json"]);
    assert.deepEqual(readdirSync(dirs.processed).sort(), ["t0.md", "t1.md", "t2.md", "t3.md", "t4.md"]);
    assert.deepEqual(readdirSync(dirs.rejected), ["fresh.md"]);
    assert.deepEqual(readdirSync(dirs.outbox).sort(), ["a-dir", "result-new.md"]);
    assert.ok(existsSync(target), "a symlink's target is never touched");
    assert.deepEqual(r, {
      events: 700,
      prompts: 10,
      spoolApplied: 0,
      spoolBad: 1,
      processed: 3,
      rejected: 2,
      outbox: 2,
    });
    const ev = store.tailEvents(1, { kindPrefix: "retention." })[0];
    assert.equal(ev?.kind, "retention.pruned");
    assert.deepEqual(ev?.data, { ...r });
    // A second pass finds nothing more (the event it wrote is young), and a missing dir is no error.
    rmSync(dirs.spoolBad, { recursive: true });
    assert.deepEqual(svc.runOnce(), {
      events: 1,
      prompts: 0,
      spoolApplied: 0,
      spoolBad: 0,
      processed: 0,
      rejected: 0,
      outbox: 0,
    });
  });
});

describe("the daemon prunes when it starts", { timeout: 60_000 }, () => {
  it("an old bad spool file and an old event are gone once the daemon is up", async () => {
    const h = await makeHarness({
      accounts: 1,
      binary: STUB_CLAUDE,
      config: { retention: { spool_bad: "1d", events: "10d" } },
    });
    try {
      const stateDir = String(h.configObject.state_dir);
      file(join(stateDir, "spool", "bad"), "stale.json", 2 * DAY, Date.now());
      file(join(stateDir, "spool", "bad"), "recent.json", 0, Date.now());
      const pre = new Store(openDb(stateDir));
      pre.appendEvent(Date.now() - 11 * DAY, "ancient", null, null, {});
      pre.close();
      const d = await h.start();
      await waitFor(
        () => d.store.tailEvents(50, { kindPrefix: "retention.pruned" }).length > 0,
        10_000,
        "pruned at start",
      );
      assert.deepEqual(readdirSync(join(stateDir, "spool", "bad")), ["recent.json"]);
      assert.equal(d.store.tailEvents(1000, { kindPrefix: "ancient" }).length, 0);
    } finally {
      await h.cleanup();
    }
  });
});
