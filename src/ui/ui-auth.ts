// The dashboard's login: the bearer token is posted once from a form and checked like the control plane's
// (sha256 + timingSafeEqual, control/auth.ts); the browser then holds only a random session id in an
// HttpOnly, SameSite=Strict cookie, never the token. Pure given `now`: ids expire after `ttlMs`.
import { randomBytes } from "node:crypto";

export const COOKIE = "cf_ui";
/** Sessions kept at most (the oldest go first): a flood of logins cannot grow memory. */
export const MAX_SESSIONS = 100;

export class UiSessions {
  private readonly ids = new Map<string, number>();
  constructor(private readonly ttlMs: number) {}

  /** A new session id (64 hex characters) valid until now + ttl. */
  create(now: number): string {
    const id = randomBytes(32).toString("hex");
    this.ids.set(id, now + this.ttlMs);
    while (this.ids.size > MAX_SESSIONS) this.ids.delete(this.ids.keys().next().value!);
    return id;
  }

  /** Whether the request's cookie names a live session. */
  valid(cookieHeader: string | undefined, now: number): boolean {
    const id = readCookie(cookieHeader, COOKIE);
    if (!id) return false;
    const until = this.ids.get(id);
    if (until === undefined) return false;
    if (until <= now) {
      this.ids.delete(id);
      return false;
    }
    return true;
  }

  end(cookieHeader: string | undefined): void {
    const id = readCookie(cookieHeader, COOKIE);
    if (id) this.ids.delete(id);
  }
}

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** Set-Cookie for a session id; Path=/ui so no other route ever sees it. */
export function sessionCookie(id: string, ttlMs: number): string {
  return `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

export function clearCookie(): string {
  return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0`;
}
