import { join } from "node:path";
import { ensureRealDir, writeFileAtomic } from "../util/fs-atomic.js";

/**
 * A task id as a file name: ids are validated on the way in (letters, digits, `.`, `_`, `-`), but the
 * outbox does not rely on it: anything else becomes `_`, a leading dot too (no hidden files, no `..`),
 * and the length is capped.
 */
export function resultFileStem(taskId: string): string {
  const s = taskId
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^\./, "_")
    .slice(0, 128);
  return s || "_";
}

/**
 * Writes a task's result as `<outbox>/<task id>.md` (mode 0600), durably and atomically (a reader never
 * sees half of it, a full disk leaves no torn file). The outbox must be a real directory of ours: one that
 * is a symlink is refused (CfError "unsafe_dir"), never written through.
 */
export function writeResult(outboxDir: string, taskId: string, result: string): string {
  ensureRealDir(outboxDir);
  const path = join(outboxDir, `${resultFileStem(taskId)}.md`);
  writeFileAtomic(path, result.endsWith("\n") ? result : `${result}\n`, 0o600);
  return path;
}
