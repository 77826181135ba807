// Doctor check: can the daemon's hooks run at all? Managed settings (the administrator's, which no
// --settings file can override) with `disableAllHooks: true` or `allowManagedHooksOnly: true` silence them:
// no SessionStart ever comes and sessions fail at sessions.start_timeout (issue 13 point 5).
// Where the CLI reads them on Linux: /etc/claude-code/managed-settings.json and the drop-ins in
// /etc/claude-code/managed-settings.d/*.json (read from the CLI's code, 2.1.197 and 2.1.332;
// docs/notes/hooks-settings.md).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, ok, warn, type Check } from "./doctor-report.js";

export const MANAGED_SETTINGS_DIR = "/etc/claude-code";

/** The managed settings files that exist under `dir`, main file first, drop-ins in name order. */
function managedFiles(dir: string): string[] {
  const files = [join(dir, "managed-settings.json")];
  try {
    files.push(
      ...readdirSync(join(dir, "managed-settings.d"))
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => join(dir, "managed-settings.d", f)),
    );
  } catch {
    /* no drop-in dir */
  }
  return files;
}

export function checkManagedSettings(dir = MANAGED_SETTINGS_DIR): Check {
  const name = "hooks (managed settings)";
  const blocking: string[] = [];
  const unreadable: string[] = [];
  let seen = 0;
  for (const f of managedFiles(dir)) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        unreadable.push(`${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      continue;
    }
    seen++;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      unreadable.push(`${f}: not JSON (${(e as Error).message})`);
      continue;
    }
    const d = (doc && typeof doc === "object" ? doc : {}) as Record<string, unknown>;
    for (const k of ["disableAllHooks", "allowManagedHooksOnly"])
      if (d[k] === true) blocking.push(`${f} sets ${k}: true`);
  }
  if (blocking.length) {
    return fail(
      name,
      `${blocking.join("; ")}: the CLI then runs none of claude-failover's hooks, so no session ever reports that it started (they fail after sessions.start_timeout)`,
      "ask the machine's administrator to remove that key (managed settings rank above every other settings file), or run the daemon where it does not apply",
    );
  }
  if (unreadable.length)
    return warn(
      name,
      `could not check ${unreadable.join("; ")}`,
      "make it readable, or check it for disableAllHooks / allowManagedHooksOnly yourself",
    );
  return ok(
    name,
    seen ? `${seen} managed settings file(s) in ${dir}, none blocks hooks` : `no managed settings in ${dir}`,
  );
}
