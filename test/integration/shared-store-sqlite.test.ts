// The shared store's behaviour cases (test/support/shared-store-cases.ts) on the SQLite backend: a real
// state.db file per case (opened as the daemon opens it: openDb, with the local migrations), one
// connection per box to that file.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openDb } from "../../src/store/db.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { SHARED_SCHEMA_VERSION } from "../../src/store/shared/shared-migrations.js";
import { SqliteSharedStore } from "../../src/store/shared/sqlite-shared-store.js";
import { openSharedStore } from "../../src/store/shared/open-shared-store.js";
import { isCfError } from "../../src/util/errors.js";
import { sharedStoreCases, type SharedStoreBackend } from "../support/shared-store-cases.js";

const root = mkdtempSync(join(tmpdir(), "cf-shared-sqlite-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const backend: SharedStoreBackend = {
  name: "sqlite",
  async fresh() {
    const stateDir = join(root, `state-${++n}`);
    return {
      open: async (box: string) => new SqliteSharedStore(openDb(stateDir), box, true),
      exec: async (sql: string) => {
        const db = new Database(join(stateDir, "state.db"));
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
    };
  },
};

describe("shared store: sqlite", () => {
  sharedStoreCases(() => backend);

  it("opened from config: sqlite uses the daemon's own handle; postgres without its variable's name is refused", async () => {
    const db = openDb(join(root, "from-config"));
    try {
      const store = await openSharedStore({
        config: { store: { backend: "sqlite" }, box: { name: "laptop" } },
        env: {},
        db,
      });
      assert.deepEqual([store.backend, store.box], ["sqlite", "laptop"]);
      await store.heartbeat(1, 1000);
      await store.close();
      assert.ok(db.open, "the daemon's handle stays open");
      assert.deepEqual(db.prepare("SELECT box FROM box_leases").all(), [{ box: "laptop" }]);
      await assert.rejects(
        openSharedStore({ config: { store: { backend: "postgres" }, box: { name: "laptop" } }, env: {}, db }),
        (e) => isCfError(e, "config") && /store\.postgres_url_env is not set/.test((e as Error).message),
      );
    } finally {
      db.close();
    }
  });

  it("lives beside the local tables of state.db without touching their version", async () => {
    const stateDir = join(root, "beside");
    const db = openDb(stateDir);
    const store = new SqliteSharedStore(db, "box-a");
    try {
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.deepEqual(db.prepare("SELECT version FROM shared_schema").all(), [{ version: SHARED_SCHEMA_VERSION }]);
      const again = openDb(stateDir); // the daemon's next start: local migrations see nothing to do
      assert.equal(again.pragma("user_version", { simple: true }), MIGRATIONS.length);
      again.close();
    } finally {
      await store.close();
      db.close();
    }
  });
});
