// Helpers for inbox tests: drop task files the way a well-behaved writer does (write elsewhere, rename in).
import { mkdirSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TaskFileSpec {
  name: string;
  prompt: string;
  front?: Record<string, string | number>;
}

export function taskText(t: { prompt: string; front?: Record<string, string | number> }): string {
  if (!t.front || !Object.keys(t.front).length) return `${t.prompt}\n`;
  const lines = Object.entries(t.front).map(([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : v}`);
  return `---\n${lines.join("\n")}\n---\n${t.prompt}\n`;
}

/**
 * Writes each file in a staging dir beside the inbox, backdates it (as `cp -p` would) so it is not
 * mistaken for one still being written, then renames them all into the inbox in one burst.
 */
export function dropFiles(inboxDir: string, files: TaskFileSpec[], stagingDir = join(inboxDir, "..", "staging")): void {
  mkdirSync(stagingDir, { recursive: true });
  mkdirSync(inboxDir, { recursive: true });
  const past = new Date(Date.now() - 60_000);
  for (const f of files) {
    writeFileSync(join(stagingDir, f.name), taskText(f));
    utimesSync(join(stagingDir, f.name), past, past);
  }
  for (const f of files) renameSync(join(stagingDir, f.name), join(inboxDir, f.name));
}
