// A PostgreSQL shared store whose connection dies in the middle of a transaction (the server stopped or
// restarted, an administrator's pg_terminate_backend): the call rejects and the process goes on. Before
// the fix the checked-out client's `error` event had no listener and ended the process (uncaught
// exception "Connection terminated unexpectedly", seen with the daemon when PostgreSQL stopped).
// Deterministic: an admin connection locks the tasks table so the store's transaction waits, then
// terminates the store's backend. Skipped when PostgreSQL is missing, failed under CI.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import { postgresGate, startPostgres, type TestPostgres } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";

const MISSING = postgresGate("shared store tx");

describe(
  "shared store (postgres): a connection killed mid-transaction",
  { timeout: 60_000, skip: MISSING ?? false },
  () => {
    let server: TestPostgres;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.destroy();
    });

    it("rejects the call, raises no uncaught exception, and the next call works", async () => {
      const url = await server.createDatabase();
      const s = await PostgresSharedStore.open({ url, box: "box-x" });
      const admin = new pg.Client(server.admin(/@\/([^?]+)/.exec(url)![1]));
      await admin.connect();
      const uncaught: unknown[] = [];
      const onUncaught = (e: unknown) => uncaught.push(e);
      process.on("uncaughtException", onUncaught);
      try {
        await s.heartbeat(Date.now(), 30_000);
        await admin.query("BEGIN");
        await admin.query("LOCK TABLE cf.shared_tasks IN ACCESS EXCLUSIVE MODE");
        const draft = { id: "t1", project: "/p", prompt: "x", priority: 0, pinBox: null, payload: {} };
        const pending = s.enqueueTask(draft, Date.now()); // a transaction: waits on the lock
        const pid = await waitFor(
          async () => {
            const r = await admin.query(
              "SELECT pid FROM pg_stat_activity WHERE application_name = 'claude-failover/box-x' AND wait_event_type = 'Lock'",
            );
            return (r.rows[0] as { pid: number } | undefined)?.pid ?? null;
          },
          10_000,
          "the store's transaction waiting on the lock",
          50,
        );
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        await assert.rejects(pending);
        await admin.query("ROLLBACK");
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(uncaught.map(String), [], "no uncaught exception");
        assert.equal((await s.enqueueTask(draft, Date.now())).id, "t1", "the next call works");
      } finally {
        process.off("uncaughtException", onUncaught);
        await admin.end().catch(() => {});
        await s.close();
      }
    });
  },
);
