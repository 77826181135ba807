// Usage figures from any box count for all (issue 19): which reading a box plans on, which it writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newestFigures, sharedFigures, usageToPublish } from "../../src/boxes/shared-usage.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import type { SharedUsage } from "../../src/store/shared/shared-types.js";

const T0 = Date.UTC(2026, 11, 1, 6);
const figures = (u5: number, at: number | null, source: UsageFigures["source"] = "usage_api"): UsageFigures => ({
  fiveHour: { utilization: u5, resetsAt: T0 + 3_600_000 },
  sevenDay: null,
  perModelWeekly: { opus: { utilization: 0.2, resetsAt: null } },
  fetchedAt: at,
  source,
});
const shared = (box: string, f: unknown, at = T0): SharedUsage => ({
  account: "a",
  box,
  figures: JSON.parse(JSON.stringify(f)) as unknown,
  at,
  source: "statusline",
});

describe("newestFigures", () => {
  it("takes another box's reading when it is newer than this box's, else keeps its own", () => {
    const mine = figures(0.4, T0);
    assert.equal(newestFigures(mine, undefined, "box-1"), mine);
    assert.deepEqual(newestFigures(mine, shared("box-2", figures(0.7, T0 + 1000, "statusline")), "box-1"), {
      ...figures(0.7, T0 + 1000, "statusline"),
    });
    assert.equal(newestFigures(mine, shared("box-2", figures(0.7, T0 - 1000)), "box-1"), mine, "older");
    assert.equal(newestFigures(mine, shared("box-2", figures(0.7, T0)), "box-1"), mine, "same time: its own");
    assert.equal(newestFigures(mine, shared("box-1", figures(0.7, T0 + 1000)), "box-1"), mine, "its own reading");
    const never = figures(0, null, "none");
    assert.equal(
      newestFigures(never, shared("box-2", figures(0.7, T0)), "box-1").fiveHour?.utilization,
      0.7,
      "never read here",
    );
  });

  it("ignores a reading that is not UsageFigures-shaped (another version, damage)", () => {
    const mine = figures(0.4, T0);
    for (const bad of [
      null,
      "x",
      { ...figures(0.7, T0 + 1000), fetchedAt: "soon" },
      { ...figures(0.7, T0 + 1000), fiveHour: { utilization: "70%" } },
      { ...figures(0.7, T0 + 1000), perModelWeekly: [] },
      { ...figures(0.7, T0 + 1000), perModelWeekly: { opus: null } },
      { ...figures(0.7, T0 + 1000), source: 3 },
    ])
      assert.equal(newestFigures(mine, shared("box-2", bad), "box-1"), mine, JSON.stringify(bad));
    assert.equal(sharedFigures(shared("box-2", figures(0.7, T0))) !== null, true);
  });
});

describe("usageToPublish", () => {
  it("writes a reading newer than the last written one, never an empty one", () => {
    assert.equal(usageToPublish(figures(0.4, T0), undefined), true);
    assert.equal(usageToPublish(figures(0.4, T0), T0), false);
    assert.equal(usageToPublish(figures(0.4, T0 + 1), T0), true);
    assert.equal(usageToPublish(figures(0, null, "none"), undefined), false);
  });
});
