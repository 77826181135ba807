import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { throttleDelay } from "../../src/quota/limit-reactor.js";

describe("throttleDelay: retries of a throttled prompt, seconds then minutes", () => {
  const rows: [number, number][] = [
    [1, 10_000],
    [2, 30_000],
    [3, 60_000],
    [4, 120_000],
    [5, 300_000],
    [6, 600_000],
    [7, 600_000],
    [50, 600_000],
    [0, 10_000],
  ];
  for (const [attempt, ms] of rows) it(`attempt ${attempt} → ${ms} ms`, () => assert.equal(throttleDelay(attempt), ms));
});
