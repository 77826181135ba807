// Doctor checks of the account homes and the shared conversation tree.
import { accessSync, constants, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { credentialsPath, readCredentials } from "../accounts/credentials.js";
import { SHARED_DIRS, sharedDirFor } from "../accounts/homes.js";
import type { AccountConfig, Config } from "../config/types.js";
import { describeDuplicate, duplicateLogins, readIdentity } from "./identity.js";
import { fail, humanDuration, ok, warn, type Check } from "./doctor-report.js";

const RESTART_FIX =
  "restart the daemon (systemctl restart claude-failover, or run `claude-failover daemon`): it merges a real directory into the shared tree and links it again";

export function checkHomes(c: Config, now: number): Check[] {
  const out: Check[] = [checkSharedTree(c)];
  for (const a of c.accounts) out.push(...checkHome(c, a, now));
  const ids = c.accounts.filter((a) => readCredentials(a.home).ok).map((a) => readIdentity(a.name, a.home));
  for (const d of duplicateLogins(ids))
    out.push(
      fail(
        `accounts ${d.a}, ${d.b}`,
        describeDuplicate(d),
        `log one of them in to a different account: claude-failover login ${d.b}`,
      ),
    );
  return out;
}

function checkSharedTree(c: Config): Check {
  const name = "shared tree";
  const problems: string[] = [];
  for (const d of SHARED_DIRS) {
    const p = sharedDirFor(c.sessions.shared_projects_dir, d);
    try {
      if (!statSync(p).isDirectory()) problems.push(`${p} is not a directory`);
      else accessSync(p, constants.W_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(code === "ENOENT" ? `${p} is missing` : `${p}: not writable (${code})`);
    }
  }
  if (problems.length === 0) return ok(name, `${dirname(c.sessions.shared_projects_dir)} (${SHARED_DIRS.join(", ")})`);
  // With only unmanaged homes (the quick start: your own ~/.claude) nothing links into the tree: the
  // CLI creates each folder the first time it writes there, so a missing one is normal.
  const onlyMissing = problems.every((p) => p.endsWith(" is missing"));
  if (onlyMissing && !c.accounts.some((a) => a.managed)) {
    return ok(
      name,
      `${dirname(c.sessions.shared_projects_dir)} (the CLI creates ${problems.length} folder(s) not there yet when it first writes)`,
    );
  }
  return fail(
    name,
    problems.join("; "),
    "run `claude-failover init`, or restart the daemon (systemctl restart claude-failover, or Ctrl-C and run it again): both create it (check ownership if it is not writable)",
  );
}

function checkHome(c: Config, a: AccountConfig, now: number): Check[] {
  const who = `account ${a.name}`;
  try {
    if (!statSync(a.home).isDirectory())
      return [fail(who, `${a.home} is not a directory`, "fix accounts[].home in the config")];
  } catch {
    return [
      fail(
        who,
        `home ${a.home} does not exist`,
        "run `claude-failover init` or start the daemon (managed homes are created), then log in",
      ),
    ];
  }
  const out = [checkCredentials(a, now)];
  if (a.managed) out.push(checkLinks(c, a), checkClaudeJson(c, a));
  return out;
}

function checkCredentials(a: AccountConfig, now: number): Check {
  const name = `account ${a.name}: credentials`;
  const r = readCredentials(a.home);
  if (!r.ok)
    return fail(
      name,
      r.reason === "missing" ? `${r.detail} (needs login)` : r.detail,
      `claude-failover login ${a.name}`,
    );
  const mode = statSync(credentialsPath(a.home)).mode & 0o777;
  if (mode & 0o077)
    return fail(
      name,
      `${credentialsPath(a.home)} is readable by others (mode ${mode.toString(8)})`,
      `chmod 600 ${credentialsPath(a.home)}`,
    );
  const { expiresAt, refreshToken, subscriptionType } = r.creds;
  const plan = subscriptionType ? `${subscriptionType}, ` : "";
  if (expiresAt === null) return warn(name, `${plan}no expiry time in the file`);
  if (expiresAt > now) return ok(name, `${plan}access token valid for ${humanDuration(expiresAt - now)}`);
  const ago = `access token expired ${humanDuration(now - expiresAt)} ago`;
  if (!refreshToken)
    return fail(name, `${plan}${ago} and there is no refresh token`, `claude-failover login ${a.name}`);
  return warn(name, `${plan}${ago}; the CLI refreshes it at its next request`);
}

function checkLinks(c: Config, a: AccountConfig): Check {
  const name = `account ${a.name}: links to the shared tree`;
  const problems: string[] = [];
  for (const d of SHARED_DIRS) {
    const at = join(a.home, ".claude", d);
    const target = sharedDirFor(c.sessions.shared_projects_dir, d);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      problems.push(`${at} is missing`);
      continue;
    }
    if (st.isSymbolicLink()) {
      const to = resolve(dirname(at), readlinkSync(at));
      if (to !== resolve(target)) problems.push(`${at} points at ${to}, not ${target}`);
    } else if (st.isDirectory()) {
      problems.push(
        `${at} is a real directory, not a link to ${target} (the CLI recreated it; conversations there are not shared)`,
      );
    } else {
      problems.push(`${at} is a file, not a link to ${target}`);
    }
  }
  if (problems.length === 0)
    return ok(name, `.claude/{${SHARED_DIRS.join(",")}} -> ${dirname(c.sessions.shared_projects_dir)}`);
  return fail(name, problems.join("; "), RESTART_FIX);
}

function checkClaudeJson(c: Config, a: AccountConfig): Check {
  const name = `account ${a.name}: .claude.json`;
  const path = join(a.home, ".claude.json");
  const fix = "restart the daemon or run `claude-failover init`: both seed it (keeping the CLI's own keys)";
  let doc: { hasCompletedOnboarding?: unknown; projects?: Record<string, { hasTrustDialogAccepted?: unknown }> };
  try {
    doc = JSON.parse(readFileSync(path, "utf8")) as typeof doc;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    if (missing) return fail(name, `${path} is missing`, fix);
    // Never replaced by the daemon (it may hold the account's login and approvals): issue 13 point 8.
    return fail(
      name,
      `${path} is not valid JSON`,
      `repair it by hand, or copy the newest ${join(a.home, ".claude", "backups")}/.claude.json.backup.* (the CLI keeps them) over it, then restart the daemon; the daemon never replaces a file that does not parse`,
    );
  }
  if (doc.hasCompletedOnboarding !== true)
    return fail(name, "onboarding not marked done: the CLI would stop at its first-run screens", fix);
  const projects = c.dedicated.map((d) => d.project);
  if (c.pool.project) projects.push(c.pool.project);
  const untrusted = projects.filter((p) => doc.projects?.[p]?.hasTrustDialogAccepted !== true);
  if (untrusted.length)
    return fail(
      name,
      `projects not trusted yet: ${untrusted.join(", ")} (the CLI would stop at the trust dialog)`,
      fix,
    );
  return ok(name, `seeded (onboarding done, ${projects.length} project(s) trusted)`);
}
