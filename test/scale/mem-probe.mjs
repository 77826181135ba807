// Loaded into the soak's daemon with `--import` (test/scale/memory.ts), never into a real one: samples the
// process's memory into a JSON-lines file, so the soak can tell heap growth (a leak in JavaScript objects)
// from RSS growth with a flat heap (V8 sizing its heap, native memory, SQLite's page cache).
//   SOAK_MEM_FILE          where to append the samples (nothing happens without it)
//   SOAK_HEAPSNAPSHOT_DIR  on SIGUSR2, write a V8 heap snapshot there (a full GC first, as V8 does)
// Samples: {"t": ms, "pid", "kind": "tick" (every 5 s) | "major" (just after a mark-compact GC) | "snapshot",
// "rss", "rssAnon", "rssFile", "heapUsed", "heapTotal", "heapPhysical" (the V8 heap's resident pages), "malloced"
// (V8's own malloc), "external", "arrayBuffers"} in bytes. "major" samples are the heap
// measure that matters: what a full collection could not free.
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics, writeHeapSnapshot } from "node:v8";

const file = process.env.SOAK_MEM_FILE;
if (file) {
  const write = (kind, extra = {}) => {
    const m = process.memoryUsage();
    const v = getHeapStatistics();
    try {
      // RssAnon / RssFile (kB): anonymous memory (heaps, malloc) apart from mapped files (the node binary, addons)
      const status = readFileSync("/proc/self/status", "utf8");
      const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
      const sample = {
        t: Date.now(),
        pid: process.pid,
        kind,
        rss: m.rss,
        rssAnon: kb("RssAnon"),
        rssFile: kb("RssFile"),
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        heapPhysical: v.total_physical_size,
        malloced: v.malloced_memory,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        ...extra,
      };
      appendFileSync(file, `${JSON.stringify(sample)}\n`);
    } catch {
      /* disk full or gone: a missing sample is fine */
    }
  };
  let lastMajor = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && Date.now() - lastMajor >= 1000) {
        lastMajor = Date.now();
        write("major");
      }
  }).observe({ entryTypes: ["gc"] });
  setInterval(() => write("tick"), 5000).unref();
  const dir = process.env.SOAK_HEAPSNAPSHOT_DIR;
  if (dir)
    process.on("SIGUSR2", () => {
      try {
        const path = writeHeapSnapshot(join(dir, `daemon-${process.pid}-${Date.now()}.heapsnapshot`));
        write("snapshot", { path });
      } catch (e) {
        write("snapshot", { error: String(e) }); // never takes the daemon down
      }
    });
}
