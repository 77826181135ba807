// The pure rules of the usage backstop: next interval, the order of due accounts, the request
// budget, and the box-wide endpoint state after each kind of answer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  budgetAllows,
  INITIAL_ENDPOINT,
  MAX_BLOCK_MS,
  nextEndpointState,
  nextInterval,
  pickDue,
  REFUSED_AFTER,
  usageChanged,
  type EndpointAnswer,
  type EndpointState,
  type PollParams,
} from "../../src/quota/poll-schedule.js";

const MIN = 60_000;
const P: PollParams = {
  baseMs: 5 * MIN,
  minMs: MIN,
  maxMs: 30 * MIN,
  window5hThreshold: 0.85,
  windowWeekThreshold: 0.95,
  hysteresis: 0.05,
  requestGapMs: MIN,
};

describe("nextInterval", () => {
  const rows: [string, number | null, number | null, boolean, number][] = [
    ["near the 5 h threshold (≥ 75 %)", 0.75, 0.1, false, P.minMs],
    ["near the weekly threshold (≥ 85 %)", 0.1, 0.85, false, P.minMs],
    ["figures moving", 0.5, 0.2, true, P.baseMs],
    ["figures still", 0.5, 0.2, false, P.maxMs],
    ["nothing known", null, null, false, P.maxMs],
  ];
  for (const [name, five, week, changed, want] of rows)
    it(name, () => assert.equal(nextInterval(P, five, week, changed), want));
});

describe("usageChanged", () => {
  it("half a point or more in any known window", () => {
    assert.equal(usageChanged([0.5, 0.2], [0.505, 0.2]), true);
    assert.equal(usageChanged([0.5, 0.2], [0.502, 0.2]), false);
    assert.equal(usageChanged([null, 0.2], [0.9, 0.2]), false, "no previous reading: not 'moving'");
  });
});

describe("pickDue", () => {
  it("only due accounts, the longest overdue first, near-threshold ones first among equals", () => {
    const items = [
      { name: "b", dueAt: 100, urgent: true },
      { name: "a", dueAt: 50, urgent: false },
      { name: "c", dueAt: 100, urgent: false },
      { name: "d", dueAt: 500, urgent: true },
    ];
    assert.deepEqual(
      pickDue(items, 200).map((i) => i.name),
      ["a", "b", "c"],
    );
  });
});

describe("budgetAllows", () => {
  it("one request per gap, none before a block ends", () => {
    assert.equal(budgetAllows(P, 1000, null, 0), true);
    assert.equal(budgetAllows(P, 1000 + MIN - 1, 1000, 0), false);
    assert.equal(budgetAllows(P, 1000 + MIN, 1000, 0), true);
    assert.equal(budgetAllows(P, 1000 + MIN, 1000, 2000 + MIN), false);
  });
});

describe("nextEndpointState", () => {
  const zero: EndpointAnswer = { kind: "rate_limited", retryAfterMs: 0 };
  const step = (s: EndpointState, a: EndpointAnswer, now = 0) => nextEndpointState(P, s, a, now);

  it(`retry-after 0: backoff 1 min, 2 min, then refused at the ${REFUSED_AFTER}rd (entered once), then every maxMs`, () => {
    let s = INITIAL_ENDPOINT;
    const waits: number[] = [];
    const entered: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const r = step(s, zero, i);
      waits.push(r.waitMs);
      entered.push(r.entered);
      s = r.state;
    }
    assert.deepEqual(waits, [MIN, 2 * MIN, P.maxMs, P.maxMs, P.maxMs]);
    assert.deepEqual(entered, [false, false, true, false, false]);
    assert.equal(s.refusedSince, 2);
  });
  it("a success clears a refusal; so does a real retry-after; other errors end the streak only", () => {
    const refused: EndpointState = { zeroRetryStreak: 3, refusedSince: 5, notBefore: 99, backoffMs: P.maxMs };
    assert.deepEqual(step(refused, { kind: "ok" }).state, INITIAL_ENDPOINT);
    assert.equal(step(refused, { kind: "rate_limited", retryAfterMs: 10_000 }).state.refusedSince, null);
    const other = step(refused, { kind: "other" }).state;
    assert.equal(other.refusedSince, 5);
    assert.equal(other.zeroRetryStreak, 0);
    const afterOther = step({ ...INITIAL_ENDPOINT, zeroRetryStreak: 2 }, { kind: "other" }).state;
    assert.equal(step(afterOther, zero).state.refusedSince, null, "the streak starts again");
  });
  it("a long retry-after blocks every account for it, capped at MAX_BLOCK_MS", () => {
    assert.equal(
      step(INITIAL_ENDPOINT, { kind: "rate_limited", retryAfterMs: 3_600_000 }, 1000).state.notBefore,
      1000 + 3_600_000,
    );
    assert.equal(
      step(INITIAL_ENDPOINT, { kind: "rate_limited", retryAfterMs: 99 * 3_600_000 }, 0).waitMs,
      MAX_BLOCK_MS,
    );
  });
  it("a 429 without retry-after backs off exponentially, bounded by maxMs", () => {
    let s = INITIAL_ENDPOINT;
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = step(s, { kind: "rate_limited", retryAfterMs: null });
      waits.push(r.waitMs);
      s = r.state;
    }
    assert.deepEqual(waits, [MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 30 * MIN, 30 * MIN]);
    assert.equal(s.refusedSince, null);
  });
});
