// The soak's memory figures (test/scale/memory.ts): the heap used after full GCs, not RSS, says whether the
// daemon leaks (issue 16).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { heapFigures, readMemSamples, type MemSample } from "../scale/memory.js";

const MB = 1024 * 1024;
const sample = (t: number, kind: MemSample["kind"], heapMb: number): MemSample => ({
  t,
  pid: 1,
  kind,
  rss: 200 * MB,
  rssAnon: 150 * MB,
  rssFile: 50 * MB,
  heapUsed: heapMb * MB,
  heapTotal: 80 * MB,
  heapPhysical: 80 * MB,
  malloced: MB,
  external: 4 * MB,
  arrayBuffers: 0,
});

it("heapFigures: only samples after a full GC within the load count; the trend after warm-up in MB/h", () => {
  const t0 = 1_000_000;
  const samples: MemSample[] = [sample(t0 - 5000, "major", 10)]; // before the load
  for (let i = 0; i <= 60; i++) {
    samples.push(sample(t0 + i * 60_000, "major", i < 12 ? 20 + i : 32 + (i - 12) * 0.25)); // 15 MB/h after warm-up
    samples.push(sample(t0 + i * 60_000 + 30_000, "tick", 90)); // between collections: garbage, ignored
  }
  samples.push(sample(t0 + 3_700_000, "major", 99)); // after the load (the drain)
  const f = heapFigures(samples, t0, t0 + 3_600_000);
  assert.equal(f.heap_start_mb, 20);
  assert.equal(f.heap_end_mb, 44);
  assert.equal(f.heap_peak_mb, 44);
  assert.equal(f.heap_major_gcs, 61);
  assert.equal(Math.round(f.heap_slope_mb_per_h!), 15);
  assert.deepEqual(heapFigures([sample(t0, "tick", 30)], t0, t0 + 1000), {}, "no full GC seen: no figures");
});

it("readMemSamples: a torn last line (the daemon killed mid-append) is skipped; no file is no samples", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-mem-"));
  try {
    const file = join(dir, "mem.jsonl");
    assert.deepEqual(readMemSamples(file), []);
    writeFileSync(file, `${JSON.stringify(sample(1, "major", 30))}\n{"t":2,"pid":1,"ki`);
    assert.deepEqual(
      readMemSamples(file).map((s) => [s.t, s.kind]),
      [[1, "major"]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
