// A doorbell on one directory's entries: fs.watch on the directory itself (one inotify watch, none per
// file), closed for good by close(). It replaces chokidar for the spool: chokidar 4 watches every file
// too, and a file removed just before close() could make it watch again after close() (its per-file
// listener's stat fails after close → _remove → add(), which clears `closed` and watches the directory,
// or the nearest parent still there), an fs.watch handle left open that keeps the process from exiting
// (docs/reliability.md, "a watcher left open after Spool.stop").
import { statSync, watch, type BigIntStats, type FSWatcher } from "node:fs";
import { basename } from "node:path";

/** A running watch; close() is idempotent and final. */
export interface DirWatch {
  close(): void;
}

export interface DirWatchOptions {
  /** entry names to stay silent for (e.g. a writer's temp files) */
  ignore?: (name: string) => boolean;
  /**
   * told of a watch error (the directory removed, moved away or replaced: ENOENT; inotify's limits): the
   * watch is closed then
   */
  onError?: (e: Error) => void;
}

/**
 * Calls `ring(name)` when an entry of `dir` is created, renamed in or out, removed, or changed (`name` is the
 * entry's name, null when the platform does not give one; subdirectories' contents are not watched).
 * Nothing is called after close() or after an error (reported to `onError` once, the watch then closed).
 * fs.watch itself reports no error when the directory goes: its inotify watch just ends, with an event
 * named after the directory; such an event is checked (the path still that directory: same device, inode
 * and birth time, as an inode number is reused at once) and the directory removed, moved away or replaced
 * is an ENOENT error.
 * Throws what fs.watch throws at once: ENOENT/ENOTDIR for a missing directory, ENOSPC when the inotify
 * watch limit is reached.
 */
export function watchDirEntries(
  dir: string,
  ring: (name: string | null) => void,
  opts: DirWatchOptions = {},
): DirWatch {
  let closed = false;
  const self = basename(dir);
  const id = statSync(dir, { bigint: true }); // what the path is now (ENOENT/ENOTDIR thrown as fs.watch would)
  const w: FSWatcher = watch(dir, { persistent: true }, (_type, name) => {
    if (closed) return;
    const n = name === null || name === undefined ? null : String(name);
    // An event about the directory itself (libuv names it after the directory: deleted, moved, its mode
    // changed) or with no name: is the path still the directory watched?
    if ((n === null || n === self) && !sameDir(dir, id)) {
      const e = Object.assign(new Error(`${dir} was removed, moved away or replaced: no longer watched`), {
        code: "ENOENT",
      });
      return fail(e);
    }
    if (n !== null && opts.ignore?.(n)) return;
    ring(n);
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    w.close();
  };
  const fail = (e: Error): void => {
    if (closed) return;
    close();
    opts.onError?.(e);
  };
  w.on("error", fail);
  return { close };
}

function sameDir(dir: string, id: BigIntStats): boolean {
  try {
    const st = statSync(dir, { bigint: true });
    return st.isDirectory() && st.dev === id.dev && st.ino === id.ino && st.birthtimeNs === id.birthtimeNs;
  } catch {
    return false;
  }
}
