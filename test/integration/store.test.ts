import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CACHE_KIB, migrate, openDb } from "../../src/store/db.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { Store } from "../../src/store/store.js";

const T0 = Date.UTC(2025, 1, 3, 12, 0);
const HOUR = 3_600_000;

describe("SQLite store on a real file", () => {
  let root: string;
  let stateDir: string;
  let store: Store;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-store-it-"));
    stateDir = join(root, "state");
    store = new Store(openDb(stateDir));
  });
  after(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe("database file", () => {
    it("user_version equals MIGRATIONS.length, WAL mode, foreign keys on", () => {
      assert.ok(MIGRATIONS.length >= 1);
      assert.equal(store.db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(store.db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(store.db.pragma("foreign_keys", { simple: true }), 1);
    });

    it("a page cache of 2 MiB, not better-sqlite3's 16 MiB (it filled as the events log grew: RSS rising for 40 minutes)", () => {
      assert.equal(CACHE_KIB, 2000);
      assert.equal(store.db.pragma("cache_size", { simple: true }), -2000);
    });

    it("state dir is 0700 and the db file 0600", () => {
      assert.equal(statSync(stateDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(stateDir, "state.db")).mode & 0o777, 0o600);
    });

    it("migrations are idempotent: reopening keeps data and the version; migrate() again is a no-op", () => {
      store.appendEvent(T0, "marker", null, null, { x: 1 });
      const second = openDb(stateDir);
      try {
        assert.equal(second.pragma("user_version", { simple: true }), MIGRATIONS.length);
        assert.equal(migrate(second), MIGRATIONS.length);
        const rows = second.prepare("SELECT kind FROM events WHERE kind = 'marker'").all();
        assert.equal(rows.length, 1);
        const tables = (
          second.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
        ).map((r) => r.name);
        for (const t of ["accounts", "sessions", "events", "prompts", "swaps", "usage", "tasks"])
          assert.ok(tables.includes(t), t);
      } finally {
        second.close();
      }
    });
  });

  describe("sessions", () => {
    it("insert sets defaults; get of an unknown name is undefined", () => {
      const s = store.insertSession(
        { name: "work", kind: "dedicated", project: "/p", account: "a", claudeSessionId: "id-1", state: "starting" },
        T0,
      );
      assert.deepEqual(s, {
        name: "work",
        kind: "dedicated",
        project: "/p",
        account: "a",
        claudeSessionId: "id-1",
        transcriptPath: null,
        state: "starting",
        stateReason: null,
        lastPrompt: null,
        lastPromptAt: null,
        lastPromptAnswered: false,
        failedPrompt: null,
        lastActivity: null,
        lastMoveAt: null,
        parkedUntil: null,
        restarts: 0,
        started: false,
        createdAt: T0,
        updatedAt: T0,
        launchId: null,
        launchedAt: null,
      });
      assert.equal(store.getSession("nope"), undefined);
      assert.throws(() =>
        store.insertSession(
          { name: "work", kind: "dedicated", project: "/p", account: null, claudeSessionId: null, state: "idle" },
          T0,
        ),
      );
    });

    it("update patches only the given fields; booleans round-trip; name and unknown keys are ignored", () => {
      const u = store.updateSession(
        "work",
        { started: true, lastPromptAnswered: true, state: "busy", lastPrompt: "hi", restarts: 2 },
        T0 + 10,
      );
      assert.ok(u);
      assert.equal(u.started, true);
      assert.equal(u.lastPromptAnswered, true);
      assert.equal(typeof u.started, "boolean");
      assert.equal(u.state, "busy");
      assert.equal(u.lastPrompt, "hi");
      assert.equal(u.restarts, 2);
      assert.equal(u.updatedAt, T0 + 10);
      assert.equal(u.createdAt, T0);
      assert.equal(u.project, "/p");

      const v = store.updateSession("work", { lastPromptAnswered: false, name: "renamed", bogus: 1 } as never, T0 + 20);
      assert.equal(v?.name, "work");
      assert.equal(v?.lastPromptAnswered, false);
      assert.equal(v?.started, true);
      assert.equal(store.getSession("renamed"), undefined);

      const w = store.updateSession("work", { failedPrompt: null, stateReason: "r" }, T0 + 30);
      assert.equal(w?.stateReason, "r");
    });

    it("list is ordered by name; delete removes", () => {
      store.insertSession(
        { name: "alpha", kind: "autonomous", project: "/q", account: null, claudeSessionId: null, state: "idle" },
        T0,
      );
      assert.deepEqual(
        store.listSessions().map((s) => s.name),
        ["alpha", "work"],
      );
      store.deleteSession("alpha");
      assert.deepEqual(
        store.listSessions().map((s) => s.name),
        ["work"],
      );
      assert.equal(store.updateSession("alpha", { state: "idle" }, T0), undefined);
    });
  });

  describe("accounts", () => {
    it("ensureAccount creates once as active and never resets state", () => {
      const a = store.ensureAccount("acct-a", T0);
      assert.deepEqual(a, {
        name: "acct-a",
        state: "active",
        stateUntil: null,
        stateReason: null,
        updatedAt: T0,
        revokedCreds: null,
      });
      store.setAccountState("acct-a", "exhausted", T0 + HOUR, "weekly limit", T0 + 1);
      const again = store.ensureAccount("acct-a", T0 + 2);
      assert.deepEqual(again, {
        name: "acct-a",
        state: "exhausted",
        stateUntil: T0 + HOUR,
        stateReason: "weekly limit",
        updatedAt: T0 + 1,
        revokedCreds: null,
      });
    });

    it("setAccountState creates a missing account and can clear until/reason", () => {
      store.setAccountState("acct-b", "disabled", null, "operator", T0);
      assert.equal(store.getAccount("acct-b")?.state, "disabled");
      store.setAccountState("acct-a", "active", null, null, T0 + 5);
      assert.deepEqual(store.getAccount("acct-a"), {
        name: "acct-a",
        state: "active",
        stateUntil: null,
        stateReason: null,
        updatedAt: T0 + 5,
        revokedCreds: null,
      });
      assert.deepEqual(
        store.listAccounts().map((a) => a.name),
        ["acct-a", "acct-b"],
      );
      assert.equal(store.getAccount("zzz"), undefined);
    });
  });

  describe("events", () => {
    let ids: number[];
    before(() => {
      store.db.exec("DELETE FROM events");
      ids = [
        store.appendEvent(T0 + 1, "swap.start", "s1", "a", { to: "b" }),
        store.appendEvent(T0 + 2, "hook.Stop", "s1", "a"),
        store.appendEvent(T0 + 3, "swap.done", "s2", "b", { ok: true, nested: { n: [1, 2] } }),
        store.appendEvent(T0 + 4, "quota.stay", null, null, { reasons: ["fine"] }),
        store.appendEvent(T0 + 5, "swap.start", "s1", "b"),
      ];
    });

    it("ids increase; data round-trips as JSON (default {})", () => {
      assert.deepEqual(
        [...ids].sort((x, y) => x - y),
        ids,
      );
      const all = store.eventsAfter(0);
      assert.equal(all.length, 5);
      assert.deepEqual(all[2], {
        id: ids[2],
        ts: T0 + 3,
        kind: "swap.done",
        session: "s2",
        account: "b",
        data: { ok: true, nested: { n: [1, 2] } },
      });
      assert.deepEqual(all[1]!.data, {});
      assert.equal(all[3]!.session, null);
    });

    it("eventsAfter: strictly after the id, in id order, limited, filtered", () => {
      assert.deepEqual(
        store.eventsAfter(ids[1]!).map((e) => e.id),
        ids.slice(2),
      );
      assert.deepEqual(
        store.eventsAfter(0, 2).map((e) => e.id),
        ids.slice(0, 2),
      );
      assert.deepEqual(
        store.eventsAfter(0, 100, { session: "s1" }).map((e) => e.id),
        [ids[0], ids[1], ids[4]],
      );
      assert.deepEqual(
        store.eventsAfter(0, 100, { kindPrefix: "swap." }).map((e) => e.id),
        [ids[0], ids[2], ids[4]],
      );
      assert.deepEqual(
        store.eventsAfter(ids[0]!, 100, { session: "s1", kindPrefix: "swap." }).map((e) => e.id),
        [ids[4]],
      );
      assert.deepEqual(store.eventsAfter(ids[4]!), []);
    });

    it("kindPrefix is a literal, case-sensitive prefix (no LIKE wildcards)", () => {
      const x = store.appendEvent(T0 + 6, "account.homeXprepared", null, null);
      const y = store.appendEvent(T0 + 7, "account.home_prepared", null, null);
      const z = store.appendEvent(T0 + 8, "Account.home_prepared", null, null);
      assert.deepEqual(
        store.eventsAfter(0, 100, { kindPrefix: "account.home_" }).map((e) => e.id),
        [y],
      );
      assert.deepEqual(
        store.tailEvents(100, { kindPrefix: "account.home_" }).map((e) => e.id),
        [y],
      );
      assert.deepEqual(store.tailEvents(100, { kindPrefix: "%" }), []);
      store.db.prepare("DELETE FROM events WHERE id IN (?, ?, ?)").run(x, y, z);
    });

    it("tailEvents: the last n, oldest first, filtered", () => {
      assert.deepEqual(
        store.tailEvents(2).map((e) => e.id),
        ids.slice(3),
      );
      assert.deepEqual(
        store.tailEvents(100).map((e) => e.id),
        ids,
      );
      assert.deepEqual(
        store.tailEvents(2, { session: "s1" }).map((e) => e.id),
        [ids[1], ids[4]],
      );
      assert.deepEqual(
        store.tailEvents(10, { kindPrefix: "quota" }).map((e) => e.kind),
        ["quota.stay"],
      );
    });
  });

  describe("prompts", () => {
    it("counts per account within a window (inclusive of since), prunes old ones", () => {
      for (const [ts, acct] of [
        [T0 - 2 * HOUR, "a"],
        [T0 - HOUR, "a"],
        [T0 - HOUR + 1, "a"],
        [T0, "a"],
        [T0, "b"],
      ] as const) {
        store.recordPrompt(ts, "s1", acct);
      }
      assert.equal(store.countPrompts("a", T0 - HOUR), 3);
      assert.equal(store.countPrompts("a", T0 - 3 * HOUR), 4);
      assert.equal(store.countPrompts("a", T0 + 1), 0);
      assert.equal(store.countPrompts("b", 0), 1);
      assert.equal(store.countPrompts("c", 0), 0);
      store.prunePrompts(T0 - HOUR);
      assert.equal(store.countPrompts("a", 0), 3);
    });
  });

  describe("swaps", () => {
    it("insert, steps, finish, unfinished and last", () => {
      const id1 = store.insertSwap(
        { session: "s1", from: "a", to: "b", reason: "quota 92%", urgent: false, resend: null },
        T0,
      );
      const id2 = store.insertSwap(
        { session: "s2", from: null, to: "a", reason: "manual", urgent: true, resend: "the prompt" },
        T0 + 1,
      );
      assert.ok(id2 > id1);
      const fresh = store.getSwap(id1)!;
      assert.deepEqual(fresh, {
        id: id1,
        session: "s1",
        fromAccount: "a",
        toAccount: "b",
        reason: "quota 92%",
        urgent: false,
        startedAt: T0,
        endedAt: null,
        step: "locked",
        outcome: null,
        error: null,
        steps: [],
        resend: null,
      });
      assert.equal(store.getSwap(id2)?.urgent, true);
      assert.equal(store.getSwap(id2)?.resend, "the prompt");

      store.recordSwapStep(id1, { step: "checkpoint", at: T0 + 10, ms: 10 });
      store.recordSwapStep(id1, { step: "exit", at: T0 + 50, ms: 40, note: "sent /exit" });
      store.recordSwapStep(9999, { step: "ghost", at: 0, ms: 0 }); // unknown id: no-op, no throw
      const stepped = store.getSwap(id1)!;
      assert.equal(stepped.step, "exit");
      assert.deepEqual(stepped.steps, [
        { step: "checkpoint", at: T0 + 10, ms: 10 },
        { step: "exit", at: T0 + 50, ms: 40, note: "sent /exit" },
      ]);

      assert.deepEqual(
        store.unfinishedSwaps().map((s) => s.id),
        [id1, id2],
      );
      store.finishSwap(id1, "ok", null, T0 + 100);
      const done = store.getSwap(id1)!;
      assert.equal(done.outcome, "ok");
      assert.equal(done.endedAt, T0 + 100);
      assert.deepEqual(
        store.unfinishedSwaps().map((s) => s.id),
        [id2],
      );
      store.finishSwap(id2, "rolled_back", "no SessionStart", T0 + 200);
      assert.deepEqual(store.unfinishedSwaps(), []);
      assert.equal(store.getSwap(id2)?.error, "no SessionStart");

      const id3 = store.insertSwap(
        { session: "s1", from: "b", to: "a", reason: "back", urgent: false, resend: null },
        T0 + 300,
      );
      assert.equal(store.lastSwap("s1")?.id, id3);
      assert.equal(store.lastSwap("s2")?.id, id2);
      assert.equal(store.lastSwap("none"), undefined);
      assert.deepEqual(
        store.listSwaps(2).map((s) => s.id),
        [id3, id2],
      );
    });
  });
});
