// Who drives a session (src/sessions/session-locks.ts): contention is a value naming the holder, a hold is
// released once and never a later holder's, withLock releases however its operation ends.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SESSION_OPS, SessionLocks, busyReason } from "../../src/sessions/session-locks.js";

describe("SessionLocks", () => {
  it("one holder per session; another sees who holds it; other sessions are free", () => {
    const l = new SessionLocks();
    const a = l.tryLock("s1", "swap");
    assert.equal(a.ok, true);
    assert.deepEqual(l.tryLock("s1", "send"), { ok: false, heldBy: "swap" });
    assert.equal(l.lockedBy("s1"), "swap");
    assert.equal(l.tryLock("s2", "send").ok, true);
    if (a.ok) a.release();
    assert.equal(l.lockedBy("s1"), undefined);
  });

  it("a release is idempotent and never ends a later holder's hold", () => {
    const l = new SessionLocks();
    const first = l.tryLock("s1", "dispatch");
    assert.ok(first.ok);
    first.release();
    const second = l.tryLock("s1", "swap");
    assert.ok(second.ok);
    first.release(); // late: the dispatch's UserPromptSubmit handler and its finally both release
    assert.equal(l.lockedBy("s1"), "swap");
    second.release();
    assert.equal(l.lockedBy("s1"), undefined);
  });

  it("withLock runs the operation under the hold and releases it when it throws", async () => {
    const l = new SessionLocks();
    const r = await l.withLock("s1", "restart", async () => {
      assert.equal(l.lockedBy("s1"), "restart");
      return 42;
    });
    assert.deepEqual(r, { ok: true, value: 42 });
    await assert.rejects(
      l.withLock("s1", "send", async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(l.lockedBy("s1"), undefined, "released after the throw");
    const held = l.tryLock("s1", "swap");
    let ran = false;
    assert.deepEqual(
      await l.withLock("s1", "send", async () => {
        ran = true;
      }),
      { ok: false, heldBy: "swap" },
    );
    assert.equal(ran, false, "not run while held");
    if (held.ok) held.release();
  });

  it("names every operation once; the busy reason names the holder", () => {
    assert.equal(new Set(SESSION_OPS).size, SESSION_OPS.length);
    assert.equal(busyReason("dev", "swap"), "session dev is busy: swap in progress");
  });
});
