// Reading files from directories other processes write into (the spool, the inbox): only regular files,
// never through a symlink, never more than a cap, never blocking on a FIFO or a device (issue 14).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from "node:fs";

export type SafeRead =
  | { ok: true; bytes: Buffer; st: Stats }
  /** gone: vanished before or while read; changed: another file took its place or it grew while read */
  | { ok: false; kind: "gone" | "not_regular" | "too_large" | "changed" | "unreadable"; reason: string };

/** What lstat says an entry is, in words for a rejection reason. */
export function entryKind(st: Stats): string {
  if (st.isFile()) return "regular file";
  if (st.isSymbolicLink()) return "symbolic link";
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "FIFO";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "device";
  return "special file";
}

/**
 * Reads `path` if it is a regular file (lstat, then open with O_NOFOLLOW|O_NONBLOCK and fstat the
 * descriptor: a symlink or FIFO swapped in between is caught without following or blocking) of at most
 * `maxBytes`. `expect` (an lstat taken earlier) must still describe the same file.
 */
export function readRegularFile(path: string, maxBytes: number, expect?: Stats): SafeRead {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    return errnoResult(e);
  }
  if (!st.isFile()) return { ok: false, kind: "not_regular", reason: `not a regular file: ${entryKind(st)}` };
  if (st.size > maxBytes)
    return { ok: false, kind: "too_large", reason: `too large: ${st.size} bytes, the limit is ${maxBytes}` };
  if (expect && (expect.ino !== st.ino || expect.dev !== st.dev))
    return { ok: false, kind: "changed", reason: "replaced while being read" };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP")
      return { ok: false, kind: "not_regular", reason: "not a regular file: symbolic link" };
    return errnoResult(e);
  }
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) return { ok: false, kind: "not_regular", reason: `not a regular file: ${entryKind(fst)}` };
    if (fst.ino !== st.ino || fst.dev !== st.dev)
      return { ok: false, kind: "changed", reason: "replaced while being read" };
    // One byte more than allowed tells a file that grew past the cap from one that is exactly at it.
    const buf = Buffer.alloc(Math.min(maxBytes, fst.size) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    if (n > maxBytes) return { ok: false, kind: "too_large", reason: `too large: more than ${maxBytes} bytes` };
    if (n === buf.length) return { ok: false, kind: "changed", reason: "grew while being read" };
    return { ok: true, bytes: buf.subarray(0, n), st: fst };
  } catch (e) {
    return errnoResult(e);
  } finally {
    closeSync(fd);
  }
}

function errnoResult(e: unknown): SafeRead {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return { ok: false, kind: "gone", reason: "gone" };
  return { ok: false, kind: "unreadable", reason: `unreadable: ${code ?? (e as Error).message}` };
}
