// `store:` and `box:` (issue 19): which shared store the daemon uses and what this box is called in it.
// The PostgreSQL URL itself never appears in the file: `store.postgres_url_env` names the environment
// variable holding it (read when the store is opened: src/store/shared/open-shared-store.ts).
import { hostname as osHostname } from "node:os";
import { z } from "zod";
import { duration, ENV_NAME, matching } from "./fields.js";

export const STORE_BACKENDS = ["sqlite", "postgres"] as const;
export type StoreBackend = (typeof STORE_BACKENDS)[number];

/** A box's name: how other boxes, leases, usage rows and tasks name it. Host-name characters. */
export const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export interface StoreConfig {
  /** sqlite: the shared things live in this box's state.db (one box); postgres: in a database shared by boxes */
  backend: StoreBackend;
  /** the environment variable holding the postgresql:// URL; required with backend postgres, else undefined */
  postgres_url_env?: string | undefined;
  /**
   * ms a box's lease lives without a heartbeat (postgres): a box silent this long counts as gone, its
   * running tasks are requeued and its reservations stop counting. LEASE_TTL_MIN_MS..LEASE_TTL_MAX_MS.
   */
  lease_ttl: number;
}

/** store.lease_ttl's bounds: at least 3 heartbeats fit (heartbeat ≥ 1 s), at most an hour of a dead box's tasks held. */
export const LEASE_TTL_MIN_MS = 3_000;
export const LEASE_TTL_MAX_MS = 3_600_000;
export const LEASE_TTL_DEFAULT_MS = 30_000;

export interface BoxConfig {
  /** this box's name in the shared store (default: the host name, made to fit BOX_NAME) */
  name: string;
}

export const storeSchema = z
  .strictObject({
    backend: z.enum(STORE_BACKENDS).default("sqlite"),
    postgres_url_env: z
      .string()
      .superRefine((v, ctx) => {
        if (ENV_NAME.test(v)) return;
        // A URL pasted here by mistake may hold a password: it is never echoed back.
        const shown = /[:@/]/.test(v) ? "(a value that looks like a URL; not shown)" : JSON.stringify(v);
        ctx.addIssue({
          code: "custom",
          message: `must be the name of an environment variable that holds the URL, not the URL itself, got ${shown}`,
        });
      })
      .optional(),
    lease_ttl: duration(LEASE_TTL_MIN_MS)
      .refine((ms) => ms <= LEASE_TTL_MAX_MS, { message: "must be at most 1h" })
      .default(LEASE_TTL_DEFAULT_MS),
  })
  .superRefine((s, ctx) => {
    if (s.backend === "postgres" && s.postgres_url_env === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["postgres_url_env"],
        message:
          "is required with store.backend: postgres: the name of the environment variable that holds the postgresql:// URL (e.g. CLAUDE_FAILOVER_PG_URL)",
      });
    }
  });

/** `box:`; `hostname` gives the default name (the caller's os.hostname()). */
export function boxSchema(hostname: string | undefined) {
  return z.strictObject({
    name: matching(BOX_NAME, "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit").default(
      () => defaultBoxName(hostname ?? osHostname()),
    ),
  });
}

/** The host name as a box name: characters outside BOX_NAME become '-', at most 63; "box" if nothing is left. */
export function defaultBoxName(host: string): string {
  const name = host
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 63);
  return name || "box";
}
