// Account states from credentials files, on a real SQLite store and real files: a revoked account
// comes back only when its credentials file changes (also across a daemon restart); a read that lands
// on a half-written file does not revoke; a file that stays unparseable does, after a few reads.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  AccountService,
  CREDENTIAL_READS_BEFORE_REVOKE,
  type AccountConfig,
} from "../../src/accounts/account-service.js";
import { credentialsPath } from "../../src/accounts/credentials.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { fakeCredentials } from "../support/harness.js";

describe("account credentials and revocation", () => {
  let root: string;
  let stateDir: string;
  let store: Store;
  let home: string;
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 12));
  const cfg = (): AccountConfig[] => [
    {
      name: "a",
      home,
      priority: 1,
      managed: false,
      disabled: false,
      limits: { hourly_msgs: 0, weekly_msgs: 0 },
      link_files: [],
    },
  ];
  const good = fakeCredentials("sk-ant-oat01-first");
  const write = (text: string) => writeFileSync(credentialsPath(home), text, { mode: 0o600 });
  const service = () => {
    const s = new AccountService({ store, clock, log: silentLogger() });
    s.configure(cfg());
    return s;
  };
  const stateChanges = () =>
    store.tailEvents(1000, { kindPrefix: "account.state" }).map((e) => `${String(e.data.from)}>${String(e.data.to)}`);

  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-creds-"));
    stateDir = join(root, "state");
  });
  beforeEach(() => {
    store?.close();
    rmSync(stateDir, { recursive: true, force: true });
    store = new Store(openDb(stateDir));
    home = mkdtempSync(join(root, "home-"));
    mkdirSync(join(home, ".claude"), { recursive: true });
    write(good);
  });
  after(() => {
    store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("revoked with its file in place (the server refused the token): the same file does not revive it, a changed one does", () => {
    const acc = service();
    assert.equal(acc.row("a").state, "active");
    acc.setState("a", "revoked", null, "token rejected by the API");
    for (let i = 0; i < 5; i++) acc.refreshCredentials();
    assert.equal(acc.row("a").state, "revoked", "not revived by the unchanged file");
    // A daemon restart reads the same file: still revoked (the fingerprint is in the database).
    const again = service();
    again.refreshCredentials();
    assert.equal(again.row("a").state, "revoked");
    // A new login (or the CLI's refresh) rewrites the file: back.
    write(fakeCredentials("sk-ant-oat01-second"));
    again.refreshCredentials();
    assert.equal(again.row("a").state, "active");
    assert.equal(again.row("a").revokedCreds, null);
    assert.deepEqual(stateChanges(), ["active>revoked", "revoked>active"]);
  });

  it("the same bytes written again (a new mtime) count as a change", () => {
    const acc = service();
    acc.setState("a", "revoked", null, "token rejected");
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "revoked");
    const later = new Date(Date.now() + 60_000);
    utimesSync(credentialsPath(home), later, later);
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active");
  });

  it("a torn read followed by a good one does not revoke", () => {
    const acc = service();
    write(good.slice(0, Math.floor(good.length / 2))); // half-written, as a concurrent rewrite may leave it
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active", "one bad read is not enough");
    write(good);
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active");
    assert.deepEqual(stateChanges(), []);
    // The count starts again after a good read.
    write("{");
    for (let i = 1; i < CREDENTIAL_READS_BEFORE_REVOKE; i++) acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active");
  });

  it("a file that stays unparseable is revoked after CREDENTIAL_READS_BEFORE_REVOKE reads; a missing one at once", () => {
    const acc = service();
    write("{ not json");
    for (let i = 1; i < CREDENTIAL_READS_BEFORE_REVOKE; i++) acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active");
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "revoked");
    assert.match(acc.row("a").stateReason ?? "", /not valid JSON/);
    write(good); // the login is fixed: a changed file
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active");
    unlinkSync(credentialsPath(home));
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "revoked");
    write(good);
    acc.refreshCredentials();
    assert.equal(acc.row("a").state, "active", "revoked without a file: any readable one brings it back");
  });
});
