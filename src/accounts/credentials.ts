import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface Credentials {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number | null;
  subscriptionType: string | null;
  scopes: string[];
  mtimeMs: number;
}

export type CredentialsRead =
  { ok: true; creds: Credentials } | { ok: false; reason: "missing" | "unreadable" | "malformed"; detail: string };

export function credentialsPath(home: string): string {
  return join(home, ".claude", ".credentials.json");
}

// Read-only: the CLI owns this file (it refreshes and rotates tokens); we never write, copy or link it.
export function readCredentials(home: string): CredentialsRead {
  const path = credentialsPath(home);
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, reason: "missing", detail: "no .claude/.credentials.json" };
    return { ok: false, reason: "unreadable", detail: `cannot read credentials: ${code ?? "error"}` };
  }
  try {
    const j = JSON.parse(text) as { claudeAiOauth?: Record<string, unknown> };
    const o = j.claudeAiOauth;
    if (!o || typeof o.accessToken !== "string" || !o.accessToken) {
      return { ok: false, reason: "malformed", detail: "credentials have no claudeAiOauth.accessToken" };
    }
    return {
      ok: true,
      creds: {
        accessToken: o.accessToken,
        refreshToken: typeof o.refreshToken === "string" ? o.refreshToken : null,
        expiresAt: typeof o.expiresAt === "number" ? o.expiresAt : null,
        subscriptionType: typeof o.subscriptionType === "string" ? o.subscriptionType : null,
        scopes: Array.isArray(o.scopes) ? o.scopes.filter((s): s is string => typeof s === "string") : [],
        mtimeMs,
      },
    };
  } catch {
    return { ok: false, reason: "malformed", detail: "credentials file is not valid JSON" };
  }
}

/**
 * Identifies one version of the credentials file: "size:mtimeMs:sha256" (null when there is none or it
 * cannot be read). A revoked account is brought back only by a file whose fingerprint differs from the
 * one it was revoked with: a new login, or the CLI's own token refresh, rewrites it.
 */
export function credentialsFingerprint(home: string): string | null {
  const path = credentialsPath(home);
  try {
    const st = statSync(path);
    const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
    return `${st.size}:${st.mtimeMs}:${hash}`;
  } catch {
    return null;
  }
}
