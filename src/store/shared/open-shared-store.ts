// Opens the shared store the config names: SQLite on the daemon's own state.db handle, or PostgreSQL with
// the URL read from the environment variable `store.postgres_url_env` (never from the file, never logged:
// the errors below name the variable, not its value).

import type { StoreConfig } from "../../config/store-config.js";
import type { Config } from "../../config/types.js";
import { CfError } from "../../util/errors.js";
import type { Db } from "../db.js";
import { PostgresSharedStore } from "./postgres-shared-store.js";
import type { SharedStore } from "./shared-types.js";
import { SqliteSharedStore } from "./sqlite-shared-store.js";

export interface OpenSharedStoreInput {
  /** only the backend, the URL variable and the box name are read */
  config: { store: Pick<StoreConfig, "backend" | "postgres_url_env">; box: Config["box"] };
  env: NodeJS.ProcessEnv;
  /** the daemon's open state.db (used by the sqlite backend; its shared tables are migrated) */
  db: Db;
  onIdleError?: (message: string) => void;
}

/**
 * The shared store for this box. Rejects with CfError `config` when store.backend is postgres and the
 * variable is unset or empty or not a postgres:// / postgresql:// URL, `shared_store_unavailable` when the
 * database cannot be reached, `db_too_new` when its schema is newer than this build.
 */
export async function openSharedStore(i: OpenSharedStoreInput): Promise<SharedStore> {
  const { store, box } = i.config;
  if (store.backend === "sqlite") return new SqliteSharedStore(i.db, box.name);
  const name = store.postgres_url_env;
  if (!name)
    throw new CfError(
      "config",
      "store.backend is postgres but store.postgres_url_env is not set: name the environment variable that holds the postgresql:// URL",
    );
  const url = i.env[name];
  if (!url)
    throw new CfError(
      "config",
      `store.backend is postgres but the environment variable ${name} (store.postgres_url_env) is not set or empty: set it to the postgresql:// URL in the daemon's environment (docs/multi-box.md)`,
    );
  if (!/^postgres(ql)?:\/\//i.test(url))
    throw new CfError(
      "config",
      `the environment variable ${name} (store.postgres_url_env) does not hold a postgres:// or postgresql:// URL (its value is not shown)`,
    );
  return PostgresSharedStore.open({ url, box: box.name, ...(i.onIdleError ? { onIdleError: i.onIdleError } : {}) });
}
