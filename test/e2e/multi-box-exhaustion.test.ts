// Two daemons (two state dirs, two tmux sockets, their own stand-in APIs) share one real PostgreSQL
// (store.backend: postgres). An account exhausted on box 1 (set through AccountService.setState, the
// call LimitReactor makes on a refused prompt) is exhausted on box 2 within 2 s, and box 2's quota
// policy moves its session off it; both boxes hold a lease; box 2's `/events?boxes=all` shows both boxes'
// events (the shared events table); a daemon's stop drops its lease. Skipped when
// PostgreSQL is missing, failed under CI.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import type { Daemon } from "../../src/daemon.js";
import type { Harness } from "../support/harness.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { listenOf } from "../support/mcp-client.js";
import { postgresGate, twoBoxHarnesses } from "../support/two-boxes.js";
import { waitFor } from "../support/wait.js";

const MISSING = postgresGate("multi-box");

describe("two boxes share account exhaustions through PostgreSQL", { timeout: 240_000, skip: MISSING ?? false }, () => {
  let pg: TestPostgres;
  let url: string;
  let h1: Harness;
  let h2: Harness;
  let d1: Daemon;
  let d2: Daemon;
  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
    [h1, h2] = await twoBoxHarnesses(
      url,
      ["box-1", "box-2"],
      [
        { accounts: 2, dedicated: [] },
        { accounts: 2, config: { quota: { min_dwell: "0s" } } },
      ],
    );
    d1 = await h1.start();
    d2 = await h2.start();
    await waitFor(() => d2.sessions.get("dev")?.state === "idle", 90_000, "box 2's session idle");
  });
  after(async () => {
    await h1?.cleanup();
    await h2?.cleanup();
    await pg?.destroy();
  });

  it("box 1's exhaustion reaches box 2 within 2 s and box 2 moves its session off the account", async (t) => {
    const check = await PostgresSharedStore.open({ url, box: "check" });
    try {
      await waitFor(async () => (await check.leases()).length === 2, 10_000, "both leases");
      assert.deepEqual(
        (await check.leases()).map((l) => l.box),
        ["box-1", "box-2"],
      );
      assert.equal(d2.sessions.get("dev")!.account, "a");

      const until = Date.now() + 3_600_000;
      const t0 = Date.now();
      d1.accounts.setState("a", "exhausted", until, "5-hour limit reached");
      await waitFor(
        () => d2.store.getAccount("a")?.state === "exhausted",
        2_000,
        "account a exhausted on box 2 within 2 s",
      );
      const took = Date.now() - t0;
      const row = d2.store.getAccount("a")!;
      assert.equal(row.stateUntil, until);
      assert.equal(row.stateReason, "exhausted on box box-1: 5-hour limit reached");
      t.diagnostic(`exhaustion on box 1 seen on box 2 after ${took} ms`);

      await waitFor(
        () => d2.sessions.get("dev")?.account === "b" && d2.store.lastSwap("dev")?.outcome === "ok",
        60_000,
        "box 2's session moved to b",
      );
      // every box's events, each with its box, read on box 2 (the shared events table, issue 19 point 2)
      const events = async (q: string) => {
        const r = await fetch(`http://${listenOf(h2)}/events?${q}`, {
          headers: { authorization: `Bearer ${h2.token}` },
        });
        assert.equal(r.status, 200);
        return (await r.json()) as { box: string; kind: string; account: string | null; data: { to?: string } }[];
      };
      await waitFor(
        async () => {
          const rows = await events("boxes=all&n=1000");
          const theirs = rows.some((e) => e.box === "box-1" && e.kind === "account.state" && e.data.to === "exhausted");
          return theirs && rows.some((e) => e.box === "box-2" && e.kind.startsWith("swap."));
        },
        10_000,
        "box 1's exhaustion and box 2's swap among every box's events on box 2",
      );
      assert.deepEqual([...new Set((await events("box=box-1&n=1000")).map((e) => e.box))], ["box-1"]);
      assert.ok(
        (await events("n=1000")).every((e) => e.box === undefined),
        "the default: this box's own log",
      );

      // box 2 never wrote the mark back as its own
      assert.deepEqual(
        (await check.listAccountStates(Date.now())).map((m) => [m.account, m.box]),
        [["a", "box-1"]],
      );

      await d1.stop();
      await waitFor(
        async () => (await check.leases()).map((l) => l.box).join() === "box-2",
        10_000,
        "box 1's lease dropped at its stop",
      );
    } finally {
      await check.close();
    }
  });
});
