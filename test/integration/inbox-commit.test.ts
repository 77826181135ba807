// Intake on a real SQLite file and a real directory: commit before move, and what a crash between the
// two leaves behind. Also the task store's exactly-once transitions.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Intake } from "../../src/inbox/intake.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { openDb, type Db } from "../../src/store/db.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { dropFiles, taskText } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";

describe("intake commit and move", () => {
  let root: string;
  let inbox: string;
  let db: Db;
  let tasks: TaskStore;
  let intake: Intake;
  let events: { kind: string; data: Record<string, unknown> }[];

  const newIntake = () =>
    new Intake(
      {
        tasks,
        clock: systemClock,
        log: silentLogger(),
        validation: () => ({ defaultProject: root, accounts: ["a"], projectExists: (p) => existsSync(p) }),
        event: (kind, data) => events.push({ kind, data }),
        queued: () => {},
      },
      { dir: inbox, maxBytes: 10_000, stableMs: 300 },
    );

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cf-intake-"));
    inbox = join(root, "inbox");
    mkdirSync(inbox);
    db = openDb(join(root, "state"));
    tasks = new TaskStore(db);
    events = [];
    intake = newIntake();
  });
  afterEach(async () => {
    await intake.stop();
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a file whose task was committed before a crash is only moved, not queued twice", async () => {
    const text = taskText({ prompt: "crash window", front: { priority: 3 } });
    const hash = createHash("sha256").update(text).digest("hex");
    // What the daemon left: the row committed, the file still in the inbox.
    tasks.insert(
      { id: "t1", prompt: "crash window", project: root, priority: 3, account: null, model: null },
      { source: "file:w.md", contentHash: hash, intakeFile: "w.md" },
      Date.now(),
    );
    dropFiles(inbox, [{ name: "w.md", prompt: "crash window", front: { priority: 3 } }]);
    await intake.start();
    await waitFor(() => existsSync(join(inbox, "processed", "w.md")), 5000, "moved");
    assert.equal(tasks.list().length, 1, "no second task");
    assert.equal(tasks.get("t1")!.intakeFile, null);
    assert.deepEqual(
      events.map((e) => e.kind),
      ["task.intake_resumed"],
    );
  });

  it("a committed row whose file did leave the inbox is settled at start", async () => {
    tasks.insert(
      { id: "t2", prompt: "moved", project: root, priority: 0, account: null, model: null },
      { source: "file:gone.md", contentHash: "h", intakeFile: "gone.md" },
      Date.now(),
    );
    await intake.start();
    assert.equal(tasks.get("t2")!.intakeFile, null);
  });

  it("the same content dropped again later is a new task (a daily job's file), kept apart in processed/", async () => {
    await intake.start();
    dropFiles(inbox, [{ name: "daily.md", prompt: "daily report" }]);
    await waitFor(() => tasks.list().length === 1, 5000, "first");
    dropFiles(inbox, [{ name: "daily.md", prompt: "daily report" }]);
    await waitFor(() => tasks.list().length === 2, 5000, "second");
    assert.deepEqual(readdirSync(join(inbox, "processed")).sort(), ["daily-2.md", "daily.md"]);
  });

  it("files written while the daemon is down are picked up at start, oldest first", async () => {
    dropFiles(inbox, [
      { name: "b.md", prompt: "b" },
      { name: "a.md", prompt: "a" },
    ]);
    writeFileSync(join(inbox, ".hidden.md.tmp"), "not yet");
    await intake.start();
    await waitFor(() => tasks.list().length === 2, 5000, "both");
    assert.deepEqual(
      tasks.ready(Date.now()).map((t) => t.prompt),
      ["a", "b"],
      "same mtime: by name",
    );
    assert.ok(existsSync(join(inbox, ".hidden.md.tmp")), "temporary files are left alone");
  });

  it("ends a task exactly once: every transition is conditional on the state it leaves", () => {
    const t = tasks.insert(
      { id: "x", prompt: "p", project: root, priority: 0, account: null, model: null },
      { source: "api", contentHash: "h", intakeFile: null },
      1,
    );
    assert.equal(tasks.done(t.id, "r", null, 2), false, "queued cannot be done");
    assert.equal(tasks.start(t.id, "s", "a", 2), true);
    assert.equal(tasks.start(t.id, "s2", "a", 2), false, "not taken twice");
    assert.equal(tasks.done(t.id, "r", null, 3), true);
    assert.equal(tasks.done(t.id, "r2", null, 4), false);
    assert.equal(tasks.fail(t.id, "late", 4), false);
    assert.equal(tasks.requeue(t.id, null, null, 4), false);
    assert.equal(tasks.get(t.id)!.result, "r");
  });
});
