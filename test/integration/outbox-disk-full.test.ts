// A task that ends while the outbox's disk is full (issue 16 point 4, chaos disk_full): its result file was
// never written (the result stayed in the task row only, resultPath null, for good). Now the dispatcher
// writes it again every OUTBOX_RETRY_MS until the disk takes it, then records the path (task.result_written).
// The dispatcher with a fake session layer, a real task store (SQLite in memory) and a manual clock, the
// outbox on a real 64 KiB tmpfs filled to the last page (needs root to mount; skipped with the reason elsewhere).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { Dispatcher, OUTBOX_RETRY_MS } from "../../src/inbox/dispatcher.js";
import { Pool } from "../../src/pool/pool.js";
import { PoolStore } from "../../src/pool/pool-store.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { migrate } from "../../src/store/db.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { FakeSessionLayer } from "../support/fake-session-layer.js";
import { TestTmpfs } from "../support/tmpfs.js";

describe("a task result while the outbox's disk is full (tmpfs)", { timeout: 60_000 }, () => {
  let disk: TestTmpfs;
  before(() => {
    disk = TestTmpfs.mount("cf-outboxfull-", "64k");
  });
  after(() => disk.dispose());

  it("is written once the disk takes it, and the task row then names the file", async (t) => {
    if (!disk.dir) return t.skip(disk.skipped!);
    const mnt = disk.dir; // the outbox
    const db = new Database(":memory:");
    migrate(db);
    const tasks = new TaskStore(db);
    const clock = new ManualClock(Date.UTC(2025, 1, 3, 12, 0));
    const layer = new FakeSessionLayer(clock);
    const pool = new Pool(
      { layer, pane: layer.pane, store: new PoolStore(db), clock, log: silentLogger() },
      { prefix: "auto-" },
    );
    const d = new Dispatcher(
      { tasks, pool, layer, pane: layer.pane, clock, log: silentLogger() },
      {
        min: 0,
        max: 1,
        idleTimeoutMs: 60_000,
        defaultProject: "/p",
        confirmTimeoutMs: 1000,
        outboxDir: mnt,
        retry: { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 10_000 },
        tickMs: 10,
        stallMs: 1000,
      },
    );
    d.attach();
    try {
      tasks.insert(
        { id: "t1", prompt: "prompt of t1", project: "/p", priority: 0, account: null, model: null },
        { source: "api", contentHash: "t1", intakeFile: null },
        clock.now(),
      );
      await d.start();
      await clock.advanceUntil(() => layer.log.some((l) => l.startsWith("send:")), 5000, "sent");
      disk.fill();
      const result = `result of t1 ${"z".repeat(6000)}`;
      layer.emit("auto-01", { kind: "turn_done", message: result });
      assert.equal(tasks.get("t1")!.state, "done");
      assert.equal(tasks.get("t1")!.resultPath, null);
      assert.equal(tasks.get("t1")!.result, result, "the result is in the task row");
      assert.deepEqual(readdirSync(mnt), ["filler"], "no file, no temp file");
      await clock.advanceAsync(OUTBOX_RETRY_MS * 2);
      assert.deepEqual(readdirSync(mnt), ["filler"], "still full: nothing written");
      disk.free();
      const path = join(mnt, "t1.md");
      await clock.advanceUntil(() => existsSync(path), OUTBOX_RETRY_MS * 3, "the outbox file written");
      assert.equal(readFileSync(path, "utf8"), `${result}\n`);
      assert.equal(tasks.get("t1")!.resultPath, path);
      assert.deepEqual(
        layer.events.filter((e) => e.kind === "task.result_written").map((e) => e.data),
        [{ id: "t1", resultPath: path }],
      );
    } finally {
      disk.free();
      await clock.drive(d.stop());
      db.close();
    }
  });
});
