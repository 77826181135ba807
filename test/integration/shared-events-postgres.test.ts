// The shared events mirror (boxes/shared-events.ts) on a real PostgreSQL with real state.db files: two
// boxes' local logs mirrored into one table in batches, and an outage (the server stopped and started
// again under the mirror running on its own timer): events kept in memory up to the bound, the oldest
// dropped and counted, the rest sent once when the server returns. Skipped when PostgreSQL is missing,
// failed under CI.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SharedEventsMirror } from "../../src/boxes/shared-events.js";
import { openDb } from "../../src/store/db.js";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import type { SharedStore } from "../../src/store/shared/shared-types.js";
import { Store } from "../../src/store/store.js";
import { ManualClock, systemClock, type Clock } from "../../src/util/clock.js";
import { isCfError } from "../../src/util/errors.js";
import { postgresGate, startPostgres, type TestPostgres } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";
import { capturingLogger } from "../support/log-lines.js";

const MISSING = postgresGate("shared events");

const T0 = Date.UTC(2026, 11, 1, 10);
let dirs = 0;

describe("shared events mirrored into PostgreSQL", { timeout: 120_000, skip: MISSING ?? false }, () => {
  let server: TestPostgres;
  let root: string;
  const closers: (() => Promise<void>)[] = [];
  before(async () => {
    server = await startPostgres();
    root = mkdtempSync(join(tmpdir(), "cf-shared-events-"));
  });
  after(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    await server?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  async function box(
    name: string,
    url: string,
    clock: Clock,
    o: { maxBuffered?: number; batchMax?: number; flushMs?: number } = {},
  ) {
    const store = new Store(openDb(join(root, `${name}-${++dirs}`)));
    const shared: SharedStore = await PostgresSharedStore.open({ url, box: name, connectTimeoutMs: 1500 });
    const { log, lines } = capturingLogger();
    const mirror = new SharedEventsMirror({ box: name, store: () => shared, events: store, clock, log, ...o });
    closers.push(async () => {
      await mirror.stop(500);
      await shared.close();
      store.db.close();
    });
    return { store, shared, mirror, lines };
  }

  it("two boxes' events in one table, each with its box name; sent in batches, in order", async () => {
    const url = await server.createDatabase();
    const clock = new ManualClock(T0);
    const b1 = await box("box-1", url, clock, { batchMax: 500 });
    const b2 = await box("box-2", url, clock);
    b1.mirror.start();
    b2.mirror.start();
    for (let i = 0; i < 1234; i++)
      b1.store.appendEvent(T0 + i, i % 10 ? "hook.Stop" : "swap.done", "dev", "acc1", { i });
    b2.store.appendEvent(T0 + 5, "swap.done", "ops", "acc2", { from: "acc1" });
    await b1.mirror.flush();
    await b2.mirror.flush();
    assert.deepEqual(b1.mirror.stats(), { sent: 1234, batches: 3, dropped: 0, rejected: 0, buffered: 0 });
    const mine = await b2.shared.readEvents({ box: "box-1", limit: 5000 });
    assert.equal(mine.length, 1234);
    assert.deepEqual(
      mine.map((e) => e.localId),
      Array.from({ length: 1234 }, (_, i) => i + 1),
      "in the local log's order",
    );
    assert.deepEqual(mine[10], {
      id: mine[10]!.id,
      box: "box-1",
      localId: 11,
      ts: T0 + 10,
      kind: "swap.done",
      session: "dev",
      account: "acc1",
      data: { i: 10 },
    });
    const swaps = await b1.mirror.read({ limit: 3, kindPrefix: "swap." });
    assert.deepEqual(
      swaps.map((e) => `${e.box}:${e.session}:${JSON.stringify(e.data)}`),
      ['box-1:dev:{"i":1220}', 'box-1:dev:{"i":1230}', 'box-2:ops:{"from":"acc1"}'],
      "the newest three, whichever box",
    );
    const after = await b2.mirror.read({ afterId: swaps[0]!.id, limit: 100, box: "box-2" });
    assert.deepEqual(
      after.map((e) => e.box),
      ["box-2"],
    );
  });

  it("PostgreSQL stopped: the daemon's appends never wait; events kept up to the bound and sent once when it returns", async () => {
    const url = await server.createDatabase();
    const b = await box("box-1", url, systemClock, { maxBuffered: 200, batchMax: 50, flushMs: 100 });
    b.mirror.start();
    for (let i = 0; i < 10; i++) b.store.appendEvent(Date.now(), "before", null, null, { i });
    await waitFor(() => b.mirror.stats().sent === 10, 10_000, "the first events sent");

    await server.stop();
    try {
      const t = performance.now();
      for (let i = 0; i < 250; i++) b.store.appendEvent(Date.now(), "during", null, null, { i });
      const appendMs = performance.now() - t;
      assert.ok(appendMs < 2000, `250 local appends during the outage took ${appendMs.toFixed(0)} ms`);
      // 250 while it is away, 200 kept: the oldest 50 dropped
      assert.equal(b.mirror.stats().dropped, 50);
      assert.equal(b.lines.filter((l) => l.includes("buffer full")).length, 1, "warned at the first drop");
      await waitFor(
        () => b.lines.some((l) => l.includes("events are kept and sent when it returns")),
        10_000,
        "the mirror notices the outage",
      );
      await assert.rejects(b.mirror.read({ limit: 10 }), (e) => isCfError(e, "unavailable"));
      await b.mirror.flush(); // fails again: nothing lost by a failed try
      assert.deepEqual([b.mirror.stats().buffered, b.mirror.stats().sent], [200, 10]);
    } finally {
      await server.start();
    }
    // the timer keeps trying: the 200 kept, then the event recording the drop
    await waitFor(() => b.mirror.stats().sent === 211, 20_000, "the kept events sent after the outage");
    const rows = await b.shared.readEvents({ box: "box-1", limit: 1000 });
    assert.deepEqual(
      rows.map((e) => e.localId),
      [
        ...Array.from({ length: 10 }, (_, i) => i + 1),
        ...Array.from({ length: 200 }, (_, i) => i + 61), // 11-60 were the dropped ones
        261,
      ],
      "each once, in order",
    );
    assert.deepEqual(rows.at(-1)!.kind, "box.events_dropped");
    assert.deepEqual(rows.at(-1)!.data, { box: "box-1", dropped: 50, max: 200 });
    const warned = b.lines.find((l) => l.includes("dropped while the shared store was away"));
    assert.equal((JSON.parse(warned!) as { dropped: number }).dropped, 50);
    assert.ok(b.lines.some((l) => l.includes("takes events again")));
  });
});
