// Durable, atomic file writes and private directories that are what they claim to be (issue 14).
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { CfError } from "./errors.js";

/** The system calls writeFileAtomic makes: the seam through which tests inject short writes and ENOSPC. */
export interface FileIo {
  openSync(path: string, flags: number, mode: number): number;
  /** Writes from buf[offset, offset+length); returns how many bytes were written (may be fewer). */
  writeSync(fd: number, buf: Buffer, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

export const nodeFileIo: FileIo = {
  openSync: (p, f, m) => openSync(p, f, m),
  writeSync: (fd, b, o, l) => writeSync(fd, b, o, l),
  fsyncSync: (fd) => fsyncSync(fd),
  closeSync: (fd) => closeSync(fd),
  renameSync: (a, b) => renameSync(a, b),
  unlinkSync: (p) => unlinkSync(p),
};

/** A failed durable write. code "disk_full" for ENOSPC/EDQUOT, else "write_failed"; `path` is the target. */
export class WriteFailedError extends CfError {
  constructor(
    readonly path: string,
    readonly errno: string,
    cause: unknown,
  ) {
    super(
      errno === "ENOSPC" || errno === "EDQUOT" ? "disk_full" : "write_failed",
      `writing ${path} failed: ${describe(cause)}`,
      { cause },
    );
  }
}

export type WriteFailureListener = (e: WriteFailedError) => void;
const listeners = new Set<WriteFailureListener>();

/**
 * Tells `fn` about every failed writeFileAtomic in this process (the daemon turns them into an event and
 * a line in `status`). Returns the function that removes it.
 */
export function onWriteFailure(fn: WriteFailureListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Writes `data` to `path` so that a reader, a crash or a full disk never leaves a torn file: a new temp
 * file (O_EXCL|O_NOFOLLOW, so a planted symlink is never written through) is written fully (short writes
 * looped), fsynced, renamed over `path`, then the directory is fsynced so the rename itself survives a
 * power cut. On any failure the temp file is removed, the old file at `path` is left as it was, listeners
 * are told, and WriteFailedError is thrown.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, io: FileIo = nodeFileIo): void {
  const dir = dirname(path);
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | null = null;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = io.openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    for (let off = 0; off < buf.length;) {
      const n = io.writeSync(fd, buf, off, buf.length - off);
      if (n <= 0)
        throw Object.assign(new Error(`write returned ${n} at byte ${off} of ${buf.length}`), { code: "EIO" });
      off += n;
    }
    io.fsyncSync(fd);
    const closing = fd;
    fd = null;
    io.closeSync(closing);
    io.renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) ignore(() => io.closeSync(fd!));
    ignore(() => io.unlinkSync(tmp));
    throw fail(path, e);
  }
  try {
    fsyncDir(dir, io);
  } catch (e) {
    throw fail(path, e);
  }
}

/** fsyncs a directory, so a rename or unlink in it is on disk. File systems that can't (EINVAL) are let be. */
export function fsyncDir(dir: string, io: FileIo = nodeFileIo): void {
  const fd = io.openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY, 0);
  try {
    io.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EBADF") throw e;
  } finally {
    io.closeSync(fd);
  }
}

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}

/**
 * Creates `path` (and its parents) with mode 0700 if missing, then insists it is a real directory, not a
 * symlink (to somewhere else) or another kind of file, owned by this user and not writable by everyone:
 * a directory we move or write files into must be ours. Throws CfError("unsafe_dir") saying what is wrong and where.
 */
export function ensureRealDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw new CfError("unsafe_dir", `${path} is a symbolic link; it must be a real directory`);
  if (!st.isDirectory()) throw new CfError("unsafe_dir", `${path} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new CfError("unsafe_dir", `${path} is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if (st.mode & 0o002)
    throw new CfError(
      "unsafe_dir",
      `${path} is writable by everyone (mode ${(st.mode & 0o777).toString(8)}); chmod o-w it`,
    );
}

function fail(path: string, e: unknown): WriteFailedError {
  const err =
    e instanceof WriteFailedError ? e : new WriteFailedError(path, (e as NodeJS.ErrnoException)?.code ?? "EIO", e);
  for (const l of listeners) ignore(() => l(err));
  return err;
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "ENOSPC") return "ENOSPC: no space left on device";
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

function ignore(fn: () => void): void {
  try {
    fn();
  } catch {
    /* best effort */
  }
}
