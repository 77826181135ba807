// Planning together (issue 19): two daemons (two state dirs, two tmux sockets, their own stand-in APIs) share
// three accounts and one real PostgreSQL. Account a crosses its 5-hour threshold under six sessions, three
// on each box. Alone, each box's policy would put two sessions on b (its room: 62 % + 2 × 5 % stays below
// 80 % less the 5 % hysteresis) and one on c, so four would land on b and take it to 82 %. With the moves
// reserved in the shared store, b takes at most its room over both boxes and the rest go to c; each box's
// decision log shows the reservations of the other it counted. Skipped when PostgreSQL is missing, failed
// under CI.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import type { Daemon } from "../../src/daemon.js";
import type { Harness } from "../support/harness.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { postgresGate, twoBoxHarnesses } from "../support/two-boxes.js";
import { waitFor } from "../support/wait.js";

const MISSING = postgresGate("multi-box planning");

const QUOTA = {
  poll_interval: "1s",
  poll_interval_min: "500ms",
  poll_interval_max: "2s",
  stale_after: "1m",
  window_5h_threshold: 0.8,
  hysteresis: 0.05,
  min_dwell: "10m",
  min_runway: "0s",
};
const LOAD = 0.05; // config/params.ts LOAD_PER_SESSION
const U = { a: 0.85, b: 0.62, c: 0.3 };

describe("two boxes plan moves together through PostgreSQL", { timeout: 420_000, skip: MISSING ?? false }, () => {
  let pg: TestPostgres;
  let url: string;
  let h1: Harness;
  let h2: Harness;
  let d1: Daemon;
  let d2: Daemon;
  const names1 = ["s1", "s2", "s3"];
  const names2 = ["s4", "s5", "s6"];
  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
    [h1, h2] = await twoBoxHarnesses(
      url,
      ["box-1", "box-2"],
      [
        { accounts: 3, dedicated: names1.map((name) => ({ name, account: "a" })), config: { quota: QUOTA } },
        { accounts: 3, dedicated: names2.map((name) => ({ name, account: "a" })), config: { quota: QUOTA } },
      ],
    );
    d1 = await h1.start();
    d2 = await h2.start();
    const idle = (d: Daemon, names: string[]) => () =>
      names.every((n) => d.sessions.get(n)?.state === "idle" && d.sessions.get(n)?.account === "a");
    const states = () =>
      [...names1.map((n) => d1.sessions.get(n)), ...names2.map((n) => d2.sessions.get(n))]
        .map((r) => `${r?.name}:${r?.state}@${r?.account}`)
        .join(" ");
    await waitFor(idle(d1, names1), 240_000, "box 1's three sessions idle on a").catch((e: Error) => {
      throw new Error(`${e.message} (${states()})`);
    });
    await waitFor(idle(d2, names2), 240_000, "box 2's three sessions idle on a").catch((e: Error) => {
      throw new Error(`${e.message} (${states()})`);
    });
  });
  after(async () => {
    await h1?.cleanup();
    await h2?.cleanup();
    await pg?.destroy();
  });

  it("a's threshold crossing moves all six sessions off a without b or c going over by the plan; each box's log shows the other's reservations", async (t) => {
    const check = await PostgresSharedStore.open({ url, box: "check" });
    try {
      await waitFor(async () => (await check.leases()).length === 2, 15_000, "both leases");
      // b and c first, on both boxes' stand-ins (each box reads its own), until both boxes' figures show them
      for (const h of [h1, h2]) {
        h.api.setUtilization(h.accountTokens.b!, { five_hour: U.b * 100 });
        h.api.setUtilization(h.accountTokens.c!, { five_hour: U.c * 100 });
      }
      const sees = (d: Daemon, account: "a" | "b" | "c") => () =>
        d.quota.view(account).fiveHour?.utilization === U[account];
      for (const d of [d1, d2])
        for (const acc of ["b", "c"] as const) await waitFor(sees(d, acc), 30_000, `${acc} read`);
      assert.equal(d1.store.listSwaps().length + d2.store.listSwaps().length, 0, "nothing moved yet");

      const t0 = Date.now();
      for (const h of [h1, h2]) h.api.setUtilization(h.accountTokens.a!, { five_hour: U.a * 100 });

      const placed = (d: Daemon, names: string[]) => () => {
        const rows = names.map((n) => d.sessions.get(n));
        return rows.every((r) => r && r.account !== "a" && d.store.lastSwap(r.name)?.outcome === "ok")
          ? rows.map((r) => r!.account!)
          : null;
      };
      const on1 = await waitFor(placed(d1, names1), 240_000, "box 1's sessions moved off a", 200);
      const on2 = await waitFor(placed(d2, names2), 240_000, "box 2's sessions moved off a", 200);
      const took = Date.now() - t0;
      const count = (acc: string) => [...on1, ...on2].filter((x) => x === acc).length;
      t.diagnostic(`box 1 → ${on1.join(",")}, box 2 → ${on2.join(",")}; all six moved ${took} ms after a crossed`);
      assert.equal(count("b") + count("c"), 6);
      // by the plan (figures + the load the moved sessions are assumed to add), no target reaches its threshold
      assert.ok(
        U.b + count("b") * LOAD < QUOTA.window_5h_threshold,
        `b took ${count("b")} session(s): over by the plan`,
      );
      assert.ok(U.c + count("c") * LOAD < QUOTA.window_5h_threshold, `c took ${count("c")} session(s)`);

      // every made move is still reserved (kept for the dwell time), on the account the session went to
      const held = await check.listReservations(Date.now());
      assert.deepEqual(
        held.map((r) => `${r.box}/${r.session}→${r.account}`).sort(),
        [...names1.map((n, i) => `box-1/${n}→${on1[i]}`), ...names2.map((n, i) => `box-2/${n}→${on2[i]}`)].sort(),
      );

      // each box's decision log shows the other box's reservations it counted
      const shows = (d: Daemon, other: string) => () =>
        d.store
          .tailEvents(3000, { kindPrefix: "quota.decision." })
          .find((e) => (e.data.reasons as string[] | undefined)?.some((r) => r.includes(`reserved by box ${other},`)));
      const e1 = await waitFor(shows(d1, "box-2"), 15_000, "box 1's log shows box 2's reservations");
      const e2 = await waitFor(shows(d2, "box-1"), 15_000, "box 2's log shows box 1's reservations");
      t.diagnostic(
        `box 1 logged: ${(e1.data.reasons as string[]).filter((r) => r.includes("reserved by")).join("; ")}`,
      );
      t.diagnostic(
        `box 2 logged: ${(e2.data.reasons as string[]).filter((r) => r.includes("reserved by")).join("; ")}`,
      );
      const refused = [d1, d2].flatMap((d) =>
        d.store
          .tailEvents(3000, { kindPrefix: "quota.decision.cancelled" })
          .filter((e) => /is full/.test(String(e.data.reason))),
      );
      t.diagnostic(`moves refused for want of room: ${refused.length}`);
    } finally {
      await check.close();
    }
  });

  it("a move whose target the swap picks itself counts other boxes' reservations: the account they filled is not taken", async (t) => {
    // A third box reserves the whole of the account box 1's first session is not on; a is over. A swap told
    // no target (as a refusal's urgent move is) then has nowhere to go; without the reservations it would
    // take that account (its figures alone leave room).
    const s = d1.sessions.get("s1")!;
    const other = s.account === "b" ? "c" : "b";
    const box3 = await PostgresSharedStore.open({ url, box: "box-3" });
    try {
      await box3.heartbeat(Date.now(), 600_000); // a live box: a lapsed one's reservations count for nothing
      for (let i = 0; i < 20; i++) {
        const r = await box3.reserveMove(
          { id: `box3-${i}`, account: other, session: `x${i}`, capacity: null, ttlMs: 600_000 },
          Date.now(),
        );
        assert.ok(r.ok);
      }
      await waitFor(
        () => d1.boxSync!.reservations.fromOtherBoxes().filter((r) => r.box === "box-3").length === 20,
        15_000,
        "box 1 read box 3's reservations",
      );
      const out = await d1.swaps.swap({ session: "s1", reason: "manual", urgent: true, hard: false });
      t.diagnostic(JSON.stringify(out));
      assert.equal(out.ok, false, `moved onto ${out.ok ? out.to : ""} though box 3 filled it`);
      assert.equal(!out.ok && out.outcome, "refused");
      assert.match(!out.ok ? out.reason : "", new RegExp(`${other}: 20 move\\(s\\) reserved by box box-3`));
      assert.equal(d1.sessions.get("s1")!.account, s.account, "the session stayed");
    } finally {
      await box3.close();
    }
  });
});
