// Task claim latency and throughput of the shared store on a real PostgreSQL (issue 19's benchmark, the
// queue part): N tasks queued, B boxes (one pg Pool of 4 each) with C claimers per box claiming and
// completing until the queue is empty. Also the SQLite backend (one box, one connection) for comparison.
// Run: node --import tsx bench/shared-store/claim.ts [tasks=1000] [boxes=2] [claimersPerBox=4]  (prints JSON)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../src/store/db.js";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import type { SharedStore } from "../../src/store/shared/shared-types.js";
import { SqliteSharedStore } from "../../src/store/shared/sqlite-shared-store.js";
import { startPostgres } from "../../test/support/postgres.js";

const [N = 1000, BOXES = 2, CLAIMERS = 4] = process.argv.slice(2).map(Number);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(2));
}

async function run(stores: SharedStore[], claimers: number): Promise<Record<string, unknown>> {
  const now = Date.now();
  for (const s of stores) await s.heartbeat(now, 600_000);
  const enqStart = performance.now();
  for (let i = 0; i < N; i++)
    await stores[i % stores.length]!.enqueueTask(
      { id: `t${i}`, project: "/p", prompt: "x", priority: i % 3, pinBox: null, payload: {} },
      now,
    );
  const enqMs = performance.now() - enqStart;
  const claimMs: number[] = [];
  const perBox = new Map<string, number>();
  const seen = new Set<string>();
  const loop = async (s: SharedStore): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      const c = await s.claimTask(now);
      claimMs.push(performance.now() - t0);
      if (!c) return;
      if (seen.has(c.task.id)) throw new Error(`claimed twice: ${c.task.id}`);
      seen.add(c.task.id);
      perBox.set(s.box, (perBox.get(s.box) ?? 0) + 1);
      if (!(await s.completeTask(c.task.id, c.claim, { state: "done", result: "ok" }, now)))
        throw new Error("complete refused");
    }
  };
  const start = performance.now();
  await Promise.all(stores.flatMap((s) => Array.from({ length: claimers }, () => loop(s))));
  const wall = performance.now() - start;
  if (seen.size !== N) throw new Error(`claimed ${seen.size} of ${N}`);
  return {
    tasks: N,
    boxes: stores.length,
    claimersPerBox: claimers,
    enqueueMsPerTask: Number((enqMs / N).toFixed(3)),
    claimP50Ms: pct(claimMs, 50),
    claimP95Ms: pct(claimMs, 95),
    claimMaxMs: pct(claimMs, 100),
    claimAndCompletePerSecond: Math.round(N / (wall / 1000)),
    perBox: Object.fromEntries(perBox),
  };
}

const pgServer = await startPostgres();
const out: Record<string, unknown> = {};
try {
  const url = await pgServer.createDatabase();
  const stores: SharedStore[] = [];
  for (let b = 0; b < BOXES; b++) stores.push(await PostgresSharedStore.open({ url, box: `box-${b + 1}` }));
  out.postgres = await run(stores, CLAIMERS);
  await Promise.all(stores.map((s) => s.close()));
} finally {
  await pgServer.destroy();
}
const dir = mkdtempSync(join(tmpdir(), "cf-bench-sqlite-"));
try {
  const s = new SqliteSharedStore(openDb(dir), "box-1", true);
  out.sqlite = await run([s], 1);
  await s.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out, null, 2));
