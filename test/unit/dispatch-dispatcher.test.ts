// The dispatcher with a fake session layer, a real task store (SQLite in memory) and a manual clock: its
// ticks, the session resets and every wait run on the clock, with no real sleep.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dispatcher, type DispatchSettings } from "../../src/inbox/dispatcher.js";
import { NOT_CONFIRMED } from "../../src/sessions/cli-input.js";
import { Pool } from "../../src/pool/pool.js";
import { PoolStore } from "../../src/pool/pool-store.js";
import { TaskStore } from "../../src/inbox/task-store.js";
import { migrate } from "../../src/store/db.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { FakeSessionLayer, sessionRow } from "../support/fake-session-layer.js";

const T0 = Date.UTC(2025, 1, 3, 12, 0);

describe("dispatcher", () => {
  let dir: string;
  let db: Database.Database;
  let tasks: TaskStore;
  let layer: FakeSessionLayer;
  let clock: ManualClock;
  let pool: Pool;
  let d: Dispatcher;
  const settings = (): DispatchSettings => ({
    min: 0,
    max: 1,
    idleTimeoutMs: 60_000,
    defaultProject: "/p",
    confirmTimeoutMs: 1000,
    outboxDir: join(dir, "outbox"),
    retry: { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 10_000 },
    tickMs: 10,
    stallMs: 1000,
  });
  const add = (id: string, priority = 0) =>
    tasks.insert(
      { id, prompt: `prompt of ${id}`, project: "/p", priority, account: null, model: null },
      { source: "api", contentHash: id, intakeFile: null },
      clock.now(),
    );
  const sends = () => layer.log.filter((l) => l.startsWith("send:"));
  const kinds = (id: string) => layer.events.filter((e) => e.data.id === id).map((e) => e.kind);

  /** A task whose send gives up waiting for its UserPromptSubmit (NOT_CONFIRMED), started and seen as task.unconfirmed. */
  const startUnconfirmed = async (id: string) => {
    layer.sendOk = false;
    layer.sendFailReason = NOT_CONFIRMED;
    layer.autoSubmit = false;
    add(id);
    await d.start();
    await clock.advanceUntil(() => kinds(id).includes("task.unconfirmed"), 5000, "unconfirmed");
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-dispatch-"));
    db = new Database(":memory:");
    migrate(db);
    tasks = new TaskStore(db);
    clock = new ManualClock(T0);
    layer = new FakeSessionLayer(clock);
    pool = new Pool(
      { layer, pane: layer.pane, store: new PoolStore(db), clock, log: silentLogger() },
      { prefix: "auto-" },
    );
    d = new Dispatcher({ tasks, pool, layer, pane: layer.pane, clock, log: silentLogger() }, settings());
    d.attach();
  });
  afterEach(async () => {
    await clock.drive(d.stop());
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("times a task out: timed_out past its limit, its turn interrupted (Escape), the session reset for the next", async () => {
    tasks.insert(
      { id: "slow", prompt: "prompt of slow", project: "/p", priority: 5, account: null, model: null, timeoutMs: 5000 },
      { source: "api", contentHash: "slow", intakeFile: null },
      clock.now(),
    );
    add("next");
    await d.start();
    await clock.advanceUntil(() => tasks.get("slow")!.submittedAt, 5000, "slow submitted");
    await clock.advanceAsync(4000);
    assert.equal(tasks.get("slow")!.state, "running", "not before its limit");
    await clock.advanceAsync(1000);
    const t = await clock.advanceUntil(
      () => (tasks.get("slow")!.state === "timed_out" ? tasks.get("slow")! : null),
      5000,
      "timed out",
    );
    assert.match(t.error ?? "", /timed out after 5s/);
    await clock.advanceUntil(() => sends().length === 2, 5000, "next sent");
    assert.deepEqual(
      layer.log.filter((l) => !l.startsWith("start:")),
      ["send:auto-01:prompt of slow", "escape:auto-01", "clear:auto-01", "send:auto-01:prompt of next"],
    );
    assert.ok(kinds("slow").includes("task.timed_out"));
  });

  it("the pool default task_timeout applies to a task without its own; cancel ends a queued task at once", async () => {
    d.configure({ taskTimeoutMs: 60_000, max: 1 });
    add("run");
    add("wait");
    await d.start();
    await clock.advanceUntil(() => tasks.get("run")!.submittedAt, 5000, "run submitted");
    const q = await d.interrupt("wait", "cancelled", "by test");
    assert.equal(q?.state, "cancelled");
    assert.equal(q?.startedAt, null);
    assert.equal(await d.interrupt("wait", "cancelled", "again"), null, "an ended task is not cancelled twice");
    assert.equal(await d.interrupt("wait", "timed_out", "queued"), null, "only a running task times out");
    assert.ok(!layer.log.includes("escape:auto-01"), "a queued cancel touches no session");
    clock.advance(59_000); // its ticks fire at once (one dispatch tick runs, the others fold into it)
    await clock.advanceUntil(() => tasks.get("run")!.state === "timed_out", 5000, "pool default applied");
    assert.ok(layer.log.includes("escape:auto-01"));
  });

  it("cancel of a running task interrupts its turn and marks it cancelled; a late Stop changes nothing", async () => {
    add("run");
    await d.start();
    await clock.advanceUntil(() => tasks.get("run")!.submittedAt, 5000, "run submitted");
    const t = await d.interrupt("run", "cancelled", "cancelled by the operator while running");
    assert.equal(t?.state, "cancelled");
    assert.ok(layer.log.includes("escape:auto-01"));
    assert.equal(layer.get("auto-01")!.state, "idle", "the interrupted session is idle again");
    layer.emit("auto-01", { kind: "turn_done", message: "late" });
    assert.equal(tasks.get("run")!.state, "cancelled");
    await clock.advanceUntil(() => layer.log.includes("clear:auto-01"), 5000, "reset after the cancel");
  });

  it("runs tasks by priority then age, one session, resetting it between tasks, results in the outbox", async () => {
    add("lo", 0);
    add("hi", 5);
    add("hi-later", 5);
    await d.start();
    for (const [i, id] of ["hi", "hi-later", "lo"].entries()) {
      await clock.advanceUntil(() => sends().length === i + 1, 5000, `send ${i + 1}`);
      assert.equal(sends()[i], `send:auto-01:prompt of ${id}`);
      assert.ok(tasks.get(id)!.submittedAt, "submitted on UserPromptSubmit");
      layer.emit("auto-01", { kind: "turn_done", message: `result of ${id}` });
      assert.equal(tasks.get(id)!.state, "done");
      assert.equal(readFileSync(join(dir, "outbox", `${id}.md`), "utf8"), `result of ${id}\n`);
    }
    assert.deepEqual(
      layer.log.filter((l) => !l.startsWith("send:")),
      ["start:auto-01", "clear:auto-01", "clear:auto-01"],
    );
    assert.deepEqual(
      layer.log.slice(1, 4).map((l) => l.split(":")[0]),
      ["send", "clear", "send"],
      "reset before the next task",
    );
    assert.deepEqual(kinds("hi"), ["task.dispatched", "task.submitted", "task.done"]);
  });

  it("retries a transient failure with doubling backoff, then fails after max attempts", async () => {
    add("t");
    await d.start();
    await clock.advanceUntil(() => sends().length === 1, 5000, "first send");
    const failed1 = clock.now();
    layer.emit("auto-01", { kind: "turn_failed", error: "server_error", message: "500", prompt: "prompt of t" });
    let t = tasks.get("t")!;
    assert.equal(t.state, "queued");
    assert.equal(t.notBefore, failed1 + 1000);
    await clock.advanceUntil(() => pool.views(new Set()).some((v) => v.clean), 5000, "session reset");
    assert.equal(sends().length, 1, "not before the backoff");
    const sent2 = await clock.advanceUntil(() => sends().length === 2 && clock.now(), 5000, "second send");
    assert.ok(sent2 >= failed1 + 1000 && sent2 < failed1 + 1100, `second send at +${sent2 - failed1} ms`);
    const failed2 = clock.now();
    layer.emit("auto-01", { kind: "turn_failed", error: "overloaded", message: null, prompt: null });
    assert.equal(tasks.get("t")!.notBefore, failed2 + 2000, "backoff doubled");
    const sent3 = await clock.advanceUntil(() => sends().length === 3 && clock.now(), 5000, "third send");
    assert.ok(sent3 >= failed2 + 2000 && sent3 < failed2 + 2100, `third send at +${sent3 - failed2} ms`);
    layer.emit("auto-01", { kind: "turn_failed", error: "unknown", message: null, prompt: null });
    t = tasks.get("t")!;
    assert.equal(t.state, "failed");
    assert.equal(t.attempts, 3);
    assert.match(t.error!, /unknown \(gave up after 3 attempts\)/);
    assert.deepEqual(
      kinds("t").filter((k) => k !== "task.dispatched" && k !== "task.submitted"),
      ["task.retry", "task.retry", "task.failed"],
    );
  });

  it("fails at once on an error that is not transient", async () => {
    add("t");
    await d.start();
    await clock.advanceUntil(() => sends().length === 1, 5000, "send");
    layer.emit("auto-01", {
      kind: "turn_failed",
      error: "invalid_request",
      message: "prompt is too long",
      prompt: null,
    });
    const t = tasks.get("t")!;
    assert.equal(t.state, "failed");
    assert.equal(t.error, "invalid_request: prompt is too long");
  });

  it("leaves a rate-limited task running for the swap, and ends it once however often the Stop is replayed", async () => {
    add("t");
    await d.start();
    await clock.advanceUntil(() => sends().length === 1, 5000, "send");
    layer.emit("auto-01", {
      kind: "turn_failed",
      error: "rate_limit",
      message: "You've hit your session limit",
      prompt: "prompt of t",
    });
    assert.equal(tasks.get("t")!.state, "running");
    layer.emit("auto-01", { kind: "prompt_submitted", prompt: "prompt of t", account: "b" }); // the swap's resend
    layer.emit("auto-01", { kind: "turn_done", message: "answered on b" });
    layer.emit("auto-01", { kind: "turn_done", message: "a replayed Stop" });
    const t = tasks.get("t")!;
    assert.equal(t.state, "done");
    assert.equal(t.result, "answered on b");
    assert.equal(t.attempts, 1);
    assert.deepEqual(kinds("t"), ["task.dispatched", "task.submitted", "task.rate_limited", "task.done"]);
    assert.equal(sends().length, 1, "never resent by the dispatcher");
  });

  it("fails at once a task whose prompt the CLI can't take as text (a /word start)", async () => {
    layer.sendOk = false;
    layer.autoSubmit = false;
    tasks.insert(
      { id: "slash", prompt: "/logout now", project: "/p", priority: 0, account: null, model: null },
      { source: "api", contentHash: "slash", intakeFile: null },
      clock.now(),
    );
    await d.start();
    await clock.advanceUntil(() => tasks.get("slash")!.state === "failed", 5000, "failed");
    assert.match(tasks.get("slash")!.error!, /prompt not sendable: prompt starts with \/logout/);
    assert.equal(tasks.get("slash")!.attempts, 1);
  });

  it("queues a task again (with backoff) when its prompt is not taken", async () => {
    layer.sendOk = false;
    layer.autoSubmit = false;
    add("t");
    await d.start();
    await clock.advanceUntil(
      () => tasks.get("t")!.state === "queued" && tasks.get("t")!.attempts === 1,
      5000,
      "requeued",
    );
    const t = tasks.get("t")!;
    assert.equal(t.notBefore, T0 + 1000);
    assert.match(t.error!, /prompt not taken/);
  });

  it("a send that gave up waiting for its hook keeps the task on its session: a late UserPromptSubmit counts, nothing is sent twice", async () => {
    await startUnconfirmed("t");
    await clock.advanceAsync(60_000);
    assert.equal(tasks.get("t")!.state, "running", "still waiting for the late hook");
    layer.emit("auto-01", { kind: "prompt_submitted", prompt: "prompt of t", account: "a" });
    layer.emit("auto-01", { kind: "turn_done", message: "answered" });
    await clock.advanceUntil(() => tasks.get("t")!.state === "done", 5000, "done");
    assert.equal(sends().length, 1);
  });

  it("a send that threw mid-way (tmux killed) waits for a late hook: the prompt had gone in, the task is not run twice", async () => {
    layer.sendThrows = "tmux capture-pane failed: no server running on /tmp/tmux-0/x";
    layer.autoSubmit = false;
    add("t");
    await d.start();
    await clock.advanceUntil(() => kinds("t").includes("task.unconfirmed"), 5000, "unsure send");
    assert.equal(tasks.get("t")!.state, "running", "not queued again at once");
    layer.sendThrows = null;
    await clock.advanceAsync(200);
    layer.emit("auto-01", { kind: "prompt_submitted", prompt: "prompt of t", account: "a" });
    layer.emit("auto-01", { kind: "turn_done", message: "answered" });
    await clock.advanceUntil(() => tasks.get("t")!.state === "done", 5000, "done");
    assert.equal(sends().length, 1, "sent once");
  });

  it("a send that gave up waiting for its hook is retried once the grace is over and no hook came", async () => {
    await startUnconfirmed("t");
    clock.advance(109_000); // its ticks fire at once (one dispatch tick runs, the others fold into it)
    await clock.advanceAsync(1000);
    assert.equal(tasks.get("t")!.state, "running", "not before the grace");
    await clock.advanceUntil(() => tasks.get("t")!.state === "queued", 20_000, "requeued after the grace");
    assert.match(tasks.get("t")!.error!, /no UserPromptSubmit within/);
  });

  it("re-queues a submitted task whose turn was lost (CLI restarted, session idle without an answer)", async () => {
    add("t");
    await d.start();
    await clock.advanceUntil(() => sends().length === 1, 5000, "send");
    layer.emit("auto-01", { kind: "session_start", source: "resume", claudeSessionId: "id" });
    await clock.advanceUntil(() => tasks.get("t")!.state === "queued", 5000, "re-queued after stallMs");
    assert.match(tasks.get("t")!.error!, /turn lost/);
  });

  it("on start, settles running tasks: re-queues the unsent, completes the answered, waits for the rest", async () => {
    const transcript = join(dir, "t.jsonl");
    writeFileSync(
      transcript,
      `${JSON.stringify({ type: "user", message: { content: "x" } })}\n${JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: "from the transcript" }] } })}\n`,
    );
    for (const n of ["auto-01", "auto-02", "auto-03"])
      new PoolStore(db).put({ name: n, project: "/p", model: null, clean: false }, clock.now());
    for (const [id, s] of [
      ["unsent", "auto-01"],
      ["answered", "auto-02"],
      ["pending", "auto-03"],
    ] as const) {
      add(id);
      tasks.start(id, s, "a", clock.now());
    }
    tasks.submitted("pending", clock.now(), "a", clock.now());
    const at = clock.now() + 5;
    layer.rows.set("auto-01", sessionRow("auto-01", { lastPrompt: "an older prompt", lastPromptAt: at - 10_000 }));
    layer.rows.set(
      "auto-02",
      sessionRow("auto-02", {
        lastPrompt: "prompt of answered",
        lastPromptAt: at,
        lastPromptAnswered: true,
        transcriptPath: transcript,
      }),
    );
    layer.rows.set(
      "auto-03",
      sessionRow("auto-03", {
        lastPrompt: "prompt of pending",
        lastPromptAt: at,
        lastPromptAnswered: false,
        state: "busy",
      }),
    );
    d.configure({ max: 0 });
    await pool.adopt();
    await d.start();
    assert.equal(tasks.get("unsent")!.state, "queued");
    assert.equal(tasks.get("answered")!.state, "done");
    assert.equal(tasks.get("answered")!.result, "from the transcript");
    assert.equal(tasks.get("pending")!.state, "running");
    assert.deepEqual(kinds("unsent"), ["task.requeued"]);
    assert.deepEqual(kinds("pending"), ["task.awaiting_stop"]);
  });
});
