// Dedup, per-target rate limit and the retry schedule (notify/gate.ts): table tests with `now` passed in.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_SEEN, NotifyGate, retryableStatus, retryDelay, RETRY_DELAYS_MS } from "../../src/notify/gate.js";

type Step = [key: string, at: number, want: "ok" | "duplicate" | "rate_limited"];

function run(params: { dedupWindowMs: number; ratePerMinute: number }, steps: Step[]): void {
  const g = new NotifyGate(params);
  for (const [i, [key, at, want]] of steps.entries()) {
    const r = g.admit(key, at);
    assert.equal(r.ok ? "ok" : r.why, want, `step ${i}: ${key} at ${at}`);
  }
}

describe("NotifyGate", () => {
  const cases: { name: string; params: { dedupWindowMs: number; ratePerMinute: number }; steps: Step[] }[] = [
    {
      name: "the same key within the window is a duplicate; after it, sent again",
      params: { dedupWindowMs: 10_000, ratePerMinute: 0 },
      steps: [
        ["a", 0, "ok"],
        ["a", 9_999, "duplicate"],
        ["b", 9_999, "ok"],
        ["a", 10_000, "ok"],
        ["a", 15_000, "duplicate"],
      ],
    },
    {
      name: "a zero window never deduplicates",
      params: { dedupWindowMs: 0, ratePerMinute: 0 },
      steps: [
        ["a", 0, "ok"],
        ["a", 0, "ok"],
      ],
    },
    {
      name: "a burst of rate_per_minute, then refused until the bucket refills",
      params: { dedupWindowMs: 0, ratePerMinute: 3 },
      steps: [
        ["a", 0, "ok"],
        ["b", 0, "ok"],
        ["c", 0, "ok"],
        ["d", 0, "rate_limited"],
        ["d", 19_999, "rate_limited"],
        ["d", 20_000, "ok"],
        ["e", 20_000, "rate_limited"],
        ["e", 80_000, "ok"],
        ["f", 80_000, "ok"],
        ["g", 80_000, "ok"],
        ["h", 80_000, "rate_limited"],
      ],
    },
    {
      name: "a rate-limited notification is not remembered as sent",
      params: { dedupWindowMs: 600_000, ratePerMinute: 1 },
      steps: [
        ["a", 0, "ok"],
        ["b", 1_000, "rate_limited"],
        ["b", 61_000, "ok"],
        ["b", 62_000, "duplicate"],
      ],
    },
    {
      name: "duplicates do not use up the rate",
      params: { dedupWindowMs: 600_000, ratePerMinute: 2 },
      steps: [
        ["a", 0, "ok"],
        ["a", 1, "duplicate"],
        ["a", 2, "duplicate"],
        ["b", 3, "ok"],
        ["c", 4, "rate_limited"],
      ],
    },
  ];
  for (const c of cases) it(c.name, () => run(c.params, c.steps));

  it("keeps at most MAX_SEEN keys (the oldest go first)", () => {
    const g = new NotifyGate({ dedupWindowMs: 3_600_000, ratePerMinute: 0 });
    for (let i = 0; i <= MAX_SEEN; i++) assert.ok(g.admit(`k${i}`, i).ok);
    assert.ok(g.admit("k0", MAX_SEEN + 1).ok, "the oldest key was forgotten");
    assert.equal(g.admit(`k${MAX_SEEN}`, MAX_SEEN + 2).ok, false, "the newest is still known");
  });

  it("a lower rate on reload applies at once", () => {
    const g = new NotifyGate({ dedupWindowMs: 0, ratePerMinute: 10 });
    assert.ok(g.admit("a", 0).ok);
    g.configure({ dedupWindowMs: 0, ratePerMinute: 1 });
    assert.ok(g.admit("b", 0).ok);
    assert.equal(g.admit("c", 0).ok, false);
  });
});

describe("retries", () => {
  it("waits 1 s, 5 s, 30 s, 2 min, then gives up", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryDelay(a)),
      [...RETRY_DELAYS_MS, null],
    );
    assert.equal(retryDelay(0), null);
    assert.deepEqual(
      [1, 2, 3].map((a) => retryDelay(a, [10, 20])),
      [10, 20, null],
    );
  });
  it("retries 408, 425, 429 and 5xx, not other statuses", () => {
    const table: [number, boolean][] = [
      [200, false],
      [400, false],
      [401, false],
      [404, false],
      [408, true],
      [410, false],
      [425, true],
      [429, true],
      [500, true],
      [502, true],
      [503, true],
    ];
    for (const [status, want] of table) assert.equal(retryableStatus(status), want, String(status));
  });
});
