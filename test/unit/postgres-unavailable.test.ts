// Which PostgreSQL errors mean "the database is away" (postgres-shared-store.ts isUnavailable): those the
// daemon runs on through (box-sync retries), the others stop its start. No server needed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isUnavailable, PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import { isCfError } from "../../src/util/errors.js";

const err = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isUnavailable", () => {
  it("socket errors, a host name that does not resolve, and SQLSTATE classes 08/57P/53300 are an outage", () => {
    for (const c of ["ECONNREFUSED", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND", "08006", "57P01", "53300"])
      assert.equal(isUnavailable(err(c)), true, c);
  });
  it("a bad password, a missing database or a permission error is not", () => {
    for (const c of ["28P01", "3D000", "42501", "42P01"]) assert.equal(isUnavailable(err(c)), false, c);
  });
  it("open() on a host name that does not resolve rejects with shared_store_unavailable (the daemon starts and retries)", async () => {
    await assert.rejects(
      PostgresSharedStore.open({ url: "postgresql://cf:pw@no-such-host.invalid/cf", box: "b", connectTimeoutMs: 3000 }),
      (e: unknown) => isCfError(e, "shared_store_unavailable") && !String((e as Error).message).includes("pw@"),
    );
  });
});
