// Doctor checks of each login's age (from the daemon's login ledger, read-only) and of how the usage
// endpoint treats this client (asked of the running daemon, if any).
import { readCredentials } from "../accounts/credentials.js";
import { loginView, readLoginLedger, type LoginView } from "../accounts/login-ledger.js";
import { pathsFor } from "../config/paths.js";
import { localCall } from "./control-client.js";
import type { Config } from "../config/types.js";
import { humanDuration, ok, warn, type Check } from "./doctor-report.js";

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** One line about a login's age, shared by doctor and the docs' examples. */
export function describeLogin(v: LoginView, now: number): string {
  if (v.loginKnown === "none") return "no login";
  if (v.loginAgeMs === null || v.loginEndsBy === null)
    return "login time not recorded yet (the daemon records it while it runs)";
  const end = v.loginEndsBy > now ? `likely ends around ${day(v.loginEndsBy)}` : "may already have ended";
  if (v.loginKnown === "observed") return `logged in ${humanDuration(v.loginAgeMs)} ago (${day(v.loginAt!)}); ${end}`;
  return `login at least ${humanDuration(v.loginAgeMs)} old (it predates the daemon's first look); ${v.loginEndsBy > now ? `ends by ${day(v.loginEndsBy)} at the latest` : end}`;
}

/** Per account with credentials: ok with the login's age, warn ahead of its likely end (about 30 days after login). */
export function checkLogins(c: Config, now: number): Check[] {
  const ledger = readLoginLedger(pathsFor(c).loginLedger);
  const out: Check[] = [];
  for (const a of c.accounts) {
    const r = readCredentials(a.home);
    if (!r.ok) continue; // the credentials check already says "needs login"
    const v = loginView(ledger[a.name], { expiresAt: r.creds.expiresAt, refreshToken: r.creds.refreshToken }, now);
    const name = `account ${a.name}: login`;
    if (v.loginKnown === "none") continue; // no refresh token: the credentials check covers it
    out.push(
      v.warning
        ? warn(
            name,
            `${describeLogin(v, now)}; ${v.warning}`,
            `claude-failover login ${a.name} (before it ends, to keep the account usable)`,
          )
        : ok(name, describeLogin(v, now)),
    );
  }
  return out;
}

type Obj = Record<string, unknown>;

/**
 * Asks the running daemon (its control socket) how the usage endpoint treats us: "refused" (429 with
 * retry-after 0, repeatedly: it does not take us for the CLI) is a warning. No daemon: no check.
 */
export async function checkUsageEndpoint(c: Config): Promise<Check | null> {
  let accounts: Obj[];
  try {
    const r = await localCall(c, "GET", "/accounts");
    if (r.status !== 200 || !Array.isArray(r.body)) return null;
    accounts = r.body as Obj[];
  } catch {
    return null;
  }
  const name = "usage endpoint";
  const status = (a: Obj) => String((a.usage as Obj | null)?.status ?? "never");
  const refused = accounts.filter((a) => status(a) === "refused").map((a) => String(a.name));
  const expired = accounts.filter((a) => status(a) === "token_expired").map((a) => String(a.name));
  if (refused.length) {
    return warn(
      name,
      `refuses this client (429 with retry-after 0, repeatedly) for ${refused.join(", ")}: their figures come only from the status-line feed of running CLIs`,
      'check that `claude --version` works for the daemon\'s user (the User-Agent is claude-code/<that version>), then `kill -HUP` the daemon; see docs/operations.md, "The usage endpoint refuses this client"',
    );
  }
  const counts = new Map<string, number>();
  for (const a of accounts) counts.set(status(a), (counts.get(status(a)) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
  return ok(
    name,
    `answering (accounts: ${summary || "none"})${expired.length ? `; access token expired, refreshed by a running CLI: ${expired.join(", ")}` : ""}`,
  );
}
