// The chaos run's disk (test/scale/disk.ts): a tmpfs of its own that fill() makes full (a write in it fails
// with ENOSPC), free() empties again and unmount() removes; where a tmpfs can't be mounted, the reason.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ScratchDisk } from "../scale/disk.js";

describe("ScratchDisk", () => {
  it("fills to ENOSPC, tops up, frees, unmounts", (t) => {
    const d = ScratchDisk.mount(4);
    if (!(d instanceof ScratchDisk)) {
      assert.match(d.skipped, /cannot mount a tmpfs/);
      return t.skip(d.skipped);
    }
    try {
      writeFileSync(join(d.dir, "state.db"), "x".repeat(10_000));
      const free = d.freeBytes();
      assert.ok(free > 3 * 1024 * 1024, `${free} bytes free`);
      const n = d.fill();
      assert.ok(n >= free - 4096 && n <= free, `filled ${n} of ${free}`);
      assert.equal(d.freeBytes(), 0);
      assert.throws(() => writeFileSync(join(d.dir, "more"), "y".repeat(5000)), /ENOSPC/);
      assert.equal(d.fill(), 0, "nothing left to top up");
      d.free();
      assert.ok(d.freeBytes() >= free - 4096, "the space is back");
      writeFileSync(join(d.dir, "more"), "y".repeat(5000));
    } finally {
      d.unmount();
    }
    assert.equal(existsSync(d.dir), false, "mount point removed");
  });
});
