// The shared store's behaviour cases (test/support/shared-store-cases.ts) on a real PostgreSQL: Debian's
// `postgresql` package, initdb in a temp dir, a unix socket only (test/support/postgres.ts); one server for
// this file, a fresh database and least-privilege role per case, one pg Pool per box. Skipped with the
// reason when the server binaries are missing, failed instead under CI (scripts/test.sh installs them as root).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { openSharedStore } from "../../src/store/shared/open-shared-store.js";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import { SHARED_SCHEMA_VERSION } from "../../src/store/shared/shared-migrations.js";
import { isCfError } from "../../src/util/errors.js";
import { postgresGate, startPostgres, type TestPostgres } from "../support/postgres.js";
import { sharedStoreCases, type SharedStoreBackend } from "../support/shared-store-cases.js";

const MISSING = postgresGate("shared store");

describe("shared store: postgres", { timeout: 120_000, skip: MISSING ?? false }, () => {
  let server: TestPostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.destroy();
  });

  const backend: SharedStoreBackend = {
    name: "postgres",
    async fresh() {
      const url = await server.createDatabase();
      return {
        open: (box: string) => PostgresSharedStore.open({ url, box }),
        exec: async (sql: string) => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            await c.query(sql);
          } finally {
            await c.end();
          }
        },
      };
    },
  };

  sharedStoreCases(() => backend);

  it("the least-privilege role owns the tables in its schema; two boxes opening at once migrate once", async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([
      PostgresSharedStore.open({ url, box: "a" }),
      PostgresSharedStore.open({ url, box: "b" }),
    ]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const tables = (
        await c.query<{ table_schema: string; table_name: string }>(
          "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY table_name",
        )
      ).rows;
      assert.deepEqual(
        tables.map((t) => `${t.table_schema}.${t.table_name}`),
        [
          "cf.box_leases",
          "cf.shared_account_states",
          "cf.shared_events",
          "cf.shared_reservations",
          "cf.shared_schema",
          "cf.shared_tasks",
          "cf.shared_usage",
        ],
      );
      assert.deepEqual((await c.query("SELECT version FROM shared_schema")).rows, [{ version: SHARED_SCHEMA_VERSION }]);
      const su = (
        await c.query<{ rolsuper: boolean; rolcreatedb: boolean }>(
          "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user",
        )
      ).rows[0];
      assert.deepEqual(su, { rolsuper: false, rolcreatedb: false });
    } finally {
      await c.end();
      await a.close();
      await b.close();
    }
  });

  it("opened from config: the URL comes from the named variable; errors name the variable, never the URL", async () => {
    const url = await server.createDatabase();
    const config = {
      store: { backend: "postgres" as const, postgres_url_env: "CF_TEST_PG_URL" },
      box: { name: "box-a" },
    };
    const db = undefined as never; // not used by the postgres backend
    await assert.rejects(
      openSharedStore({ config, env: {}, db }),
      (e) => isCfError(e, "config") && /CF_TEST_PG_URL/.test((e as Error).message),
    );
    await assert.rejects(
      openSharedStore({ config, env: { CF_TEST_PG_URL: "mysql://u:secret@h/db" }, db }),
      (e) => isCfError(e, "config") && !(e as Error).message.includes("secret"),
    );
    const wrongPw = url.replace(/:[^:@/]+@/, ":wrong-password@");
    await assert.rejects(
      openSharedStore({ config, env: { CF_TEST_PG_URL: wrongPw }, db }),
      (e) =>
        !(e as Error).message.includes("wrong-password") && /password authentication failed/.test((e as Error).message),
    );
    const store = await openSharedStore({ config, env: { CF_TEST_PG_URL: url }, db });
    try {
      assert.equal(store.backend, "postgres");
      assert.equal(store.box, "box-a");
      await store.heartbeat(Date.now(), 30_000);
      assert.deepEqual(
        (await store.leases()).map((l) => l.box),
        ["box-a"],
      );
    } finally {
      await store.close();
    }
  });

  it("while the server is down every call rejects with shared_store_unavailable; after it returns the pool reconnects", async () => {
    const url = await server.createDatabase();
    const idleErrors: string[] = [];
    const store = await PostgresSharedStore.open({
      url,
      box: "box-a",
      connectTimeoutMs: 2000,
      onIdleError: (m) => idleErrors.push(m),
    });
    try {
      await store.setAccountState("acc1", "exhausted", null, "limit", 1);
      await server.stop();
      await assert.rejects(
        store.getAccountState("acc1", 2),
        (e) => isCfError(e, "shared_store_unavailable") && !(e as Error).message.includes(url),
      );
      await assert.rejects(store.claimTask(2), (e) => isCfError(e, "shared_store_unavailable"));
      await server.start();
      assert.equal(
        (await store.getAccountState("acc1", 3))?.reason,
        "limit",
        "the data is there, the pool reconnected",
      );
    } finally {
      await store.close();
    }
  });
});
