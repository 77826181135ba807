import assert from "node:assert/strict";
import { it } from "node:test";
import { rssSlope } from "../../test/scale/soak-run.js";

it("rssSlope: MB per hour after warm-up; flat is 0; too few samples is null", () => {
  const grow = Array.from(
    { length: 60 },
    (_, i) => [i * 60_000, i < 10 ? 100 + i * 5 : 150 + (i - 10) * 0.5] as [number, number],
  );
  assert.equal(Math.round(rssSlope(grow)!), 30); // 0.5 MB a minute after the warm-up fifth
  assert.equal(rssSlope(Array.from({ length: 20 }, (_, i) => [i * 5000, 160] as [number, number])), 0);
  assert.equal(
    rssSlope([
      [0, 1],
      [1, 2],
    ]),
    null,
  );
});
