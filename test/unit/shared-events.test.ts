// The shared events mirror's buffer and batching (boxes/event-buffer.ts, boxes/shared-events.ts) on a fake
// shared store (appendEvents only) and a manual clock, with the real local log (a state.db in a temp dir).
// The same mirror on a real PostgreSQL, stopped and started: test/integration/shared-events-postgres.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EventBuffer } from "../../src/boxes/event-buffer.js";
import { SharedEventsMirror, localEventsOfBox } from "../../src/boxes/shared-events.js";
import { openDb } from "../../src/store/db.js";
import type { SharedEventDraft, SharedStore } from "../../src/store/shared/shared-types.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { CfError } from "../../src/util/errors.js";
import { createLogger } from "../../src/util/log.js";
import { capturingLogger } from "../support/log-lines.js";

const T0 = Date.UTC(2026, 11, 1, 10);
const root = mkdtempSync(join(tmpdir(), "cf-shared-events-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

describe("EventBuffer", () => {
  it("holds at most `max`: each push past it drops the oldest and counts it", () => {
    const b = new EventBuffer<number>(3);
    for (let i = 1; i <= 3; i++) assert.equal(b.push(i), false);
    assert.equal(b.push(4), true);
    assert.equal(b.push(5), true);
    assert.equal(b.size, 3);
    assert.deepEqual(b.take(10), [3, 4, 5]);
    assert.equal(b.size, 0);
    assert.deepEqual([b.takeDropped(), b.takeDropped(), b.droppedTotal], [2, 0, 2]);
    assert.throws(() => new EventBuffer(0), RangeError);
  });

  it("a batch taken out is not counted against the bound; put back in front, the oldest beyond it are dropped", () => {
    const b = new EventBuffer<number>(4);
    for (let i = 1; i <= 4; i++) b.push(i);
    const batch = b.take(2); // 1, 2 on their way
    assert.deepEqual(batch, [1, 2]);
    b.push(5);
    b.push(6);
    assert.equal(b.droppedTotal, 0, "room was made by the batch");
    b.push(7); // drops 3
    assert.equal(b.putBack(batch), 2, "the send failed: 1 and 2 back in front, then the oldest two go");
    assert.deepEqual(b.take(10), [4, 5, 6, 7]);
    assert.equal(b.droppedTotal, 3);
    assert.equal(b.putBack([]), 0);
    b.push(8);
    assert.equal(b.putBack([1]), 0);
    assert.deepEqual(b.take(10), [1, 8]);
  });

  it("stays bounded over many items (memory compacted as it goes)", () => {
    const b = new EventBuffer<number>(100);
    for (let i = 0; i < 50_000; i++) b.push(i);
    assert.equal(b.size, 100);
    assert.equal(b.droppedTotal, 49_900);
    assert.deepEqual(b.take(1), [49_900]);
    for (let i = 0; i < 49; i++) b.take(1);
    assert.equal(b.size, 50);
  });
});

/** A shared store that takes events in memory, or fails (unavailable) while `down`, or refuses some kinds. */
function fakeStore() {
  const f = {
    rows: [] as SharedEventDraft[],
    calls: [] as number[],
    down: false,
    refuse: new Set<string>(),
    hold: null as Promise<void> | null,
    store: {
      box: "box-1",
      backend: "postgres",
      appendEvents: async (events: readonly SharedEventDraft[]) => {
        if (f.hold) await f.hold;
        f.calls.push(events.length);
        if (f.down) throw new CfError("shared_store_unavailable", "shared store (PostgreSQL) unreachable: test");
        if (events.some((e) => f.refuse.has(e.kind))) throw new Error("unsupported Unicode escape sequence");
        f.rows.push(...events);
        return events.length;
      },
    } as unknown as SharedStore,
  };
  return f;
}

function setup(o: { maxBuffered?: number; batchMax?: number } = {}) {
  const store = new Store(openDb(join(root, `s${++dirs}`)));
  const { log, lines } = capturingLogger();
  const clock = new ManualClock(T0);
  const fake = fakeStore();
  let open = true;
  const mirror = new SharedEventsMirror({
    box: "box-1",
    store: () => (open ? fake.store : null),
    events: store,
    clock,
    log,
    flushMs: 1000,
    ...o,
  });
  return {
    store,
    lines,
    clock,
    fake,
    mirror,
    setOpen: (v: boolean) => {
      open = v;
    },
  };
}

describe("SharedEventsMirror", () => {
  it("sends the local log's events in batches, in order, each second; the local append never waits", async () => {
    const t = setup({ batchMax: 500 });
    t.mirror.start();
    for (let i = 0; i < 1200; i++) t.store.appendEvent(T0 + i, `k.${i}`, "dev", null, { i });
    assert.equal(t.fake.calls.length, 0, "nothing is sent by the append itself");
    assert.equal(t.mirror.stats().buffered, 1200);
    t.clock.advance(1000);
    await t.mirror.flush();
    assert.deepEqual(t.fake.calls, [500, 500, 200]);
    assert.deepEqual(
      t.fake.rows.map((r) => r.kind),
      Array.from({ length: 1200 }, (_, i) => `k.${i}`),
    );
    assert.deepEqual(t.fake.rows[7], {
      localId: 8,
      ts: T0 + 7,
      kind: "k.7",
      session: "dev",
      account: null,
      data: { i: 7 },
    });
    assert.deepEqual(t.mirror.stats(), { sent: 1200, batches: 3, dropped: 0, rejected: 0, buffered: 0 });
    await t.mirror.stop();
    t.store.appendEvent(T0, "after.stop", null, null, {});
    assert.equal(t.mirror.stats().buffered, 0, "stopped: no longer listening");
  });

  it("while the store is away: kept up to the bound, the oldest dropped with a counted warning; sent when it returns", async () => {
    const t = setup({ maxBuffered: 100, batchMax: 40 });
    t.mirror.start();
    t.fake.down = true;
    for (let i = 0; i < 30; i++) t.store.appendEvent(T0, `a.${i}`, null, null, {});
    await t.mirror.flush();
    assert.equal(t.fake.calls.length, 1, "the first batch failed; the rest waits for the next flush");
    assert.equal(t.lines.filter((l) => l.includes("events are kept and sent")).length, 1);
    for (let i = 0; i < 120; i++) t.store.appendEvent(T0, `b.${i}`, null, null, {});
    await t.mirror.flush();
    assert.deepEqual(t.mirror.stats(), { sent: 0, batches: 0, dropped: 50, rejected: 0, buffered: 100 });
    assert.equal(t.lines.filter((l) => l.includes("buffer full")).length, 1, "warned once, at the first drop");
    assert.equal(t.lines.filter((l) => l.includes("events are kept and sent")).length, 1, "once per outage");
    t.fake.down = false;
    await t.mirror.flush();
    const kinds = t.fake.rows.map((r) => r.kind);
    assert.deepEqual(kinds.slice(0, 100), [
      ...Array.from({ length: 100 }, (_, i) => `b.${i + 20}`), // the newest 100: a.* and b.0-b.19 dropped
    ]);
    const dropLine = t.lines.find((l) => l.includes("dropped while the shared store was away"));
    assert.ok(dropLine && JSON.parse(dropLine).dropped === 50, "the warning carries the count");
    assert.ok(t.lines.some((l) => l.includes("takes events again")));
    // the drop is recorded in the local log, and that event is mirrored too
    const recorded = t.store.tailEvents(1, { kindPrefix: "box.events_dropped" })[0];
    assert.deepEqual(recorded?.data, { box: "box-1", dropped: 50, max: 100 });
    await t.mirror.flush();
    assert.equal(t.fake.rows.at(-1)?.kind, "box.events_dropped");
    assert.equal(t.mirror.stats().buffered, 0);
  });

  it("an event the store refuses is dropped alone (logged); the rest of its batch goes", async () => {
    const t = setup({ batchMax: 10 });
    t.mirror.start();
    t.fake.refuse.add("bad");
    for (const k of ["x.1", "bad", "x.2", "x.3"]) t.store.appendEvent(T0, k, null, null, {});
    await t.mirror.flush();
    assert.deepEqual(
      t.fake.rows.map((r) => r.kind),
      ["x.1", "x.2", "x.3"],
    );
    assert.equal(t.mirror.stats().rejected, 1);
    assert.ok(t.lines.some((l) => l.includes("refused an event") && l.includes('"kind":"bad"')));
  });

  it("flushes never overlap; events and drops during a slow flush are kept right; nothing before the store opens", async () => {
    const t = setup({ maxBuffered: 5, batchMax: 3 });
    t.mirror.start();
    t.setOpen(false);
    t.store.appendEvent(T0, "e.1", null, null, {});
    await t.mirror.flush();
    assert.deepEqual([t.fake.calls.length, t.mirror.stats().buffered], [0, 1], "store not open: waits");
    t.setOpen(true);
    for (let i = 2; i <= 5; i++) t.store.appendEvent(T0, `e.${i}`, null, null, {});
    let release!: () => void;
    t.fake.hold = new Promise((r) => (release = r));
    const f1 = t.mirror.flush();
    assert.equal(t.mirror.flush(), f1, "a flush during a flush is that flush");
    // e.1-e.3 are on their way (out of the buffer); four more arrive: e.4, the oldest left, is dropped
    for (let i = 6; i <= 9; i++) t.store.appendEvent(T0, `e.${i}`, null, null, {});
    t.fake.hold = null;
    release();
    await f1;
    assert.deepEqual(
      t.fake.rows.map((r) => r.kind),
      ["e.1", "e.2", "e.3", "e.5", "e.6", "e.7", "e.8", "e.9"],
    );
    assert.deepEqual(t.mirror.stats().dropped, 1);
  });

  it("the timer flushes each flushMs of the clock and prunes the shared table daily by the retention", async () => {
    const t = setup();
    const pruned: [number, number][] = [];
    (t.fake.store as { pruneEvents?: unknown }).pruneEvents = (before: number, max: number) => {
      pruned.push([before, max]);
      return Promise.resolve(0);
    };
    const m = new SharedEventsMirror({
      box: "box-1",
      store: () => t.fake.store,
      events: t.store,
      clock: t.clock,
      log: createLogger("silent"),
      retention: () => ({ maxAgeMs: 90 * 86_400_000, maxRows: 1000 }),
    });
    m.start();
    t.store.appendEvent(T0, "x", null, null, {});
    await t.clock.advanceAsync(1000);
    await m.flush();
    assert.equal(t.fake.rows.length, 1);
    assert.deepEqual(pruned, [[T0 + 1000 - 90 * 86_400_000, 1000]]);
    await t.clock.advanceAsync(3000);
    assert.equal(pruned.length, 1, "once a day");
    await m.stop();
  });
});

describe("localEventsOfBox (store.backend: sqlite)", () => {
  it("answers from the local log, every row this box's", () => {
    const store = new Store(openDb(join(root, `s${++dirs}`)));
    for (let i = 1; i <= 5; i++) store.appendEvent(T0 + i, i % 2 ? "swap.x" : "hook.y", "dev", null, { i });
    assert.deepEqual(
      localEventsOfBox(store, "laptop", { limit: 2 }).map((e) => [e.box, e.id, e.localId, e.kind]),
      [
        ["laptop", 4, 4, "hook.y"],
        ["laptop", 5, 5, "swap.x"],
      ],
    );
    assert.deepEqual(
      localEventsOfBox(store, "laptop", { afterId: 1, limit: 10, kindPrefix: "swap." }).map((e) => e.id),
      [3, 5],
    );
    assert.deepEqual(localEventsOfBox(store, "laptop", { box: "server", limit: 10 }), []);
    assert.equal(localEventsOfBox(store, "laptop", { box: "laptop", limit: 10 }).length, 5);
  });
});
