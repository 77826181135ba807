// util/dir-watch.ts on a real directory: rings for entries renamed in and removed, stays silent for
// ignored names, throws for a missing directory, and close() releases its fs.watch handle (libuv frees a
// closed handle on the next loop turn, hence the waits).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { watchDirEntries } from "../../src/util/dir-watch.js";
import { waitFor } from "../support/wait.js";

const fsWatches = () => process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length;
const turn = () => new Promise<void>((r) => setImmediate(r));

describe("watchDirEntries", () => {
  let root: string;
  let serial = 0;
  const freshDir = () => {
    const d = join(root, `d${++serial}`);
    mkdirSync(d);
    return d;
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-dirwatch-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("rings with the entry's name for a file renamed in and removed, not for ignored names", async () => {
    const dir = freshDir();
    const rung: (string | null)[] = [];
    const w = watchDirEntries(dir, (n) => rung.push(n), { ignore: (n) => n.startsWith(".") });
    try {
      writeFileSync(join(dir, ".a.tmp"), "x");
      renameSync(join(dir, ".a.tmp"), join(dir, "a"));
      await waitFor(() => rung.includes("a"), 5000, "rung for the rename");
      unlinkSync(join(dir, "a"));
      await waitFor(() => rung.filter((n) => n === "a").length >= 2, 5000, "rung for the removal");
      assert.ok(
        rung.every((n) => n === "a"),
        `only the entry, not its temp file: ${rung.join(",")}`,
      );
    } finally {
      w.close();
    }
  });

  it("close() releases the handle and is idempotent; nothing rings after it", async () => {
    const dir = freshDir();
    await turn();
    const base = fsWatches();
    const rung: (string | null)[] = [];
    const w = watchDirEntries(dir, (n) => rung.push(n));
    assert.equal(fsWatches(), base + 1);
    w.close();
    w.close();
    await waitFor(() => fsWatches() <= base, 5000, "the fs.watch handle released");
    writeFileSync(join(dir, "late"), "x");
    // Something to wait for that does ring: a second watch sees the write, the closed one must not.
    const seen: (string | null)[] = [];
    const w2 = watchDirEntries(dir, (n) => seen.push(n));
    try {
      writeFileSync(join(dir, "later"), "x");
      await waitFor(() => seen.includes("later"), 5000, "the live watch rang");
      assert.deepEqual(rung, []);
    } finally {
      w2.close();
    }
  });

  it("reports the directory removed, or replaced by a new one, to onError and rings no more", async () => {
    // fs.watch itself says nothing (no 'error'): the inotify watch ends with a 'rename' of the directory's
    // own name, and a directory made again at the path is another inode, never watched.
    for (const how of ["removed", "replaced"] as const) {
      const dir = freshDir();
      const rung: (string | null)[] = [];
      const errors: NodeJS.ErrnoException[] = [];
      const w = watchDirEntries(dir, (n) => rung.push(n), { onError: (e) => errors.push(e) });
      try {
        writeFileSync(join(dir, "a"), "x");
        await waitFor(() => rung.includes("a"), 5000, `${how}: rang before`);
        rmSync(dir, { recursive: true });
        if (how === "replaced") mkdirSync(dir);
        await waitFor(() => errors.length > 0, 5000, `${how}: onError told`);
        assert.equal(errors.length, 1, `${how}: told once`);
        assert.equal(errors[0]!.code, "ENOENT", `${how}: ${errors[0]!.message}`);
        const before = rung.length;
        if (how === "removed") mkdirSync(dir);
        writeFileSync(join(dir, "b"), "x");
        await turn();
        assert.equal(rung.length, before, `${how}: nothing rings after the error`);
      } finally {
        w.close();
      }
    }
  });

  it("throws ENOENT for a missing directory", () => {
    assert.throws(
      () => watchDirEntries(join(root, "missing"), () => {}),
      (e: NodeJS.ErrnoException) => e.code === "ENOENT",
    );
  });
});
