// A small full disk for a test (issue 16 point 4): a size-limited tmpfs mounted on `<root>/disk` under a
// fresh temp dir, filled to the last byte by a filler file, freed, unmounted. Mounting needs root
// (CAP_SYS_ADMIN): without it `dir` is null and `skipped` says why, and the test skips with that reason,
// never fakes the full disk on another one. The chaos runs' disk (one big tmpfs, topped up while full) is
// test/scale/disk.ts.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class TestTmpfs {
  private readonly fillers = new Set<string>();

  private constructor(
    /** a fresh temp dir holding the mount point; for the test's other files too (removed by dispose) */
    readonly root: string,
    /** the tmpfs, or null when it could not be mounted */
    readonly dir: string | null,
    /** why it could not be mounted, null when it was */
    readonly skipped: string | null,
  ) {}

  /**
   * Mounts a tmpfs of `size` (mount's syntax: "64k", "2m") on `<root>/disk`, root a new temp dir named
   * after `label` (e.g. "cf-hookfull-"), or on `at` (a directory made if missing; unmounted, not removed, by
   * dispose). Never throws for a mount refused: see `skipped`.
   */
  static mount(label: string, size: string, at?: string): TestTmpfs {
    const root = mkdtempSync(join(tmpdir(), label));
    const m = at ?? join(root, "disk");
    mkdirSync(m, { recursive: true });
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", m], { encoding: "utf8" });
    if (r.status === 0) return new TestTmpfs(root, m, null);
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim();
    return new TestTmpfs(root, null, `cannot mount a tmpfs (needs root): ${why}`);
  }

  /** The tmpfs's dir; throws when it is not mounted (check `dir` or skip on `skipped` first). */
  get mounted(): string {
    if (!this.dir) throw new Error(this.skipped ?? "no tmpfs");
    return this.dir;
  }

  /**
   * Fills the tmpfs with the file `name` until a write fails with ENOSPC (64 KiB writes, then 512-byte ones
   * for the last page), so the next write of any size fails. Returns the filler's path. Throws any other
   * write error.
   */
  fill(name = "filler"): string {
    const filler = join(this.mounted, name);
    this.fillers.add(filler);
    const fd = openSync(filler, "a");
    try {
      for (const size of [65536, 512]) {
        const chunk = Buffer.alloc(size, 1);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        }
      }
    } finally {
      closeSync(fd);
    }
    return filler;
  }

  /** Deletes the fillers: the space is back. */
  free(): void {
    for (const f of this.fillers) if (existsSync(f)) unlinkSync(f);
    this.fillers.clear();
  }

  /** Unmounts the tmpfs (lazily: a handle still open in it does not stop it) and removes `root`. */
  dispose(): void {
    if (this.dir) spawnSync("umount", ["-l", this.dir]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
