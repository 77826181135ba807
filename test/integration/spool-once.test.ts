// A hook event is applied once (chaos seed 424242, 30 min: a Stop recorded twice). The spool removes a file
// after applying it; a daemon SIGKILLed in between finds the file again at its next start and applied it
// again: a second Stop (and its signals: a task done twice, a prompt counted twice). SessionService now
// records the file as applied in the transaction that applies it, and skips a file it applied already.
// Real SQLite, a real spool directory drained by the real Spool; the crash is the file put back in place.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SessionService, type SessionDeps, type SessionOptions } from "../../src/sessions/session-service.js";
import { Spool } from "../../src/sessions/spool.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { SPOOL_APPLIED_KEEP_MS } from "../../src/store/retention.js";

const root = mkdtempSync(join(tmpdir(), "cf-spoolonce-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("a hook event is applied once, across a crash between applying and removing it", () => {
  it("the Stop put back in the spool (as a daemon killed before removing it leaves it) is not applied again", async () => {
    const store = new Store(openDb(join(root, "state")));
    const now = Date.now();
    store.insertSession(
      { name: "s1", kind: "dedicated", project: "/p", account: "a", claudeSessionId: "c1", state: "idle" },
      now,
    );
    store.updateSession(
      "s1",
      { state: "busy", lastPrompt: "hello", lastPromptAt: now, lastPromptAnswered: false },
      now,
    );
    const deps = { store, tmux: {}, accounts: {}, chooser: {}, clock: systemClock, log: silentLogger() };
    const sessions = new SessionService(
      deps as unknown as SessionDeps,
      { launch: {}, tuning: {} } as unknown as SessionOptions,
    );
    const signals: string[] = [];
    sessions.onSignal((s) => signals.push(s.signal.kind));
    const dir = join(root, "spool");
    mkdirSync(dir);
    const keep = join(root, "kept");
    mkdirSync(keep);
    const name = `${BigInt(now) * 1_000_000n}.4242.s1.a.Stop.json`;
    writeFileSync(join(keep, name), JSON.stringify({ session_id: "c1", last_assistant_message: "hi" }));
    copyFileSync(join(keep, name), join(dir, name));
    const spool = new Spool({ handle: (ev) => sessions.handleHookEvent(ev), log: silentLogger() }, { dir });
    await spool.drain();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f !== "bad"),
      [],
      "applied and removed",
    );
    assert.deepEqual(signals, ["turn_done"]);
    assert.equal(store.getSession("s1")!.lastPromptAnswered, true);
    // the crash: the same file in the spool again at the next drain
    copyFileSync(join(keep, name), join(dir, name));
    await spool.drain();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f !== "bad"),
      [],
      "removed again",
    );
    assert.deepEqual(signals, ["turn_done"], "no second turn_done");
    assert.equal(store.tailEvents(50, { kindPrefix: "hook.Stop" }).length, 1, "one Stop in the event log");
    await spool.stop();

    // the records go with retention's run (older than a day)
    assert.equal(store.pruneSpoolApplied(now - SPOOL_APPLIED_KEEP_MS), 0, "a fresh record is kept");
    assert.equal(store.pruneSpoolApplied(Date.now() + 1), 1, "an old one is pruned");
  });
});
