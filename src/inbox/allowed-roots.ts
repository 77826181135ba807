// Which projects a task may run in (issue 13 point 4). A task's project becomes trusted in every managed
// account home (so its .claude/settings.json hooks and MCP servers run without the CLI's trust dialog), so
// it must lie inside a root the operator configured (`inbox.allowed_roots`), never be `/` or the home
// directory itself, and never leave a root through a symlink.
import { realpathSync } from "node:fs";
import { sep } from "node:path";

export type ProjectCheck = { ok: true } | { ok: false; reason: string };

/**
 * Is `project` (an absolute, existing directory) allowed? Compared by real path (symlinks resolved) against
 * the real path of each root: equal to a root or below it. `/` and the home directory (given, or real) are
 * refused whatever the roots say. `realpath` is injectable for tests; it throws for a missing path.
 */
export function checkAllowedProject(
  project: string,
  roots: readonly string[],
  home: string,
  realpath: (p: string) => string = realpathSync,
): ProjectCheck {
  let real: string;
  try {
    real = realpath(project);
  } catch (e) {
    return { ok: false, reason: `project: ${project} can't be resolved: ${(e as Error).message}` };
  }
  if (project === "/" || real === "/")
    return { ok: false, reason: `project: ${project} is the root directory, never allowed as a project` };
  const homes = new Set([home.replace(/\/+$/, "")]);
  try {
    homes.add(realpath(home));
  } catch {
    /* no such home */
  }
  if (homes.has(project) || homes.has(real))
    return {
      ok: false,
      reason: `project: ${project} is the home directory, never allowed as a project (allow a folder below it in inbox.allowed_roots)`,
    };
  if (!roots.length)
    return { ok: false, reason: `project: ${project} is not inside any of inbox.allowed_roots (none configured)` };
  for (const root of roots) {
    let r: string;
    try {
      r = realpath(root);
    } catch {
      continue; // a root that does not exist allows nothing
    }
    if (real === r || real.startsWith(r === "/" ? "/" : r + sep)) return { ok: true };
  }
  const via = real !== project ? ` (it resolves to ${real} through a symlink)` : "";
  return {
    ok: false,
    reason: `project: ${project}${via} is not inside any of inbox.allowed_roots: ${roots.join(", ")}`,
  };
}
