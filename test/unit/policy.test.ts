import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  accountPressure,
  chooseInitialAccount,
  planTick,
  type PolicyAccount,
  type PolicyDecision,
  type PolicyParams,
  type PolicySession,
} from "../../src/quota/policy.js";

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2025, 1, 3, 12, 0);

// A manual clock: tests move time explicitly, the policy never reads it.
function manualClock(start = T0): { now: () => number; advance: (ms: number) => number } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const P: PolicyParams = {
  window5hThreshold: 0.8,
  windowWeekThreshold: 0.9,
  hysteresis: 0.05,
  minDwellMs: 30 * M,
  staleAfterMs: 10 * M,
  reactivateCooldownMs: 5 * M,
  loadPerSession: 0.05,
  minRunwayMs: 30 * M,
};

interface AcctOpts {
  u5?: number | null;
  u7?: number | null;
  reset5?: number | null;
  priority?: number;
  state?: PolicyAccount["state"];
  until?: number | null;
  fetchedAt?: number | null;
  source?: "usage_api" | "statusline" | "headers" | "none";
  hourly?: number;
  hourlyCap?: number;
  weekly?: number;
  weeklyCap?: number;
  perModel?: Record<string, number>;
}
function acct(name: string, o: AcctOpts = {}, now = T0): PolicyAccount {
  const reset5 = o.reset5 === undefined ? now + 2 * H : o.reset5;
  return {
    name,
    priority: o.priority ?? 1,
    state: o.state ?? "active",
    stateUntil: o.until ?? null,
    figures: {
      fiveHour: o.u5 === null ? null : { utilization: o.u5 ?? 0.1, resetsAt: reset5 },
      sevenDay: o.u7 === null ? null : { utilization: o.u7 ?? 0.1, resetsAt: now + 3 * 24 * H },
      perModelWeekly: Object.fromEntries(
        Object.entries(o.perModel ?? {}).map(([k, u]) => [k, { utilization: u, resetsAt: now + 4 * 24 * H }]),
      ),
      fetchedAt: o.fetchedAt === undefined ? now - M : o.fetchedAt,
      source: o.source ?? "usage_api",
    },
    hourlyCount: o.hourly ?? 0,
    weeklyCount: o.weekly ?? 0,
    limits: { hourly_msgs: o.hourlyCap ?? 0, weekly_msgs: o.weeklyCap ?? 0 },
  };
}
function sess(name: string, account: string | null, o: Partial<PolicySession> = {}): PolicySession {
  return { name, account, state: "idle", lastMoveAt: null, hardLimited: false, swapping: false, ...o };
}
const plan = (accounts: PolicyAccount[], sessions: PolicySession[], now = T0, params = P): PolicyDecision[] =>
  planTick({ accounts, sessions, params }, now);
const one = (d: PolicyDecision[]): PolicyDecision => {
  assert.equal(d.length, 1);
  return d[0]!;
};
const has = (d: PolicyDecision, text: string): void =>
  assert.ok(
    d.reasons.some((r) => r.includes(text)),
    `reasons ${JSON.stringify(d.reasons)} lack ${JSON.stringify(text)}`,
  );
const moves = (ds: PolicyDecision[]) =>
  ds.filter((d): d is Extract<PolicyDecision, { kind: "move" }> => d.kind === "move");

describe("planTick: single-session rules", () => {
  const rows: Array<[string, PolicyAccount[], Partial<PolicySession>, Partial<PolicyDecision> & { reason?: string }]> =
    [
      [
        "over the 5 h threshold → move",
        [acct("a", { u5: 0.85 }), acct("b", { u5: 0.2 })],
        {},
        { kind: "move", to: "b", hard: false, reason: "a: 5h 85% ≥ 80%" },
      ],
      [
        "below the threshold → stay",
        [acct("a", { u5: 0.7 }), acct("b", { u5: 0.2 })],
        {},
        { kind: "stay", reason: "a: 5h 70% < 80%" },
      ],
      [
        "weekly window over → move",
        [acct("a", { u7: 0.92 }), acct("b")],
        {},
        { kind: "move", to: "b", reason: "a: 7d 92% ≥ 90%" },
      ],
      [
        "per-model weekly over → move",
        [acct("a", { perModel: { opus: 0.95 } }), acct("b")],
        {},
        { kind: "move", to: "b", reason: "a: 7d opus 95% ≥ 90%" },
      ],
      [
        "a window past its reset has rolled over → stay",
        [acct("a", { u5: 0.95, reset5: T0 - M }), acct("b")],
        {},
        { kind: "stay" },
      ],
      [
        "hourly soft cap reached (3 of 3) → move",
        [acct("a", { hourly: 3, hourlyCap: 3 }), acct("b")],
        {},
        { kind: "move", to: "b", reason: "hourly cap 3/3 msgs" },
      ],
      [
        "weekly soft cap reached → move",
        [acct("a", { weekly: 50, weeklyCap: 50 }), acct("b")],
        {},
        { kind: "move", to: "b" },
      ],
      ["cap of 0 means no cap", [acct("a", { hourly: 500 }), acct("b")], {}, { kind: "stay" }],
      [
        "target with a cap that one more prompt would reach → no target",
        [acct("a", { u5: 0.85 }), acct("b", { hourly: 2, hourlyCap: 3 })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "only account over → stay, never to itself",
        [acct("a", { u5: 0.9 })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "busy session still gets a soft move, marked",
        [acct("a", { u5: 0.85 }), acct("b")],
        { state: "busy" },
        { kind: "move", to: "b", reason: "busy" },
      ],
      [
        "stale target is not used for a soft move",
        [acct("a", { u5: 0.85 }), acct("b", { u5: 0.1, fetchedAt: T0 - 20 * M })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "target without figures is not used for a soft move",
        [acct("a", { u5: 0.85 }), acct("b", { u5: null, u7: null, source: "none", fetchedAt: null })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "stale target is a last resort for a hard move",
        [acct("a", { state: "exhausted", until: T0 + H }), acct("b", { fetchedAt: T0 - 20 * M })],
        {},
        { kind: "move", to: "b", hard: true, reason: "last resort" },
      ],
      [
        "unknown target is a last resort for a hard move",
        [acct("a", { u5: 0.3 }), acct("b", { u5: null, u7: null, source: "none", fetchedAt: null })],
        { hardLimited: true },
        { kind: "move", to: "b", hard: true },
      ],
      [
        "hysteresis: target at threshold − 0.01 is not a target",
        [acct("a", { u5: 0.85 }), acct("b", { u5: 0.79 })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "hard move may use the hysteresis band",
        [acct("a", { state: "exhausted", until: T0 + H }), acct("b", { u5: 0.74 })],
        {},
        { kind: "move", to: "b", hard: true, reason: "hysteresis band" },
      ],
      [
        "revoked account → hard move",
        [acct("a", { state: "revoked" }), acct("b")],
        {},
        { kind: "move", to: "b", hard: true, reason: "a: revoked" },
      ],
      [
        "disabled account → soft move",
        [acct("a", { state: "disabled" }), acct("b")],
        {},
        { kind: "move", to: "b", hard: false, reason: "a: disabled" },
      ],
      [
        "unconfigured account → hard move",
        [acct("b")],
        { account: "gone" },
        { kind: "move", from: "gone", to: "b", hard: true, reason: "not a configured account" },
      ],
      [
        "swapping → stay",
        [acct("a", { u5: 0.95 }), acct("b")],
        { swapping: true },
        { kind: "stay", reason: "swap in progress" },
      ],
      [
        "starting → stay",
        [acct("a", { u5: 0.95 }), acct("b")],
        { state: "starting" },
        { kind: "stay", reason: "session starting" },
      ],
      [
        "exited → stay",
        [acct("a", { u5: 0.95 }), acct("b")],
        { state: "exited" },
        { kind: "stay", reason: "session exited" },
      ],
      [
        "cooldown account is not a target",
        [acct("a", { u5: 0.85 }), acct("b", { state: "cooldown", until: T0 + M })],
        {},
        { kind: "stay", reason: "no better account" },
      ],
      [
        "ended cooldown is a target",
        [acct("a", { u5: 0.85 }), acct("b", { state: "cooldown", until: T0 - M })],
        {},
        { kind: "move", to: "b" },
      ],
      [
        "parked, account usable again → stay (resume)",
        [acct("a"), acct("b")],
        { state: "parked" },
        { kind: "stay", reason: "resume here" },
      ],
      [
        "parked, account still exhausted → hard move",
        [acct("a", { state: "exhausted", until: T0 + H }), acct("b")],
        { state: "parked" },
        { kind: "move", to: "b", hard: true },
      ],
      [
        "'limited' state counts as a refusal",
        [acct("a", { u5: 0.3 }), acct("b")],
        { state: "limited" },
        { kind: "move", to: "b", hard: true, reason: "refused" },
      ],
    ];
  for (const [name, accounts, s, want] of rows) {
    it(name, () => {
      const d = one(plan(accounts, [sess("s1", "a", s)]));
      const { reason, ...shape } = want;
      for (const [k, v] of Object.entries(shape))
        assert.deepEqual((d as Record<string, unknown>)[k], v, `${k} of ${JSON.stringify(d)}`);
      if (reason) has(d, reason);
      assert.ok(d.reasons.length > 0);
    });
  }

  it("a session with no account gets no decision", () => assert.deepEqual(plan([acct("a")], [sess("s1", null)]), []));
});

describe("planTick: ordering of targets", () => {
  it("lowest priority number first, even with less headroom", () => {
    const d = one(
      plan(
        [acct("a", { u5: 0.85 }), acct("b", { priority: 2, u5: 0.1 }), acct("c", { priority: 1, u5: 0.5 })],
        [sess("s1", "a")],
      ),
    );
    assert.equal(d.kind === "move" && d.to, "c");
  });
  it("same priority: most headroom", () => {
    const d = one(plan([acct("a", { u5: 0.85 }), acct("b", { u5: 0.5 }), acct("c", { u5: 0.3 })], [sess("s1", "a")]));
    assert.equal(d.kind === "move" && d.to, "c");
  });
  it("same headroom: earliest reset", () => {
    const d = one(
      plan(
        [acct("a", { u5: 0.85 }), acct("b", { u5: 0.3, reset5: T0 + 3 * H }), acct("c", { u5: 0.3, reset5: T0 + H })],
        [sess("s1", "a")],
      ),
    );
    assert.equal(d.kind === "move" && d.to, "c");
  });
});

describe("planTick: a tick is planned as a whole", () => {
  it("ten sessions crossing at once split by headroom; nobody overfills a target or moves twice", () => {
    const accounts = [acct("a", { u5: 0.85 }), acct("b", { u5: 0.52 }), acct("c", { u5: 0.58 })];
    const sessions = Array.from({ length: 10 }, (_, i) => sess(`s${i}`, "a"));
    const ds = plan(accounts, sessions);
    assert.deepEqual(
      ds.map((d) => d.session),
      sessions.map((s) => s.name),
    );
    const ms = moves(ds);
    const landed = (to: string): number => ms.filter((m) => m.to === to).length;
    // b takes 0.52 → 0.72 (4 moves), c 0.58 → 0.73 (3 moves): both stay under 0.8 − 0.05.
    assert.deepEqual([landed("b"), landed("c"), landed("a")], [4, 3, 0]);
    assert.equal(ds.filter((d) => d.kind === "stay" && d.reasons.includes("no better account")).length, 3);
    assert.equal(ms[0]!.to, "b", "the first move goes to the account with the most headroom");
    assert.ok(new Set(ms.map((m) => m.to)).size === 2, "moves are spread, not piled on one account");
  });

  it("after the moves land, the next ticks are quiet (no cascade)", () => {
    const clock = manualClock();
    let accounts = [acct("a", { u5: 0.85 }), acct("b", { u5: 0.52 }), acct("c", { u5: 0.58 })];
    let sessions = Array.from({ length: 10 }, (_, i) => sess(`s${i}`, "a"));
    for (let tick = 0; tick < 5; tick++) {
      const ms = moves(plan(accounts, sessions, clock.now()));
      if (tick > 0) assert.deepEqual(ms, [], `tick ${tick} moved again`);
      const add = (name: string): number => ms.filter((m) => m.to === name).length * P.loadPerSession;
      accounts = accounts.map((a) => acct(a.name, { u5: a.figures.fiveHour!.utilization + add(a.name) }, clock.now()));
      sessions = sessions.map((s) => {
        const m = ms.find((x) => x.session === s.name);
        return m ? { ...s, account: m.to, lastMoveAt: clock.now() } : s;
      });
      clock.advance(M);
    }
  });

  it("forced moves claim capacity before optimisation moves", () => {
    // c fits exactly one more session: the hard-limited one gets it though it sorts last.
    const accounts = [acct("a", { u5: 0.85 }), acct("b", { u5: 0.2 }), acct("c", { u5: 0.66 })];
    const ds = plan(accounts, [sess("a1", "a"), sess("z9", "b", { hardLimited: true })]);
    assert.deepEqual(
      ds.map((d) => [d.session, d.kind, d.kind === "move" ? d.to : null]),
      [
        ["a1", "stay", null],
        ["z9", "move", "c"],
      ],
    );
  });

  it("an account where the CLI refused a request is never a target", () => {
    const ds = plan(
      [acct("a", { u5: 0.85 }), acct("b", { u5: 0.1 }), acct("c", { u5: 0.4 })],
      [sess("s1", "a"), sess("s2", "b", { hardLimited: true })],
    );
    assert.deepEqual(
      moves(ds).map((m) => [m.session, m.to, m.hard]),
      [
        ["s1", "c", false],
        ["s2", "c", true],
      ],
    );
  });

  it("output is sorted by session name and deterministic", () => {
    const accounts = [acct("a", { u5: 0.85 }), acct("b"), acct("c")];
    const sessions = ["s3", "s1", "s2"].map((n) => sess(n, "a"));
    const first = plan(accounts, sessions);
    assert.deepEqual(
      first.map((d) => d.session),
      ["s1", "s2", "s3"],
    );
    assert.deepEqual(plan(accounts, [...sessions].reverse()), first);
  });

  it("every account nearly full → everyone stays", () => {
    const ds = plan(
      [acct("a", { u5: 0.85 }), acct("b", { u5: 0.82 }), acct("c", { u7: 0.95 })],
      [sess("s1", "a"), sess("s2", "b"), sess("s3", "c")],
    );
    assert.deepEqual(
      ds.map((d) => d.kind),
      ["stay", "stay", "stay"],
    );
    for (const d of ds) has(d, "no better account");
  });
});

describe("planTick: dwell, parking and reactivation over time", () => {
  it("dwell blocks a second soft move but not a hard one", () => {
    const clock = manualClock();
    const accounts = (): PolicyAccount[] => [acct("a", { u5: 0.85 }, clock.now()), acct("b", {}, clock.now())];
    const moved = sess("s1", "a", { lastMoveAt: clock.now() - 10 * M });
    has(one(plan(accounts(), [moved], clock.now())), "dwell");
    assert.equal(one(plan(accounts(), [{ ...moved, hardLimited: true }], clock.now())).kind, "move");
    clock.advance(19 * M);
    has(one(plan(accounts(), [moved], clock.now())), "dwell");
    clock.advance(M);
    assert.equal(one(plan(accounts(), [moved], clock.now())).kind, "move");
  });

  it("all accounts refusing → park at the earliest reset", () => {
    const ds = plan(
      [acct("a", { state: "exhausted", until: T0 + 2 * H }), acct("b", { state: "exhausted", until: T0 + H })],
      [sess("s1", "a", { hardLimited: true })],
    );
    const d = one(ds);
    assert.equal(d.kind, "park");
    assert.equal(d.kind === "park" && d.resumeAt, T0 + H + P.reactivateCooldownMs);
    has(d, "no usable account");
  });

  it("the earliest reset may be a window of an over account", () => {
    const d = one(
      plan(
        [acct("a", { state: "exhausted", until: T0 + 2 * H }), acct("b", { u5: 0.95, reset5: T0 + 30 * M })],
        [sess("s1", "a")],
      ),
    );
    assert.equal(d.kind === "park" && d.resumeAt, T0 + 30 * M);
  });

  it("unknown resets → park with resumeAt null", () => {
    const d = one(plan([acct("a", { state: "revoked" }), acct("b", { state: "disabled" })], [sess("s1", "a")]));
    assert.deepEqual(d.kind === "park" && d.resumeAt, null);
  });

  it("an exhausted account is reused only after reset + cooldown", () => {
    const clock = manualClock();
    const at = (): PolicyAccount[] => [
      acct("a", { u5: 0.85 }, clock.now()),
      acct("b", { state: "exhausted", until: T0 + H }, clock.now()),
    ];
    const s = sess("s1", "a");
    assert.equal(one(plan(at(), [s], clock.now())).kind, "stay");
    clock.advance(H);
    assert.equal(one(plan(at(), [s], clock.now())).kind, "stay", "reset reached, cooldown not over");
    clock.advance(P.reactivateCooldownMs);
    assert.equal(one(plan(at(), [s], clock.now())).kind, "move");
  });

  it("a parked session resumes on its own account once it is usable again", () => {
    const clock = manualClock();
    const s = sess("s1", "a", { state: "parked" });
    const at = (): PolicyAccount[] => [
      acct("a", { state: "exhausted", until: T0 + H }, clock.now()),
      acct("b", { state: "revoked" }, clock.now()),
    ];
    assert.equal(one(plan(at(), [s], clock.now())).kind, "park");
    clock.advance(H + P.reactivateCooldownMs);
    const d = one(plan(at(), [s], clock.now()));
    assert.equal(d.kind, "stay");
    has(d, "resume here");
  });
});

describe("accountPressure", () => {
  it("reports headroom as the distance to the nearest threshold", () => {
    const p = accountPressure(acct("a", { u5: 0.5, u7: 0.8 }), P, T0);
    assert.deepEqual([p.over, p.hard, p.usable, Math.round(p.headroom * 100)], [false, false, true, 10]);
  });
  it("an exhausted account is hard, with its reuse time", () => {
    const p = accountPressure(acct("a", { state: "exhausted", until: T0 + H }), P, T0);
    assert.deepEqual([p.hard, p.usable, p.earliestReset], [true, false, T0 + H + P.reactivateCooldownMs]);
  });
  it("over on two windows: usable again when the later one resets", () => {
    const a = acct("a", { u5: 0.9, reset5: T0 + H });
    a.figures.sevenDay = { utilization: 0.95, resetsAt: T0 + 24 * H };
    assert.equal(accountPressure(a, P, T0).earliestReset, T0 + 24 * H);
  });
  it("stale figures: a last resort, not usable", () => {
    const p = accountPressure(acct("a", { fetchedAt: T0 - 11 * M }), P, T0);
    assert.deepEqual([p.usable, p.lastResort], [false, true]);
    assert.ok(p.reasons.some((r) => r.includes("stale")));
  });
});

describe("chooseInitialAccount", () => {
  const accounts = [
    acct("a", { priority: 2, u5: 0.1 }),
    acct("b", { priority: 1, u5: 0.6 }),
    acct("c", { priority: 1, u5: 0.3 }),
    acct("d", { u5: 0.9 }),
  ];
  const pick = (accs: PolicyAccount[], preferred?: string) => chooseInitialAccount(accs, P, T0, preferred);
  const picked = (accs: PolicyAccount[], preferred?: string): string | null => {
    const r = pick(accs, preferred);
    return "account" in r ? r.account : null;
  };
  it("lowest priority, then most headroom", () => assert.equal(picked(accounts), "c"));
  it("a usable preferred account wins", () => assert.equal(picked(accounts, "a"), "a"));
  it("an unusable preferred account is passed over", () => assert.equal(picked(accounts, "d"), "c"));
  it("unknown figures only as a last resort", () => {
    const r = pick([acct("d", { u5: 0.9 }), acct("e", { source: "none", fetchedAt: null, u5: null, u7: null })]);
    assert.equal("account" in r && r.account, "e");
  });
  it("nothing usable → none, with the earliest reset", () => {
    const r = pick([acct("d", { u5: 0.9, reset5: T0 + H }), acct("x", { state: "exhausted", until: T0 + 3 * H })]);
    assert.deepEqual("none" in r && r.resumeAt, T0 + H);
  });
});

// --- forecasts: runway, soonest reset, per-account thresholds, expired tokens -----------------------

/** Sets the 5 h (and optionally 7 d) forecast burn of an account, in utilization per hour. */
function burning(a: PolicyAccount, burn5: number | null, burn7: number | null = null): PolicyAccount {
  const f = (w: PolicyAccount["figures"]["fiveHour"], burn: number | null) =>
    w && burn !== null
      ? { utilization: w.utilization, burnPerHour: burn, exhaustAt: null, resetsAt: w.resetsAt, samples: 10 }
      : null;
  return {
    ...a,
    forecasts: { fiveHour: f(a.figures.fiveHour, burn5), sevenDay: f(a.figures.sevenDay, burn7), perModelWeekly: {} },
  };
}
const target = (d: PolicyDecision): string | null => (d.kind === "move" ? d.to : null);

describe("planTick: min_runway", () => {
  // Figures are read a minute before T0 (acct's default): a window's own burn brings it forward to T0.
  const rows: Array<[string, PolicyAccount[], Partial<PolicySession>, string | null, string?, PolicyParams?]> = [
    [
      "a target that lasts the runway",
      [burning(acct("a", { u5: 0.85 }), 0.3), burning(acct("b", { u5: 0.2 }), 0.1)],
      {},
      "b",
      "lasts at least the 30m runway",
    ],
    // b: 0.5 + 0.05 (the move) reaches 0.8 in 0.25 / 1.0 h = 15m.
    [
      "the target's own burn is too high → stay",
      [acct("a", { u5: 0.85 }), burning(acct("b", { u5: 0.5 }), 1.0)],
      {},
      null,
      "b: 5h would reach 80% in 14m at 100%/h, under the 30m runway",
    ],
    // b alone lasts 0.25 / 0.2 h; with the moved session's 0.6/h (a's burn, one session there) 0.25 / 0.8 h = 19m.
    [
      "the moved session's expected burn tips it → stay",
      [burning(acct("a", { u5: 0.85 }), 0.6), burning(acct("b", { u5: 0.5 }), 0.2)],
      {},
      null,
      "at 80%/h",
    ],
    [
      "a window that resets before reaching its threshold doesn't count",
      [acct("a", { u5: 0.85 }), burning(acct("b", { u5: 0.5, reset5: T0 + 10 * M }), 1.0)],
      {},
      "b",
    ],
    [
      "min_runway 0 turns the rule off",
      [acct("a", { u5: 0.85 }), burning(acct("b", { u5: 0.5 }), 1.0)],
      {},
      "b",
      undefined,
      { ...P, minRunwayMs: 0 },
    ],
    // 7 d: 0.8 reaches 0.9 in 0.1 / 0.3 h = 20m.
    [
      "the weekly window's runway counts too",
      [acct("a", { u5: 0.85 }), burning(acct("b", { u7: 0.8 }), null, 0.3)],
      {},
      null,
      "b: 7d would reach 90% in 19m at 30%/h",
    ],
    [
      "a forced move takes a short-runway target rather than park",
      [acct("a", { state: "exhausted", until: T0 + H }), burning(acct("b", { u5: 0.5 }), 1.0)],
      {},
      "b",
      "taken because the move is forced",
    ],
    // b read 9 minutes ago at 0.5, burning nothing itself: 0.55 at the session's 0.5/h lasts exactly 30m from now.
    [
      "the moved session's load starts now, not at the target's reading",
      [burning(acct("a", { u5: 0.85 }), 0.5), acct("b", { u5: 0.5, fetchedAt: T0 - 9 * M })],
      {},
      "b",
    ],
    // b read 9 minutes ago at 0.5, burning 0.6/h itself: 0.59 now, + 0.05 for the move, reaches 0.8 in 16m.
    [
      "the target's own burn since its reading counts",
      [acct("a", { u5: 0.85 }), burning(acct("b", { u5: 0.5, fetchedAt: T0 - 9 * M }), 0.6)],
      {},
      null,
      "b: 5h would reach 80% in 16m at 60%/h",
    ],
    [
      "a longer-runway account wins over a preferred short one",
      [
        acct("a", { u5: 0.85 }),
        burning(acct("b", { u5: 0.5, priority: 0 }), 1.0),
        burning(acct("c", { u5: 0.5, priority: 5 }), 0.1),
      ],
      {},
      "c",
    ],
  ];
  for (const [name, accounts, s, to, reason, params] of rows) {
    it(name, () => {
      const d = one(plan(accounts, [sess("s1", "a", s)], T0, params ?? P));
      assert.equal(target(d), to, JSON.stringify(d));
      if (reason) has(d, reason);
    });
  }

  it("the burn of sessions planned to a target this tick adds up: of three sessions one moves", () => {
    // a burns 0.6/h over 3 sessions (0.2 each). b: 0.55 at 0.4/h lasts 37m; a second: 0.6 at 0.6/h, 20m.
    const ds = plan(
      [burning(acct("a", { u5: 0.85 }), 0.6), burning(acct("b", { u5: 0.5 }), 0.2)],
      [sess("s1", "a"), sess("s2", "a"), sess("s3", "a")],
    );
    assert.deepEqual(ds.map(target), ["b", null, null]);
    has(ds[1]!, "under the 30m runway");
  });

  it("a new session goes where the runway holds", () => {
    const accounts = [
      burning(acct("b", { priority: 1, u5: 0.5 }), 1.0),
      burning(acct("c", { priority: 2, u5: 0.5 }), 0.1),
    ];
    const r = chooseInitialAccount(accounts, P, T0);
    assert.equal("account" in r && r.account, "c");
  });
});

describe("planTick: spend the quota that resets soonest", () => {
  const rows: Array<[string, PolicyAccount[], string]> = [
    [
      "same priority: the sooner reset wins over more headroom",
      [acct("a", { u5: 0.85 }), acct("b", { u5: 0.1, reset5: T0 + 3 * H }), acct("c", { u5: 0.5, reset5: T0 + H })],
      "c",
    ],
    [
      "priority first: a preferred account with a later reset wins",
      [
        acct("a", { u5: 0.85 }),
        acct("b", { priority: 1, reset5: T0 + 3 * H }),
        acct("c", { priority: 2, reset5: T0 + 30 * M }),
      ],
      "b",
    ],
    [
      "the soonest of an account's windows counts",
      [acct("a", { u5: 0.85 }), acct("b", { u5: 0.1, reset5: T0 + 4 * H }), acct("c", { u5: 0.1, reset5: T0 + 2 * H })],
      "c",
    ],
    [
      "a soft cap's counting window is not a reset",
      [
        acct("a", { u5: 0.85 }),
        acct("b", { reset5: T0 + 3 * H, hourly: 1, hourlyCap: 100 }),
        acct("c", { reset5: T0 + 2 * H }),
      ],
      "c",
    ],
    [
      "an account without a known reset comes after",
      [acct("a", { u5: 0.85 }), acct("b", { u5: 0.1, reset5: null }), acct("c", { u5: 0.5, reset5: T0 + 4 * H })],
      "c",
    ],
  ];
  for (const [name, accounts, to] of rows) {
    it(name, () => {
      const d = one(plan(accounts, [sess("s1", "a")]));
      assert.equal(target(d), to, JSON.stringify(d));
    });
  }
});

describe("planTick: per-account thresholds", () => {
  const rows: Array<[string, PolicyAccount[], string | null, string?]> = [
    [
      "an account's own lower 5 h threshold makes it over",
      [{ ...acct("a", { u5: 0.65 }), window5hThreshold: 0.6 }, acct("b")],
      "b",
      "a: 5h 65% ≥ 60%",
    ],
    [
      "an account's own higher weekly threshold keeps it in use",
      [{ ...acct("a", { u7: 0.95 }), windowWeekThreshold: 0.99 }, acct("b")],
      null,
      "a: 7d 95% < 99%",
    ],
    [
      "a target's own threshold limits what it takes",
      [acct("a", { u5: 0.85 }), { ...acct("b", { u5: 0.4 }), window5hThreshold: 0.5 }],
      null,
      "no better account",
    ],
    [
      "the global threshold applies where none is set",
      [acct("a", { u5: 0.85 }), { ...acct("b", { u5: 0.4 }), window5hThreshold: 0.5 }, acct("c", { u5: 0.4 })],
      "c",
    ],
    [
      "per-model weekly windows use the account's weekly threshold",
      [{ ...acct("a", { perModel: { opus: 0.85 } }), windowWeekThreshold: 0.8 }, acct("b")],
      "b",
      "a: 7d opus 85% ≥ 80%",
    ],
  ];
  for (const [name, accounts, to, reason] of rows) {
    it(name, () => {
      const d = one(plan(accounts, [sess("s1", "a")]));
      assert.equal(target(d), to, JSON.stringify(d));
      if (reason) has(d, reason);
    });
  }
});

describe("planTick: an idle spare whose access token expired", () => {
  const expired = (name: string, o: AcctOpts = {}): PolicyAccount => ({
    ...acct(name, { u5: null, u7: null, source: "none", fetchedAt: null, ...o }),
    figuresUnknown: "token_expired",
  });
  it("is a target for a threshold move (unknown figures alone are not)", () => {
    has(
      one(
        plan(
          [acct("a", { u5: 0.85 }), acct("b", { u5: null, u7: null, source: "none", fetchedAt: null })],
          [sess("s1", "a")],
        ),
      ),
      "no better account",
    );
    const d = one(plan([acct("a", { u5: 0.85 }), expired("b")], [sess("s1", "a")]));
    assert.equal(target(d), "b");
    has(d, "access token expired");
  });
  it("ranks after accounts with known figures, whatever its priority", () => {
    const d = one(
      plan([acct("a", { u5: 0.85 }), expired("b", { priority: 0 }), acct("c", { priority: 9 })], [sess("s1", "a")]),
    );
    assert.equal(target(d), "c");
  });
  it("last-known figures still count while their window runs", () => {
    const d = one(
      plan(
        [acct("a", { u5: 0.85 }), expired("b", { u5: 0.9, u7: 0.1, source: "usage_api", fetchedAt: T0 - 3 * H })],
        [sess("s1", "a")],
      ),
    );
    assert.equal(target(d), null);
  });
  it("accountPressure: usable, with the reason; a revoked one is not", () => {
    const p = accountPressure(expired("b"), P, T0);
    assert.deepEqual([p.usable, p.lastResort], [true, false]);
    assert.ok(p.reasons.some((r) => r.includes("access token expired")));
    assert.equal(accountPressure(expired("b", { state: "revoked" }), P, T0).usable, false);
  });
});

describe("planTick: an idle spare whose figures were never read (the usage endpoint refuses us)", () => {
  const unread = (name: string, o: AcctOpts = {}): PolicyAccount => ({
    ...acct(name, { u5: null, u7: null, source: "none", fetchedAt: null, ...o }),
    figuresUnknown: "no_reading",
  });
  it("is a target for a threshold move, with the reason", () => {
    const d = one(plan([acct("a", { u5: 0.85, source: "statusline" }), unread("b")], [sess("s1", "a")]));
    assert.equal(target(d), "b");
    has(d, "never read");
  });
  it("ranks after an account with known figures", () => {
    const d = one(
      plan([acct("a", { u5: 0.85 }), unread("b", { priority: 0 }), acct("c", { priority: 9 })], [sess("s1", "a")]),
    );
    assert.equal(target(d), "c");
  });
  it("a disabled or exhausted one is still not a target", () => {
    assert.equal(accountPressure(unread("b", { state: "disabled" }), P, T0).usable, false);
    assert.equal(accountPressure(unread("b", { state: "exhausted", until: T0 + H }), P, T0).usable, false);
  });
});
