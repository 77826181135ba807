// The chaos run's "disk": one size-limited tmpfs holding everything the daemon and the CLIs write (state
// dir with state.db, spool, checkpoints, inbox/outbox; the account homes with the transcripts; the daemon's
// log), so a full disk is full for all of them at once, as for a user whose home fills up. Mounting needs
// root (or CAP_SYS_ADMIN): without it the fault is skipped with the reason, never faked on another disk.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class ScratchDisk {
  private fillerFd: number | null = null;
  private readonly filler: string;
  private readonly onExit = (): void => this.unmount();

  private constructor(
    /** the mount point: the harness's root is made inside it */
    readonly dir: string,
    readonly sizeMb: number,
  ) {
    this.filler = join(dir, ".chaos-disk-filler");
    // A run stopped by ^C or an exception still unmounts (process.exit runs 'exit' listeners).
    process.once("exit", this.onExit);
  }

  /** Mounts a tmpfs of `sizeMb` on a new dir under the system's temp dir; the reason when it can't. */
  static mount(sizeMb: number): ScratchDisk | { skipped: string } {
    const dir = mkdtempSync(join(tmpdir(), "cf-disk-"));
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "tmpfs", dir], {
      encoding: "utf8",
    });
    if (r.status !== 0) {
      rmdirSync(dir);
      return { skipped: `cannot mount a tmpfs (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})` };
    }
    return new ScratchDisk(dir, sizeMb);
  }

  /** Bytes free on the tmpfs. */
  freeBytes(): number {
    const s = statfsSync(this.dir);
    return s.bavail * s.bsize;
  }

  /**
   * Fills the disk with the filler file until a write fails with ENOSPC (1 MiB writes, then 4 KiB ones for
   * the rest); called again it tops the filler up (space the daemon or a CLI freed meanwhile). Returns the
   * bytes written by this call.
   */
  fill(): number {
    this.fillerFd ??= openSync(this.filler, "a", 0o600);
    let n = 0;
    for (const size of [1 << 20, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (;;) {
        try {
          n += writeSync(this.fillerFd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw e;
        }
      }
    }
    return n;
  }

  /** Deletes the filler: the space is back. */
  free(): void {
    if (this.fillerFd !== null) closeSync(this.fillerFd);
    this.fillerFd = null;
    try {
      unlinkSync(this.filler);
    } catch {
      /* not there */
    }
  }

  /** SOAK_KEEP: the mount stays after the run (the filler is deleted). */
  keep(): void {
    process.removeListener("exit", this.onExit);
    this.free();
  }

  /** Frees and unmounts (lazily: a CLI still holding a file there does not keep the mount), then removes the dir. */
  unmount(): void {
    process.removeListener("exit", this.onExit);
    this.free();
    spawnSync("umount", ["-l", this.dir]);
    try {
      rmdirSync(this.dir);
    } catch {
      /* still busy or gone */
    }
  }
}
