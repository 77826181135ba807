import { createHash, timingSafeEqual } from "node:crypto";

export const MIN_TOKEN_LENGTH = 16;

export type TokenCheck = { ok: true; token: string } | { ok: false; message: string };

/** The daemon refuses to start without a usable token: a control plane with no lock is worse than none. */
export function readToken(env: NodeJS.ProcessEnv, varName: string): TokenCheck {
  const t = env[varName];
  if (!t) {
    return {
      ok: false,
      message: `environment variable ${varName} is not set; the control plane needs a bearer token (e.g. export ${varName}=$(openssl rand -hex 32))`,
    };
  }
  if (t.length < MIN_TOKEN_LENGTH) {
    return {
      ok: false,
      message: `environment variable ${varName} is too short (${t.length} characters, need at least ${MIN_TOKEN_LENGTH})`,
    };
  }
  return { ok: true, token: t };
}

/** Compares hashes so neither the length nor the content of the token leaks through timing. */
export function tokenMatcher(token: string): (presented: string | undefined) => boolean {
  const want = createHash("sha256").update(token).digest();
  return (presented) => {
    if (typeof presented !== "string") return false;
    const got = createHash("sha256").update(presented).digest();
    return timingSafeEqual(want, got);
  };
}

export type AuthResult = { ok: true; token: string } | { ok: false; status: 401; message: string };

export function checkAuthorization(header: string | undefined, matches: (t: string) => boolean): AuthResult {
  if (!header) return { ok: false, status: 401, message: "missing Authorization header" };
  const m = /^Bearer ([^\s]+)$/.exec(header);
  if (!m) return { ok: false, status: 401, message: "Authorization must use the Bearer scheme" };
  if (!matches(m[1]!)) return { ok: false, status: 401, message: "invalid token" };
  return { ok: true, token: m[1]! };
}
