// One in-memory record per session (src/sessions/session-runtime.ts, issue 15 point 2): created on first use,
// read without creating, dropped with its pending restart when the session is removed. Through the real
// SessionService (real SQLite, a manual clock, a tmux that records calls).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { HookEvent } from "../../src/sessions/hook-event.js";
import { SessionRuntimes } from "../../src/sessions/session-runtime.js";
import { SessionService, type SessionDeps, type SessionOptions } from "../../src/sessions/session-service.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const root = mkdtempSync(join(tmpdir(), "cf-runtime-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("SessionRuntimes", () => {
  it("creates a record on first use, peek does not, drop forgets it and cancels its restart", () => {
    const clock = new ManualClock(1000);
    const rts = new SessionRuntimes();
    assert.equal(rts.peek("s1"), undefined);
    assert.equal(rts.size, 0);
    const r = rts.of("s1");
    assert.deepEqual(r.restartTimes, []);
    assert.equal(rts.of("s1"), r, "the same record");
    let fired = 0;
    r.restartTimer = clock.after(500, () => fired++);
    rts.drop("s1");
    assert.equal(rts.peek("s1"), undefined);
    clock.advance(1000);
    assert.equal(fired, 0, "the pending restart was cancelled");
    assert.notEqual(rts.of("s1"), r, "a new record after a drop");
  });
});

describe("SessionService keeps a session's in-memory state in its runtime record", () => {
  it("restart bookkeeping and the running prompt's id live in the record, which remove() drops", async () => {
    const store = new Store(openDb(join(root, "state")));
    const clock = new ManualClock(1_000_000);
    const killed: string[] = [];
    const tmux = { killSession: async (n: string) => void killed.push(n) };
    const deps = { store, tmux, pane: {}, accounts: {}, chooser: {}, clock, log: silentLogger() };
    const tuning = {
      restartBackoffMs: 1000,
      restartBackoffMaxMs: 10_000,
      crashLoopRestarts: 5,
      crashLoopWindowMs: 60_000,
      startTimeoutMs: 60_000,
    };
    const sessions = new SessionService(
      deps as unknown as SessionDeps,
      {
        launch: {},
        tuning,
      } as unknown as SessionOptions,
    );
    store.insertSession(
      { name: "s1", kind: "dedicated", project: "/p", account: "a", claudeSessionId: "c1", state: "idle" },
      clock.now(),
    );
    sessions.specs.set("s1", { name: "s1", kind: "dedicated", project: "/p", account: "a", args: [] });
    assert.equal(sessions.runtime("s1"), undefined, "no record before its first use");

    const ev: HookEvent = {
      file: "1.1.s1.a.UserPromptSubmit.json",
      ts: clock.now(),
      order: [1n, 1],
      session: "s1",
      account: "a",
      event: "UserPromptSubmit",
      launch: null,
      payload: { prompt: "hello", prompt_id: "p1" },
    };
    sessions.handleHookEvent(ev);
    assert.equal(sessions.runtime("s1")?.promptId, "p1");

    sessions.scheduleRestart("s1", "CLI exited (status 1)", "respawn");
    const rt = sessions.runtime("s1")!;
    assert.deepEqual(rt.restartTimes, [clock.now()]);
    assert.ok(rt.restartTimer, "a restart pending");
    assert.equal(store.getSession("s1")!.state, "exited");

    await sessions.remove("s1", "config removal");
    assert.equal(sessions.runtime("s1"), undefined, "dropped with the session");
    assert.deepEqual(killed, ["s1"]);
    assert.equal(store.getSession("s1")!.state, "stopped");
    clock.advance(60_000);
    assert.equal(store.getSession("s1")!.restarts, 0, "the pending restart never ran");
  });
});
