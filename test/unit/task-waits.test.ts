// Tasks waiting on a permission dialog (inbox/task-waits.ts): the pure transitions (nextWait), and the
// dispatcher with a fake session layer whose pane shows a real CLI's dialog (test/fixtures/panes): the task
// shows `waiting` with the question, an answer presses only the digit of that dialog's Yes/No option, a task
// not waiting is refused with no key pressed, the timeout still ends a waiting task.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import { Dispatcher } from "../../src/inbox/dispatcher.js";
import { Pool } from "../../src/pool/pool.js";
import { PoolStore } from "../../src/pool/pool-store.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { taskView } from "../../src/inbox/task-types.js";
import { deniedNote, nextWait, UNSEEN_WAIT_MS, type TaskWait } from "../../src/inbox/task-waits.js";
import { readPermissionDialog } from "../../src/sessions/permission-dialog.js";
import { checkPromptText } from "../../src/claude/prompt-text.js";
import type { PaneKey } from "../../src/tmux/pane.js";
import { migrate } from "../../src/store/db.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { FakeSessionLayer } from "../support/fake-session-layer.js";
import { REPO } from "../support/harness.js";

const T0 = Date.UTC(2026, 10, 30, 23, 0);
const PANE = readFileSync(join(REPO, "test", "fixtures", "panes", "perm-bash-2.1.332.txt"), "utf8");
const WRITE = readFileSync(join(REPO, "test", "fixtures", "panes", "perm-write-2.1.197.txt"), "utf8");
const IDLE = `${"─".repeat(40)}\n❯ \n${"─".repeat(40)}\n`;
const task = { id: "t1", session: "auto-01" };

describe("nextWait (pure)", () => {
  const d = readPermissionDialog(PANE, T0)!;
  const d2 = readPermissionDialog(WRITE, T0)!;
  it("a dialog on the pane starts a wait with its question", () => {
    const r = nextWait(undefined, task, { dialog: d }, T0);
    assert.equal(r.change, "waiting");
    assert.equal(r.wait?.question, d.question);
    assert.equal(r.wait?.paneQuestion, d.question);
  });
  it("the hook starts one with the tool call; its own dialog on the pane then refines it (updated, same since)", () => {
    const tool = "Bash: touch /tmp/pprobe-HBpwPa/proj/out.txt";
    const a = nextWait(undefined, task, { tool }, T0);
    assert.deepEqual([a.change, a.wait?.question, a.wait?.paneQuestion], ["waiting", tool, null]);
    const b = nextWait(a.wait, task, { dialog: d }, T0 + 500);
    assert.deepEqual([b.change, b.wait?.question, b.wait?.tool, b.wait?.since], ["updated", d.question, tool, T0]);
  });
  it("a hook wait meets another call's dialog, or another hook: a new wait (new since), never a refinement", () => {
    const a = nextWait(undefined, task, { tool: "Bash: rm -rf /tmp/other" }, T0);
    const b = nextWait(a.wait, task, { dialog: d }, T0 + 500);
    assert.deepEqual([b.change, b.wait?.since, b.wait?.tool], ["waiting", T0 + 500, null]);
    const c = nextWait(a.wait, task, { tool: "Bash: ls" }, T0 + 700);
    assert.deepEqual([c.change, c.wait?.since, c.wait?.tool], ["waiting", T0 + 700, "Bash: ls"]);
    assert.equal(
      nextWait(a.wait, task, { tool: "Bash: rm -rf /tmp/other" }, T0 + 800).change,
      null,
      "the same hook again",
    );
  });
  it("two dialogs whose commands share a 500-character prefix are two dialogs", () => {
    const long = "x".repeat(600);
    const one = readPermissionDialog(
      PANE.replaceAll("touch /tmp/pprobe-HBpwPa/proj/out.txt\n", `echo ${long}1\n`),
      T0,
    )!;
    const two = readPermissionDialog(
      PANE.replaceAll("touch /tmp/pprobe-HBpwPa/proj/out.txt\n", `echo ${long}2\n`),
      T0,
    )!;
    assert.equal(one.question, two.question, "the clipped questions are equal");
    assert.notEqual(one.key, two.key);
    const w = nextWait(undefined, task, { dialog: one }, T0).wait!;
    assert.equal(nextWait(w, task, { dialog: two }, T0 + 100).change, "waiting");
  });
  it("the same dialog again changes nothing; another dialog is a new wait", () => {
    const w = nextWait(undefined, task, { dialog: d }, T0).wait!;
    assert.equal(nextWait(w, task, { dialog: d }, T0 + 1000).change, null);
    const n = nextWait(w, task, { dialog: d2 }, T0 + 2000);
    assert.deepEqual([n.change, n.wait?.question, n.wait?.since], ["waiting", d2.question, T0 + 2000]);
  });
  it("no dialog ends a wait the pane had shown; a hook-only wait only after UNSEEN_WAIT_MS", () => {
    const seen = nextWait(undefined, task, { dialog: d }, T0).wait!;
    assert.deepEqual(
      [nextWait(seen, task, { dialog: null }, T0 + 10).change, nextWait(seen, task, { dialog: null }, T0 + 10).wait],
      ["resumed", undefined],
    );
    const hook: TaskWait = nextWait(undefined, task, { tool: "Write: /p" }, T0).wait!;
    assert.equal(nextWait(hook, task, { dialog: null }, T0 + UNSEEN_WAIT_MS - 1).change, null);
    assert.equal(nextWait(hook, task, { dialog: null }, T0 + UNSEEN_WAIT_MS).change, "resumed");
    assert.equal(nextWait(undefined, task, { dialog: null }, T0).change, null);
  });
  it("the note after a no is one line of plain text the input module takes", () => {
    const n = deniedNote("Bash command: rm x\u001b[2J\n\tthen   more — Do you want to proceed?");
    assert.equal(
      n,
      "The operator answered no to the permission request (Bash command: rm x [2J then more — Do you want to proceed?). Do not retry that call; finish the task without it and say what was left undone.",
    );
    assert.equal(checkPromptText(n).ok, true);
  });
  it("the view shows a running task with a wait as waiting, with the question; others unchanged", () => {
    const row = { state: "running", prompt: "p" } as Parameters<typeof taskView>[0];
    assert.deepEqual(
      [
        taskView(row, { question: "q", tool: null, since: 1 }).state,
        taskView(row, { question: "q", tool: null, since: 1 }).waiting?.question,
      ],
      ["waiting", "q"],
    );
    assert.deepEqual([taskView(row).state, taskView(row).waiting], ["running", null]);
    assert.equal(taskView({ ...row, state: "done" }, { question: "q", tool: null, since: 1 }).state, "done");
  });
});

describe("dispatcher: a task waiting on a permission dialog", () => {
  let dir: string;
  let db: Database.Database;
  let tasks: TaskStore;
  let layer: FakeSessionLayer;
  let clock: ManualClock;
  let d: Dispatcher;
  let pane: string;
  /** digits the fake CLI drops before it takes one (a key not taken, seen once on 2.1.332) */
  let drop = 0;
  const keys: string[] = [];
  const kinds = (id: string) => layer.events.filter((e) => e.data.id === id).map((e) => e.kind);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cf-waits-"));
    db = new Database(":memory:");
    migrate(db);
    tasks = new TaskStore(db);
    clock = new ManualClock(T0);
    layer = new FakeSessionLayer(clock);
    pane = IDLE;
    drop = 0;
    keys.length = 0;
    // The pane: a real CLI's permission dialog while `pane` holds it; a digit closes it.
    layer.pane.capture = async () => pane;
    layer.pane.sendLiteral = async (_n: string, text: string) => {
      keys.push(`literal:${text}`);
      if (/^\d$/.test(text) && drop-- <= 0) pane = IDLE;
    };
    const sendKeys = layer.pane.sendKeys.bind(layer.pane);
    layer.pane.sendKeys = async (n: string, ...k: PaneKey[]) => {
      keys.push(`keys:${k.join(" ")}`);
      if (k[0] === "Escape") pane = IDLE;
      return sendKeys(n, ...k);
    };
    const pool = new Pool(
      { layer, pane: layer.pane, store: new PoolStore(db), clock, log: silentLogger() },
      { prefix: "auto-" },
    );
    d = new Dispatcher(
      { tasks, pool, layer, pane: layer.pane, clock, log: silentLogger() },
      {
        min: 0,
        max: 1,
        idleTimeoutMs: 60_000,
        defaultProject: "/p",
        confirmTimeoutMs: 1000,
        outboxDir: join(dir, "outbox"),
        retry: { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 10_000 },
        tickMs: 1000,
        stallMs: 60_000,
      },
    );
    d.attach();
    tasks.insert(
      { id: "t1", prompt: "write it", project: "/p", priority: 0, account: null, model: null, timeoutMs: 60_000 },
      { source: "api", contentHash: "h", intakeFile: null },
      clock.now(),
    );
    await d.start();
    await clock.advanceUntil(() => tasks.get("t1")!.submittedAt, 5000, "t1 submitted");
  });
  afterEach(async () => {
    await clock.drive(d.stop());
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const openDialog = async () => {
    pane = PANE;
    layer.emit("auto-01", {
      kind: "permission_request",
      tool: "Bash",
      summary: "Bash: touch /tmp/pprobe-HBpwPa/proj/out.txt",
    });
    layer.updateRow("auto-01", { state: "waiting", stateReason: "permission_prompt" });
    return clock.advanceUntil(() => d.waits.get("t1")?.paneQuestion ?? null, 5000, "wait read from the pane");
  };

  it("answer on a task not waiting is refused and no key is pressed", async () => {
    await assert.rejects(
      clock.drive(d.waits.answer("t1", "yes")),
      /task t1 is running, not waiting on a permission dialog: nothing was answered/,
    );
    await assert.rejects(clock.drive(d.waits.answer("nope", "yes")), /no task nope/);
    assert.deepEqual(keys, []);
  });

  it("shows the question; yes presses the digit of the Yes option only; the wait ends, the task runs on and completes on Stop", async () => {
    const q = await openDialog();
    assert.match(q, /^Bash command: .* — Do you want to proceed\?$/);
    assert.deepEqual(
      kinds("t1").filter((k) => k === "task.waiting"),
      ["task.waiting"],
      "one event for the wait",
    );
    const r = await clock.drive(d.waits.answer("t1", "yes"));
    assert.deepEqual([r.answer, r.option], ["yes", "Yes"]);
    assert.deepEqual(keys, ["literal:1"]);
    assert.equal(d.waits.get("t1"), undefined);
    assert.equal(layer.get("auto-01")!.state, "busy");
    assert.ok(kinds("t1").includes("task.answered"));
    layer.emit("auto-01", { kind: "turn_done", message: "done after the tool" });
    await clock.advanceUntil(() => tasks.get("t1")!.state === "done", 5000, "done");
  });

  it("an answer for the wait the caller saw (since) is refused when the task waits on another one now; nothing pressed", async () => {
    await openDialog();
    const w = d.waits.get("t1")!;
    await assert.rejects(
      clock.drive(d.waits.answer("t1", "yes", w.since - 1000)),
      /task t1 waits on another dialog now \(since .*\): nothing was answered; look again/,
    );
    assert.deepEqual(keys, []);
    assert.ok(d.waits.get("t1"), "still waiting");
    const r = await clock.drive(d.waits.answer("t1", "yes", w.since));
    assert.equal(r.answer, "yes");
    assert.deepEqual(keys, ["literal:1"]);
  });

  it("no presses the digit of the No option (4 on 2.1.332, never 3) and tells the model to finish", async () => {
    await openDialog();
    await clock.drive(d.waits.answer("t1", "no"));
    assert.deepEqual(keys, ["literal:4"]);
    assert.ok(
      layer.log.some((l) =>
        l.startsWith("send:auto-01:The operator answered no to the permission request (Bash command: "),
      ),
      layer.log.join("\n"),
    );
    assert.equal(tasks.get("t1")!.state, "running");
  });

  it("a digit not taken is sent again while the same dialog stays open, at most three times", async () => {
    await openDialog();
    drop = 1;
    await clock.drive(d.waits.answer("t1", "yes"));
    assert.deepEqual(keys, ["literal:1", "literal:1"]);
    await openDialog();
    keys.length = 0;
    drop = 5;
    await assert.rejects(clock.drive(d.waits.answer("t1", "yes")), /did not close after 1 \(Yes\)/);
    assert.deepEqual(keys, ["literal:1", "literal:1", "literal:1"]);
  });

  it("a new PermissionRequest after the key (the same call asked again) means the key was taken: nothing more is pressed", async () => {
    await openDialog();
    drop = 5; // the identical dialog stays on screen
    layer.pane.sendLiteral = async (_n: string, text: string) => {
      keys.push(`literal:${text}`);
      clock.after(20, () =>
        layer.emit("auto-01", {
          kind: "permission_request",
          tool: "Bash",
          summary: "Bash: touch /tmp/pprobe-HBpwPa/proj/out.txt",
        }),
      );
    };
    const r = await clock.drive(d.waits.answer("t1", "yes"));
    assert.equal(r.answer, "yes");
    assert.deepEqual(keys, ["literal:1"]);
    assert.equal(layer.get("auto-01")!.state, "waiting", "still waiting: on the new dialog");
    await clock.advanceUntil(() => d.waits.get("t1") ?? null, 5000, "the new dialog is a new wait");
  });

  it("a wait known only from the hook: the answer waits for its dialog to be drawn; none drawn, nothing pressed", async () => {
    layer.emit("auto-01", {
      kind: "permission_request",
      tool: "Bash",
      summary: "Bash: touch /tmp/pprobe-HBpwPa/proj/out.txt",
    });
    await clock.advanceUntil(() => d.waits.get("t1") ?? null, 5000, "hook wait");
    await assert.rejects(
      clock.drive(d.waits.answer("t1", "yes")),
      /no permission dialog is open in session auto-01 now: nothing was answered/,
    );
    assert.deepEqual(keys, []);
    clock.after(300, () => (pane = PANE));
    const r = await clock.drive(d.waits.answer("t1", "yes"));
    assert.equal(r.option, "Yes");
    assert.deepEqual(keys, ["literal:1"]);
  });

  it("a wait known only from the hook is not answered on another call's dialog", async () => {
    layer.emit("auto-01", { kind: "permission_request", tool: "Bash", summary: "Bash: rm -rf /tmp/elsewhere" });
    await clock.advanceUntil(() => d.waits.get("t1") ?? null, 5000, "hook wait");
    pane = PANE; // drawn: the dialog of another call (touch …)
    await assert.rejects(
      clock.drive(d.waits.answer("t1", "yes")),
      /is not the one shown .*nothing was answered; look again/,
    );
    assert.deepEqual(keys, []);
  });

  it("a key resent just as the dialog closed lands in the input box: that lone digit is removed", async () => {
    await openDialog();
    drop = 1;
    // The first key is taken late: the dialog closes after the second is sent, which lands in the box.
    layer.pane.sendLiteral = async (_n: string, text: string) => {
      keys.push(`literal:${text}`);
      if (drop-- > 0) return;
      pane = `${"─".repeat(40)}\n❯ ${text}\n${"─".repeat(40)}\n`;
    };
    const sendKeys = layer.pane.sendKeys.bind(layer.pane);
    layer.pane.sendKeys = async (n: string, ...k: PaneKey[]) => {
      if (k[0] === "BSpace") pane = IDLE;
      return sendKeys(n, ...k); // records the key
    };
    await clock.drive(d.waits.answer("t1", "yes"));
    assert.deepEqual(keys, ["literal:1", "literal:1", "keys:BSpace"]);
  });

  it("a dialog other than the one shown is not answered", async () => {
    await openDialog();
    pane = WRITE; // another dialog took its place before the answer came
    await assert.rejects(clock.drive(d.waits.answer("t1", "yes")), /is not the one shown .*nothing was answered/);
    assert.deepEqual(keys, []);
  });

  it("a dialog closed in the pane (answered there) ends the wait: task.resumed, running again", async () => {
    await openDialog();
    pane = IDLE;
    await clock.advanceUntil(() => (d.waits.get("t1") ? null : true), 5000, "wait ended");
    assert.ok(kinds("t1").includes("task.resumed"));
    await assert.rejects(clock.drive(d.waits.answer("t1", "no")), /not waiting/);
    assert.deepEqual(keys, []);
  });

  it("after a daemon restart the wait is found again from the pane (the session row still says waiting)", async () => {
    await openDialog();
    await clock.drive(d.stop());
    const pool2 = new Pool(
      { layer, pane: layer.pane, store: new PoolStore(db), clock, log: silentLogger() },
      { prefix: "auto-" },
    );
    const d2 = new Dispatcher(
      { tasks, pool: pool2, layer, pane: layer.pane, clock, log: silentLogger() },
      {
        min: 0,
        max: 1,
        idleTimeoutMs: 60_000,
        defaultProject: "/p",
        confirmTimeoutMs: 1000,
        outboxDir: join(dir, "outbox"),
        retry: { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 10_000 },
        tickMs: 1000,
        stallMs: 60_000,
      },
    );
    d2.attach();
    await pool2.adopt();
    await d2.start();
    try {
      const q = await clock.advanceUntil(() => d2.waits.get("t1")?.paneQuestion ?? null, 5000, "wait found again");
      assert.match(q, /Do you want to proceed\?$/);
      assert.equal(tasks.get("t1")!.state, "running");
    } finally {
      await clock.drive(d2.stop());
    }
  });

  it("a waiting task still times out (Escape), and its wait is dropped", async () => {
    await openDialog();
    await clock.advanceAsync(60_000);
    await clock.advanceUntil(() => tasks.get("t1")!.state === "timed_out", 5000, "timed out");
    assert.ok(keys.includes("keys:Escape"));
    await clock.advanceUntil(() => (d.waits.get("t1") ? null : true), 5000, "wait dropped");
  });
});
