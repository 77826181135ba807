// When each account's login happened, as far as the daemon can tell, to warn before it ends.
//
// Logins end: refresh tokens reportedly stop working about 30 days after the login [reported by
// peers]. Neither `.claude/.credentials.json` (claudeAiOauth: accessToken, refreshToken, expiresAt,
// scopes, subscriptionType, rateLimitTier, clientId) nor `.claude.json` (oauthAccount: account and
// organization ids, email, billing fields) records when the login happened, and the CLI rotates the
// refresh token at every refresh, so the time of a login is inferred by watching the file:
//
// - the CLI refreshes only when its access token is within 5 minutes of expiry (or on a 401): seen in
//   the 2.1.197 binary as `Date.now() + 300000 >= expiresAt`. A new refresh token written while the
//   previous access token still had well over that left is therefore a new login, at the file's mtime;
//   one written near or after the previous expiry is a rotation of the same login;
// - a refresh token appearing where there was none (no file, no token, or the empty token the CLI
//   leaves after an invalid_grant) is a new login;
// - a login already there when the daemon first looks has an unknown time: only "at least as old as
//   the first sighting" is known (a lower bound of its age; its end is at the latest 30 days after).
// Limits: a re-login done while the old access token had expired looks like a rotation (the age is
// then over-estimated: the warning comes early, never late). Only fingerprints (sha256 prefixes) of
// refresh tokens are stored, never tokens; the credentials file is only read.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/fs-atomic.js";
import { readCredentials } from "./credentials.js";

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
/** How long a login lasts [reported by peers, not documented]. */
export const LOGIN_LIFETIME_MS = 30 * DAY;
/** Warn this long before a login's likely end. */
export const LOGIN_WARN_AHEAD_MS = 5 * DAY;
/** The CLI refreshes its access token this long before expiry (2.1.197 binary); plus slack for clocks and the first request. */
export const REFRESH_WINDOW_MS = 5 * MIN + 5 * MIN;

export interface LoginRecord {
  /** sha256 prefix of the refresh token; null when there is no login (no file, no refresh token). */
  fingerprint: string | null;
  /** Access-token expiry seen with it (epoch ms). */
  expiresAt: number | null;
  /** When the login happened (epoch ms), when observed; null when it predates `firstSeenAt`. */
  loginAt: number | null;
  /** When the daemon first saw this login (epoch ms). */
  firstSeenAt: number;
}

/** What the credentials file says now; null when there is no usable file. writtenAt = its mtime. */
export type LoginObservation = { refreshToken: string | null; expiresAt: number | null; writtenAt: number } | null;

export function fingerprint(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("hex").slice(0, 16);
}

/** The next record after one look at the credentials file (pure). Returns `prev` itself when nothing changed. */
export function nextLoginRecord(prev: LoginRecord | undefined, obs: LoginObservation, now: number): LoginRecord {
  const fp = obs?.refreshToken ? fingerprint(obs.refreshToken) : null;
  const expiresAt = obs?.expiresAt ?? null;
  if (!prev) return { fingerprint: fp, expiresAt, loginAt: null, firstSeenAt: now };
  if (prev.fingerprint === fp) return prev.expiresAt === expiresAt ? prev : { ...prev, expiresAt };
  if (fp === null) return { fingerprint: null, expiresAt: null, loginAt: null, firstSeenAt: now };
  const writtenAt = obs!.writtenAt;
  if (prev.fingerprint === null) return { fingerprint: fp, expiresAt, loginAt: writtenAt, firstSeenAt: now };
  const rotation = prev.expiresAt !== null && prev.expiresAt - writtenAt <= REFRESH_WINDOW_MS;
  if (rotation) return { ...prev, fingerprint: fp, expiresAt };
  return { fingerprint: fp, expiresAt, loginAt: writtenAt, firstSeenAt: now };
}

export interface LoginView {
  /** Access-token expiry (epoch ms), null when unknown. */
  accessTokenExpiresAt: number | null;
  accessTokenExpired: boolean;
  hasRefreshToken: boolean;
  /** observed: loginAt is when the login happened; at_least: the login is at least loginAgeMs old; none: no login. */
  loginKnown: "observed" | "at_least" | "none";
  loginAt: number | null;
  loginAgeMs: number | null;
  /** Likely end of the login (observed), or its latest possible end (at_least). */
  loginEndsBy: number | null;
  /** Set from LOGIN_WARN_AHEAD_MS before loginEndsBy on. */
  warning: string | null;
}

/** The display of one account's token and login (pure). */
export function loginView(
  rec: LoginRecord | undefined,
  creds: { expiresAt: number | null; refreshToken: string | null } | null,
  now: number,
): LoginView {
  const accessTokenExpiresAt = creds?.expiresAt ?? null;
  const base = {
    accessTokenExpiresAt,
    accessTokenExpired: accessTokenExpiresAt !== null && accessTokenExpiresAt <= now,
    hasRefreshToken: !!creds?.refreshToken,
  };
  if (!creds?.refreshToken || !rec || rec.fingerprint === null || rec.fingerprint !== fingerprint(creds.refreshToken)) {
    // Not recorded yet (the daemon records at its next look): nothing to say about the login's age.
    return {
      ...base,
      loginKnown: creds?.refreshToken ? "at_least" : "none",
      loginAt: null,
      loginAgeMs: creds?.refreshToken ? 0 : null,
      loginEndsBy: null,
      warning: null,
    };
  }
  const observed = rec.loginAt !== null;
  const since = rec.loginAt ?? rec.firstSeenAt;
  const endsBy = since + LOGIN_LIFETIME_MS;
  const days = (ms: number) => Math.floor(ms / DAY);
  const age = now - since;
  let warning: string | null = null;
  if (now >= endsBy - LOGIN_WARN_AHEAD_MS) {
    const when =
      now >= endsBy
        ? "may already have ended"
        : `likely ends in about ${Math.max(1, Math.ceil((endsBy - now) / DAY))}d`;
    warning = `login ${observed ? "" : "at least "}${days(age)}d old: logins reportedly end about 30 days after login; it ${when}`;
  }
  return {
    ...base,
    loginKnown: observed ? "observed" : "at_least",
    loginAt: rec.loginAt,
    loginAgeMs: age,
    loginEndsBy: endsBy,
    warning,
  };
}

/** Reads the ledger file; a missing or damaged one is empty (it is rebuilt by watching). */
export function readLoginLedger(path: string): Record<string, LoginRecord> {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    const out: Record<string, LoginRecord> = {};
    for (const [k, r] of Object.entries(v as Record<string, unknown>)) {
      const o = r as Partial<LoginRecord> | null;
      if (o && typeof o.firstSeenAt === "number") {
        out[k] = {
          fingerprint: typeof o.fingerprint === "string" ? o.fingerprint : null,
          expiresAt: typeof o.expiresAt === "number" ? o.expiresAt : null,
          loginAt: typeof o.loginAt === "number" ? o.loginAt : null,
          firstSeenAt: o.firstSeenAt,
        };
      }
    }
    return out;
  } catch {
    return {};
  }
}

/** What the credentials file of a home says, for the ledger. */
export function observeHome(home: string): {
  obs: LoginObservation;
  creds: { expiresAt: number | null; refreshToken: string | null } | null;
} {
  const r = readCredentials(home);
  if (!r.ok) return { obs: null, creds: null };
  const creds = { expiresAt: r.creds.expiresAt, refreshToken: r.creds.refreshToken };
  return { obs: { ...creds, writtenAt: r.creds.mtimeMs }, creds };
}

/** The daemon's ledger: watches every account's credentials file and keeps logins.json (0600) current. */
export class LoginLedger {
  private records: Record<string, LoginRecord>;

  constructor(private readonly path: string) {
    this.records = readLoginLedger(path);
  }

  /**
   * One look at every account's credentials; writes the file only when a record changed (a rotation
   * every few hours per busy account at most). Returns the accounts whose login changed.
   */
  observe(accounts: { name: string; home: string }[], now: number): string[] {
    const changedLogin: string[] = [];
    let dirty = false;
    for (const a of accounts) {
      const prev = this.records[a.name];
      const next = nextLoginRecord(prev, observeHome(a.home).obs, now);
      if (next === prev) continue;
      this.records[a.name] = next;
      dirty = true;
      if (prev && (prev.loginAt !== next.loginAt || prev.firstSeenAt !== next.firstSeenAt)) changedLogin.push(a.name);
    }
    if (dirty) writeFileAtomic(this.path, `${JSON.stringify(this.records, null, 2)}\n`, 0o600);
    return changedLogin;
  }

  record(name: string): LoginRecord | undefined {
    return this.records[name];
  }

  view(name: string, home: string, now: number): LoginView {
    return loginView(this.records[name], observeHome(home).creds, now);
  }
}
