// A doorbell on one directory's entries: fs.watch on the directory itself (one inotify watch, none per
// file), closed for good by close(). It replaces chokidar for the spool: chokidar 4 watches every file
// too, and a file removed just before close() could make it watch again after close() (its per-file
// listener's stat fails after close → _remove → add(), which clears `closed` and watches the directory,
// or the nearest parent still there), an fs.watch handle left open that keeps the process from exiting
// (docs/reliability.md, "a watcher left open after Spool.stop").
import { watch, type FSWatcher } from "node:fs";

/** A running watch; close() is idempotent and final. */
export interface DirWatch {
  close(): void;
}

export interface DirWatchOptions {
  /** entry names to stay silent for (e.g. a writer's temp files) */
  ignore?: (name: string) => boolean;
  /** told of a watch error (the directory removed, inotify's queue or limits): the watch is closed then */
  onError?: (e: Error) => void;
}

/**
 * Calls `ring(name)` when an entry of `dir` is created, renamed in or out, removed, or changed (`name` is the
 * entry's name, null when the platform does not give one; subdirectories' contents are not watched).
 * Nothing is called after close() or after an error (reported to `onError` once, the watch then closed).
 * Throws what fs.watch throws at once: ENOENT/ENOTDIR for a missing directory, ENOSPC when the inotify
 * watch limit is reached.
 */
export function watchDirEntries(
  dir: string,
  ring: (name: string | null) => void,
  opts: DirWatchOptions = {},
): DirWatch {
  let closed = false;
  const w: FSWatcher = watch(dir, { persistent: true }, (_type, name) => {
    if (closed) return;
    const n = name === null || name === undefined ? null : String(name);
    if (n !== null && opts.ignore?.(n)) return;
    ring(n);
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    w.close();
  };
  w.on("error", (e: Error) => {
    if (closed) return;
    close();
    opts.onError?.(e);
  });
  return { close };
}
