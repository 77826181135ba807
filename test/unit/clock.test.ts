// The clock seam (issue 15 point 5): ManualClock's timers fire in time order as the test advances it,
// are cancelled by their AbortSignal or handle, repeat with `every`; sleeps and pollUntil run on it step by
// step; systemClock's waits end at once on abort. Nothing here sleeps in real time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock, systemClock } from "../../src/util/clock.js";
import { pollUntil } from "../../src/util/wait.js";

const T0 = Date.UTC(2026, 11, 1, 10);

describe("ManualClock timers", () => {
  it("fire in time order, equal times in the order set, each seeing now() at its due time", () => {
    const c = new ManualClock(T0);
    const seen: string[] = [];
    c.after(300, () => seen.push(`c@${c.now() - T0}`));
    c.after(100, () => seen.push(`a@${c.now() - T0}`));
    c.after(100, () => seen.push(`b@${c.now() - T0}`));
    c.after(0, () => seen.push(`z@${c.now() - T0}`));
    c.advance(99);
    assert.deepEqual(seen, ["z@0"]);
    c.advance(500);
    assert.deepEqual(seen, ["z@0", "a@100", "b@100", "c@300"]);
    assert.equal(c.now(), T0 + 599);
    assert.equal(c.pending(), 0);
  });

  it("a timer set by a firing callback fires within the same advance when due", () => {
    const c = new ManualClock(T0);
    const seen: number[] = [];
    c.after(10, () => c.after(10, () => seen.push(c.now() - T0)));
    c.advance(25);
    assert.deepEqual(seen, [20]);
  });

  it("is cancelled by its signal (before or after it is set) and by its handle", () => {
    const c = new ManualClock(T0);
    const seen: string[] = [];
    const ac = new AbortController();
    c.after(10, () => seen.push("aborted"), ac.signal);
    const handle = c.after(10, () => seen.push("cancelled"));
    c.after(10, () => seen.push("kept"), new AbortController().signal);
    ac.abort();
    handle.cancel();
    c.after(10, () => seen.push("born aborted"), ac.signal);
    c.advance(100);
    assert.deepEqual(seen, ["kept"]);
    assert.equal(c.pending(), 0);
  });

  it("every: repeats each period from its start until its signal aborts", () => {
    const c = new ManualClock(T0);
    const at: number[] = [];
    const ac = new AbortController();
    c.every(
      1000,
      () => {
        at.push(c.now() - T0);
        if (at.length === 3) ac.abort();
      },
      ac.signal,
    );
    c.advance(10_000);
    assert.deepEqual(at, [1000, 2000, 3000]);
    assert.equal(c.pending(), 0);
    assert.throws(() => c.every(0, () => {}), RangeError);
  });

  it("every and after interleave in time order", () => {
    const c = new ManualClock(T0);
    const seen: string[] = [];
    const t = c.every(100, () => seen.push(`tick@${c.now() - T0}`));
    c.after(150, () => seen.push(`once@${c.now() - T0}`));
    c.advance(300);
    t.cancel();
    c.advance(300);
    assert.deepEqual(seen, ["tick@100", "once@150", "tick@200", "tick@300"]);
  });

  it("sleep resolves only when advanced past it, or at once on abort", async () => {
    const c = new ManualClock(T0);
    let done = false;
    const p = c.sleep(1000).then(() => (done = true));
    await c.advanceAsync(999);
    assert.equal(done, false);
    await c.advanceAsync(1);
    await p;
    assert.equal(done, true);
    const ac = new AbortController();
    const q = c.sleep(60_000, ac.signal);
    ac.abort();
    await q;
    assert.equal(c.now(), T0 + 1000, "abort moved no time");
    assert.equal(c.pending(), 0, "the aborted sleep's timer is gone");
  });

  it("advanceAsync runs a loop of sleeps step by step: pollUntil sees every interval", async () => {
    const c = new ManualClock(T0);
    const calls: number[] = [];
    const r = pollUntil(
      () => {
        calls.push(c.now() - T0);
        return c.now() - T0 >= 200 ? "yes" : false;
      },
      { clock: c, timeoutMs: 1000, intervalMs: 50 },
    );
    await c.advanceAsync(250);
    assert.equal(await r, "yes");
    assert.deepEqual(calls, [0, 50, 100, 150, 200]);
  });

  it("pollUntil gives up at its deadline in clock time", async () => {
    const c = new ManualClock(T0);
    const r = pollUntil(() => false, { clock: c, timeoutMs: 300, intervalMs: 100 });
    await c.advanceAsync(300);
    assert.equal(await r, undefined);
    assert.equal(c.pending(), 0);
  });

  it("advanceUntil jumps from timer to timer until the condition holds, or rejects past its limit", async () => {
    const c = new ManualClock(T0);
    let n = 0;
    c.every(60_000, () => n++);
    assert.equal(await c.advanceUntil(() => n >= 3 && n, 10 * 60_000, "three ticks"), 3);
    assert.equal(c.now(), T0 + 180_000);
    await assert.rejects(
      c.advanceUntil(() => n > 100, 60_000, "never"),
      /never not reached within 60000 ms/,
    );
  });

  it("set: forward fires due timers; backward only moves now()", () => {
    const c = new ManualClock(T0);
    const seen: number[] = [];
    c.after(100, () => seen.push(c.now() - T0));
    c.set(T0 - 5000);
    assert.deepEqual(seen, []);
    assert.equal(c.now(), T0 - 5000);
    c.set(T0 + 100);
    assert.deepEqual(seen, [100]);
  });
});

describe("systemClock", () => {
  it("sleep ends at once when its signal aborts (already aborted, or later)", async () => {
    const t0 = performance.now();
    await systemClock.sleep(60_000, AbortSignal.abort());
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    ac.abort();
    await p;
    assert.ok(performance.now() - t0 < 1000);
  });

  it("after and every stop with their signal", async () => {
    const ac = new AbortController();
    let n = 0;
    systemClock.every(1, () => n++, ac.signal);
    systemClock.after(1, () => (n += 1000), ac.signal);
    ac.abort();
    await new Promise((r) => setImmediate(r));
    assert.equal(n, 0);
  });
});
