// Which subscription login an account home holds, as far as its files say, so two homes holding the
// same one can be flagged: the CLI rotates the refresh token on every refresh, and two copies of one
// login log each other out.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentialsPath } from "../accounts/credentials.js";

export interface LoginIdentity {
  account: string;
  home: string;
  accountUuid: string | null;
  organizationUuid: string | null;
  email: string | null;
  refreshToken: string | null;
}

export interface DuplicateLogin {
  a: string;
  b: string;
  reason: string;
}

type Obj = Record<string, unknown>;

function readJson(path: string): Obj | null {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null;
  } catch {
    return null;
  }
}

function str(...vals: unknown[]): string | null {
  for (const v of vals) if (typeof v === "string" && v) return v;
  return null;
}

/**
 * From `.claude/.credentials.json` (claudeAiOauth, and any identity keys beside it) and
 * `.claude.json` (`oauthAccount`, written by the CLI at login). Missing files give nulls.
 */
export function readIdentity(account: string, home: string): LoginIdentity {
  const creds = readJson(credentialsPath(home)) ?? {};
  const oauth = (creds.claudeAiOauth && typeof creds.claudeAiOauth === "object" ? creds.claudeAiOauth : {}) as Obj;
  const cfg = readJson(join(home, ".claude.json")) ?? {};
  const acct = (cfg.oauthAccount && typeof cfg.oauthAccount === "object" ? cfg.oauthAccount : {}) as Obj;
  return {
    account,
    home,
    accountUuid: str(acct.accountUuid, oauth.accountUuid, creds.accountUuid),
    organizationUuid: str(acct.organizationUuid, oauth.organizationUuid, creds.organizationUuid),
    email: str(acct.emailAddress, oauth.emailAddress, creds.emailAddress)?.toLowerCase() ?? null,
    refreshToken: str(oauth.refreshToken),
  };
}

/** Why two identities are the same login, or null. Differing organizations mean different subscriptions. */
export function sameLogin(x: LoginIdentity, y: LoginIdentity): string | null {
  if (x.refreshToken && x.refreshToken === y.refreshToken) return "the same refresh token (a copied credentials file)";
  if (x.organizationUuid && y.organizationUuid && x.organizationUuid !== y.organizationUuid) return null;
  if (x.accountUuid && y.accountUuid)
    return x.accountUuid === y.accountUuid ? `the same account (${x.accountUuid})` : null;
  if (x.email && x.email === y.email) return `the same account (${x.email})`;
  return null;
}

/** Every pair of homes that hold the same login. */
export function duplicateLogins(ids: LoginIdentity[]): DuplicateLogin[] {
  const out: DuplicateLogin[] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const reason = sameLogin(ids[i]!, ids[j]!);
      if (reason) out.push({ a: ids[i]!.account, b: ids[j]!.account, reason });
    }
  }
  return out;
}

export function describeDuplicate(d: DuplicateLogin): string {
  return `accounts ${d.a} and ${d.b} hold ${d.reason}: they will log each other out when the CLI refreshes the token`;
}
