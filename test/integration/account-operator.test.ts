// AccountService.setEnabled (the operator's enable/disable) and prepareHomes (a home that can't be prepared
// revokes its account; once it can, the account is active again), on a real SQLite file and real dirs.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AccountService, type AccountConfig } from "../../src/accounts/account-service.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { isCfError } from "../../src/util/errors.js";
import { silentLogger } from "../../src/util/log.js";

describe("AccountService: operator enable/disable and home preparation", () => {
  let root: string;
  let store: Store;
  let accounts: AccountService;
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 2));
  const cfg = (name: string, extra: Partial<AccountConfig> = {}): AccountConfig => ({
    name,
    home: join(root, name),
    priority: 1,
    managed: false,
    disabled: false,
    limits: { hourly_msgs: 0, weekly_msgs: 0 },
    link_files: [],
    ...extra,
  });

  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-account-operator-"));
    store = new Store(openDb(join(root, "state")));
    accounts = new AccountService({ store, clock, log: silentLogger() });
  });
  after(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("disable, enable, and an unknown name refused", () => {
    accounts.configure([cfg("a")]);
    accounts.setState("a", "active", null, "test start");
    assert.deepEqual(accounts.setEnabled("a", false), { ok: true, account: "a", state: "disabled" });
    assert.equal(accounts.row("a").stateReason, "disabled by operator");
    assert.deepEqual(
      accounts.setEnabled("a", false),
      { ok: true, account: "a", state: "disabled" },
      "disabling twice changes nothing",
    );
    assert.deepEqual(accounts.setEnabled("a", true), { ok: true, account: "a", state: "active" });
    assert.equal(accounts.row("a").stateReason, "enabled by operator");
    accounts.setState("a", "exhausted", clock.now() + 60_000, "limit");
    assert.equal(accounts.setEnabled("a", true).state, "exhausted", "enable only lifts a disable");
    assert.throws(
      () => accounts.setEnabled("nope", true),
      (e) => isCfError(e, "no_such_account"),
    );
  });

  it("a home that can't be prepared revokes the account; prepared later, it is active again", () => {
    const blocked = join(root, "blocked");
    writeFileSync(blocked, "a file where the home's folder should be");
    const shared = join(root, "shared", "projects");
    mkdirSync(shared, { recursive: true });
    accounts.configure([
      cfg("m", { home: blocked, managed: true }),
      cfg("u", { home: join(root, "missing"), managed: false }),
    ]);
    accounts.setState("m", "active", null, "test start");
    accounts.setState("u", "active", null, "test start");
    const ctx = { sharedProjectsDir: shared, projects: [], realHome: join(root, "real-home") };
    accounts.prepareHomes(ctx);
    assert.equal(accounts.row("m").state, "revoked");
    assert.match(accounts.row("m").stateReason ?? "", /^home not usable: /);
    assert.equal(accounts.row("u").state, "active", "an unmanaged home is left alone");
    rmSync(blocked);
    accounts.prepareHomes(ctx);
    assert.equal(accounts.row("m").state, "active");
    assert.equal(accounts.row("m").stateReason, "home prepared");
    assert.equal(
      store.eventsAfter(0, 500, { kindPrefix: "account.home_prepared" }).length,
      1,
      "the actions taken are recorded",
    );
  });
});
