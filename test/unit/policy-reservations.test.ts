// The pure arithmetic of planning together (issue 19): how many moved sessions an account takes
// (moveCapacity, what a box reserves against in the shared store), other boxes' reservations summed
// (reservedByOthers), and planTick counting them like its own planned moves, saying so in every decision.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chooseInitialAccount,
  moveCapacity,
  planTick,
  reservedByOthers,
  type OtherBoxReservation,
  type PolicyAccount,
  type PolicyParams,
  type PolicySession,
} from "../../src/quota/policy.js";

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 11, 1, 6, 0);

const P: PolicyParams = {
  window5hThreshold: 0.8,
  windowWeekThreshold: 0.9,
  hysteresis: 0.05,
  minDwellMs: 15 * M,
  staleAfterMs: 10 * M,
  reactivateCooldownMs: 5 * M,
  loadPerSession: 0.05,
  minRunwayMs: 0,
};

function acct(name: string, u5: number | null, priority: number, extra: Partial<PolicyAccount> = {}): PolicyAccount {
  return {
    name,
    priority,
    state: "active",
    stateUntil: null,
    figures: {
      fiveHour: u5 === null ? null : { utilization: u5, resetsAt: T0 + 2 * H },
      sevenDay: { utilization: 0.1, resetsAt: T0 + 72 * H },
      perModelWeekly: {},
      fetchedAt: u5 === null ? null : T0 - M,
      source: u5 === null ? "none" : "usage_api",
    },
    hourlyCount: 0,
    weeklyCount: 0,
    limits: { hourly_msgs: 0, weekly_msgs: 0 },
    ...extra,
  };
}
const session = (name: string, account: string): PolicySession => ({
  name,
  account,
  state: "idle",
  lastMoveAt: null,
  hardLimited: false,
  swapping: false,
});
const res = (account: string, box: string, sessions = 1, expiresAt = T0 + 5 * M): OtherBoxReservation => ({
  account,
  box,
  sessions,
  expiresAt,
});

describe("moveCapacity", () => {
  it("counts the moves that stay under the threshold less the margin, as the policy's own planning does", () => {
    // 0.62 + n × 0.05 < 0.8 ⇒ n ≤ 3; with the 0.05 hysteresis < 0.75 ⇒ n ≤ 2
    assert.equal(moveCapacity(acct("b", 0.62, 2), P, T0, 0), 3);
    assert.equal(moveCapacity(acct("b", 0.62, 2), P, T0, P.hysteresis), 2);
    // exactly on the boundary: 0.65 + 3 × 0.05 reaches 0.8 (floating point included) ⇒ 2
    assert.equal(moveCapacity(acct("b", 0.65, 2), P, T0, 0), 2);
    assert.equal(moveCapacity(acct("c", 0.3, 3), P, T0, 0), 9);
    assert.equal(moveCapacity(acct("a", 0.85, 1), P, T0, 0), 0, "over already");
    assert.equal(moveCapacity(acct("a", 0.5, 1, { windowWeekThreshold: 0.05 }), P, T0, 0), 0, "a week over");
    // its own thresholds win
    assert.equal(moveCapacity(acct("b", 0.62, 2, { window5hThreshold: 0.95 }), P, T0, 0), 6);
    // a soft cap counts a move as one prompt
    assert.equal(
      moveCapacity(acct("b", 0.1, 2, { hourlyCount: 8, limits: { hourly_msgs: 10, weekly_msgs: 0 } }), P, T0, 0),
      1,
    );
  });

  it("is null when nothing a move adds to is known (no 5-hour figure), and a passed reset drops the figure", () => {
    assert.equal(moveCapacity(acct("d", null, 4), P, T0, 0), null);
    const rolled = acct("b", 0.79, 2);
    rolled.figures.fiveHour = { utilization: 0.79, resetsAt: T0 - 1 };
    assert.equal(moveCapacity(rolled, P, T0, 0), null);
  });
});

describe("reservedByOthers", () => {
  it("sums the reservations in force by account and box, in name order; expired and empty ones are left out", () => {
    const m = reservedByOthers(
      [
        res("c", "box-2"),
        res("b", "box-3"),
        res("b", "box-2", 2),
        res("b", "box-2"),
        res("b", "box-9", 1, T0), // expired at its time
        res("d", "box-2", 0),
      ],
      T0,
    );
    assert.deepEqual(
      [...m].map(([a, byBox]) => [a, [...byBox]]),
      [
        [
          "b",
          [
            ["box-2", 3],
            ["box-3", 1],
          ],
        ],
        ["c", [["box-2", 1]]],
      ],
    );
  });
});

describe("planTick with other boxes' reservations", () => {
  const accounts = () => [acct("a", 0.85, 1), acct("b", 0.62, 2), acct("c", 0.3, 3)];
  const sessions = [session("s1", "a"), session("s2", "a"), session("s3", "a")];

  it("alone, a box puts two sessions on b (its room within the hysteresis) and one on c", () => {
    const d = planTick({ accounts: accounts(), sessions, params: P }, T0);
    assert.deepEqual(
      d.map((x) => (x.kind === "move" ? x.to : x.kind)),
      ["b", "b", "c"],
    );
    assert.ok(d.every((x) => !x.reasons.some((r) => r.includes("reserved by box"))));
  });

  it("another box's two reservations on b fill it: every session goes to c, and every decision says what it counted", () => {
    const d = planTick(
      { accounts: accounts(), sessions, params: P, reservations: [res("b", "box-1"), res("b", "box-1")] },
      T0,
    );
    assert.deepEqual(
      d.map((x) => (x.kind === "move" ? x.to : x.kind)),
      ["c", "c", "c"],
    );
    for (const x of d)
      assert.ok(x.reasons.includes("b: 2 move(s) reserved by box box-1, counted as planned"), x.reasons.join("; "));
  });

  it("one reservation on b leaves room for one; an expired one counts for nothing", () => {
    const one = planTick({ accounts: accounts(), sessions, params: P, reservations: [res("b", "box-1")] }, T0);
    assert.deepEqual(
      one.map((x) => (x.kind === "move" ? x.to : x.kind)),
      ["b", "c", "c"],
    );
    const expired = planTick(
      { accounts: accounts(), sessions, params: P, reservations: [res("b", "box-1", 2, T0)] },
      T0,
    );
    assert.deepEqual(
      expired.map((x) => (x.kind === "move" ? x.to : x.kind)),
      ["b", "b", "c"],
    );
  });

  it("a forced move parks when other boxes' reservations fill every account", () => {
    const limited = [{ ...session("s1", "a"), hardLimited: true, state: "limited" as const }];
    const d = planTick(
      {
        accounts: [acct("a", 0.85, 1), acct("b", 0.7, 2), acct("c", 0.7, 3)],
        sessions: limited,
        params: P,
        reservations: [res("b", "box-1", 2), res("c", "box-2", 2)],
      },
      T0,
    );
    assert.equal(d[0]!.kind, "park", JSON.stringify(d[0]));
    assert.ok(d[0]!.reasons.includes("c: 2 move(s) reserved by box box-2, counted as planned"));
  });

  it("reservations on an account this box does not have are ignored", () => {
    const d = planTick({ accounts: accounts(), sessions, params: P, reservations: [res("z", "box-1", 5)] }, T0);
    assert.deepEqual(
      d.map((x) => (x.kind === "move" ? x.to : x.kind)),
      ["b", "b", "c"],
    );
  });
});

describe("chooseInitialAccount with other boxes' reservations (a move the swap picks itself)", () => {
  // b (priority 2) at 0.62 has room for 3 moves (0.62 + 3 × 0.05 < 0.8); c (priority 3) at 0.3 for 9.
  const accounts = () => [acct("a", 0.85, 1), acct("b", 0.62, 2), acct("c", 0.3, 3)];

  it("takes the best account when no box reserved anything", () => {
    assert.equal((chooseInitialAccount(accounts(), P, T0) as { account: string }).account, "b");
  });

  it("passes over an account other boxes' reservations filled, and says which it counted", () => {
    const c = chooseInitialAccount(accounts(), P, T0, undefined, [res("b", "box-2", 3)]);
    assert.ok("account" in c, JSON.stringify(c));
    assert.equal(c.account, "c");
    assert.ok(c.reasons.includes("b: 3 move(s) reserved by box box-2, counted as planned"), JSON.stringify(c.reasons));
  });

  it("counts only reservations in force at `now`", () => {
    const c = chooseInitialAccount(accounts(), P, T0, undefined, [res("b", "box-2", 3, T0 - 1)]);
    assert.equal((c as { account: string }).account, "b");
  });

  it("with every account filled by reservations, no usable account (the reservations named)", () => {
    const two = [acct("a", 0.85, 1), acct("b", 0.62, 2)];
    const c = chooseInitialAccount(two, P, T0, undefined, [res("b", "box-2", 2), res("b", "box-3", 1)]);
    assert.ok("none" in c, JSON.stringify(c));
    assert.ok(c.reasons.includes("b: 2 move(s) reserved by box box-2, counted as planned"));
    assert.ok(c.reasons.includes("b: 1 move(s) reserved by box box-3, counted as planned"));
    // one fewer reserved: b has room again
    assert.equal(
      (chooseInitialAccount(two, P, T0, undefined, [res("b", "box-2", 2)]) as { account: string }).account,
      "b",
    );
  });
});
