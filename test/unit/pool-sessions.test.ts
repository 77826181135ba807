// The pool's session handling with a fake session layer: names, reuse, reset, adoption.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import { Pool } from "../../src/pool/pool.js";
import { PoolStore } from "../../src/pool/pool-store.js";
import { migrate } from "../../src/store/db.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { FakeSessionLayer, sessionRow } from "../support/fake-session-layer.js";

describe("pool sessions", () => {
  let store: PoolStore;
  let layer: FakeSessionLayer;
  let clock: ManualClock;
  let pool: Pool;
  let trusted: string[];
  beforeEach(() => {
    const db = new Database(":memory:");
    migrate(db);
    store = new PoolStore(db);
    clock = new ManualClock(Date.UTC(2025, 1, 3));
    layer = new FakeSessionLayer(clock);
    layer.now = () => clock.now();
    trusted = [];
    pool = new Pool(
      { layer, pane: layer.pane, store, clock, log: silentLogger(), trust: (p) => trusted.push(p) },
      { prefix: "auto-" },
    );
  });

  it("names sessions prefix + two-digit serial, autonomous, with the task's model and preferred account", async () => {
    assert.equal(await pool.start({ project: "/p", model: null, account: null }), "auto-01");
    assert.equal(await pool.start({ project: "/q", model: "opus", account: "b" }), "auto-02");
    assert.deepEqual(layer.specs.get("auto-02"), {
      name: "auto-02",
      kind: "autonomous",
      project: "/q",
      account: "b",
      args: ["--model", "opus"],
    });
    assert.deepEqual(
      store.list().map((s) => [s.name, s.project, s.model, s.clean]),
      [
        ["auto-01", "/p", null, true],
        ["auto-02", "/q", "opus", true],
      ],
    );
    assert.deepEqual(trusted, ["/p", "/q"], "the project is trusted before the CLI starts there");
  });

  it("does not reuse a name stopped moments ago; later it does, with a fresh conversation", async () => {
    await pool.start({ project: "/p", model: null, account: null });
    await pool.start({ project: "/p", model: null, account: null });
    layer.updateRow("auto-01", { lastPrompt: "old task", claudeSessionId: "old-conversation" });
    await pool.stop("auto-01", "idle");
    assert.equal(layer.rows.get("auto-01")!.state, "stopped");
    assert.equal(await pool.start({ project: "/p", model: null, account: null }), "auto-03");
    clock.advance(10_000);
    assert.equal(await pool.start({ project: "/p", model: null, account: null }), "auto-01");
    const row = layer.rows.get("auto-01")!;
    assert.notEqual(row.claudeSessionId, "old-conversation");
    assert.equal(row.lastPrompt, null);
  });

  it("resets a session with /clear, confirmed by SessionStart clear, and marks it clean", async () => {
    await pool.start({ project: "/p", model: null, account: null });
    pool.markUsed("auto-01");
    assert.equal(store.list()[0]!.clean, false);
    assert.equal(await clock.drive(pool.reset("auto-01")), true);
    assert.equal(store.list()[0]!.clean, true);
    assert.ok(layer.log.includes("clear:auto-01"));
    assert.equal(layer.lockedBy("auto-01"), undefined, "lock released");
    assert.ok(layer.events.some((e) => e.kind === "pool.session_reset"));
  });

  it("does not reset a session someone else holds", async () => {
    await pool.start({ project: "/p", model: null, account: null });
    assert.ok(layer.tryLock("auto-01", "swap").ok);
    assert.equal(await clock.drive(pool.reset("auto-01")), false);
    assert.equal(layer.lockedBy("auto-01"), "swap");
    assert.ok(!layer.events.some((e) => e.kind === "pool.reset_failed"), "not counted as a failure");
  });

  it("adopts what a previous run left, drops what was stopped, forgets a name held by someone else's tmux session", async () => {
    store.put({ name: "auto-01", project: "/p", model: "opus", clean: false }, clock.now());
    store.put({ name: "auto-02", project: "/p", model: null, clean: true }, clock.now());
    layer.rows.set("auto-01", sessionRow("auto-01", { state: "busy" }));
    layer.rows.set("auto-02", sessionRow("auto-02", { state: "stopped" }));
    await pool.adopt();
    assert.deepEqual(layer.specs.get("auto-01")?.args, ["--model", "opus"]);
    assert.deepEqual(
      store.list().map((s) => s.name),
      ["auto-01"],
    );
    pool.forget("auto-01", "a tmux session with this name exists and is not ours");
    assert.equal(layer.specs.has("auto-01"), false);
    assert.ok(!layer.log.includes("remove:auto-01"), "its tmux session is not killed");
  });

  it("views: idle time counts from when a session last became free", async () => {
    await pool.start({ project: "/p", model: null, account: null });
    const t0 = clock.now();
    assert.equal(pool.views(new Set())[0]!.idleSince, t0);
    clock.advance(5000);
    assert.equal(pool.views(new Set(["auto-01"]))[0]!.idleSince, null, "busy with a task");
    clock.advance(5000);
    assert.equal(pool.views(new Set())[0]!.idleSince, t0 + 10_000);
  });

  it("bypassPermissions only for sessions in a task worktree: one in a project's own tree (adopted after a restart into the mode) gets default", async () => {
    const p = new Pool(
      { layer, pane: layer.pane, store, clock, log: silentLogger() },
      { prefix: "auto-", permissionMode: "bypassPermissions", worktreeRoot: "/state/worktrees" },
    );
    await p.start({ project: "/state/worktrees/t1", model: null, account: null });
    assert.deepEqual(layer.specs.get("auto-01")?.args, ["--permission-mode", "bypassPermissions"]);
    store.put({ name: "auto-02", project: "/p", model: null, clean: false }, clock.now());
    store.put({ name: "auto-03", project: "/state/worktrees-x/t2", model: null, clean: false }, clock.now());
    layer.rows.set("auto-02", sessionRow("auto-02", { state: "busy" }));
    layer.rows.set("auto-03", sessionRow("auto-03", { state: "busy" }));
    await p.adopt();
    assert.deepEqual(
      layer.specs.get("auto-02")?.args,
      ["--permission-mode", "default"],
      "its next launch (a swap, a restart) asks",
    );
    assert.deepEqual(
      layer.specs.get("auto-03")?.args,
      ["--permission-mode", "default"],
      "a sibling folder is not the worktree root",
    );
    const plain = new Pool(
      { layer, pane: layer.pane, store, clock, log: silentLogger() },
      { prefix: "auto-", permissionMode: "acceptEdits", worktreeRoot: "/state/worktrees" },
    );
    await plain.adopt();
    assert.deepEqual(
      layer.specs.get("auto-02")?.args,
      ["--permission-mode", "acceptEdits"],
      "other modes are the pool's for every session",
    );
  });
});
