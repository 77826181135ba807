import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { forecastWindow } from "../../src/quota/forecast.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import { openDb } from "../../src/store/db.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { Store, USAGE_SAMPLES_KEEP_MS, type UsageRow } from "../../src/store/store.js";

const T0 = Date.UTC(2026, 10, 30, 12, 0);
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const RESET5 = T0 + 3 * H;
const RESET7 = T0 + 4 * 24 * H;

function figures(u5: number, at: number, source: UsageFigures["source"], reset5 = RESET5): UsageFigures {
  return {
    fiveHour: { utilization: u5, resetsAt: reset5 },
    sevenDay: { utilization: 0.3, resetsAt: RESET7 },
    perModelWeekly: { opus: { utilization: 0.5, resetsAt: RESET7 } },
    fetchedAt: at,
    source,
  };
}
function row(account: string, u5: number, at: number, source: "usage_api" | "statusline", reset5 = RESET5): UsageRow {
  return {
    account,
    figures: figures(u5, at, source, reset5),
    fetchedAt: at,
    source,
    error: null,
    errorAt: null,
    nextPollAt: at + 5 * M,
    backoffMs: 0,
  };
}

describe("usage samples on a real SQLite file", () => {
  let root: string;
  let stateDir: string;
  let store: Store;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-samples-it-"));
    stateDir = join(root, "state");
    store = new Store(openDb(stateDir));
  });
  after(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a fresh reading records one sample per window, with its source", () => {
    store.putUsage(row("a", 0.1, T0, "usage_api"));
    assert.deepEqual(store.usageSamples("a", "five_hour", 0), [
      { at: T0, source: "usage_api", utilization: 0.1, resetsAt: RESET5 },
    ]);
    assert.deepEqual(store.usageSamples("a", "seven_day", 0), [
      { at: T0, source: "usage_api", utilization: 0.3, resetsAt: RESET7 },
    ]);
    assert.deepEqual(store.usageSamples("a", "seven_day_opus", 0), [
      { at: T0, source: "usage_api", utilization: 0.5, resetsAt: RESET7 },
    ]);
    assert.deepEqual(store.usageSamples("b", "five_hour", 0), []);
  });

  it("a write that keeps fetchedAt (a poll error, pollSoon) records nothing", () => {
    const prev = store.getUsage("a")!;
    store.putUsage({ ...prev, error: "HTTP 500", errorAt: T0 + 2 * M, backoffMs: 60 * S });
    store.putUsage({ ...prev, nextPollAt: T0 + 3 * M });
    assert.equal(store.usageSamples("a", "five_hour", 0).length, 1);
  });

  it("the status line's readings are thinned to one a minute per window; a reset is kept at once", () => {
    for (let s = 1; s <= 59; s++) store.putUsage(row("a", 0.1 + s * 0.0005, T0 + s * S, "statusline"));
    assert.equal(store.usageSamples("a", "five_hour", 0).length, 1, "59 readings within the minute: none kept");
    store.putUsage(row("a", 0.14, T0 + 60 * S, "statusline"));
    const five = store.usageSamples("a", "five_hour", 0);
    assert.deepEqual(five.at(-1), { at: T0 + M, source: "statusline", utilization: 0.14, resetsAt: RESET5 });
    // A reading from before the last sample (a late spool file) is not a sample.
    store.putUsage(row("a", 0.5, T0 + 30 * S, "statusline"));
    assert.equal(store.usageSamples("a", "five_hour", 0).length, 2);
    // The window resets 10 s later: kept despite the gap, with the new reset time.
    store.putUsage(row("a", 0.01, T0 + 70 * S, "statusline", RESET5 + 5 * H));
    const after = store.usageSamples("a", "five_hour", 0);
    assert.deepEqual(after.at(-1), {
      at: T0 + 70 * S,
      source: "statusline",
      utilization: 0.01,
      resetsAt: RESET5 + 5 * H,
    });
    assert.equal(store.usageSamples("a", "seven_day", 0).length, 2, "the weekly window did not reset: thinned");
  });

  it("usageSamples filters by time, oldest first", () => {
    const since = store.usageSamples("a", "five_hour", T0 + 30 * S);
    assert.deepEqual(
      since.map((s) => s.at),
      [T0 + M, T0 + 70 * S],
    );
  });

  it("a forecast from stored samples: 0.3/h over the last hour", () => {
    const t = T0 + 10 * H;
    for (let m = 0; m <= 30; m += 2)
      store.putUsage(row("c", 0.2 + (m / 60) * 0.3, t + m * M, m % 4 ? "statusline" : "usage_api", t + 4 * H));
    const now = t + 30 * M;
    const f = forecastWindow(store.usageSamples("c", "five_hour", now - H), now);
    assert.ok(f && f.burnPerHour !== null);
    assert.ok(Math.abs(f.burnPerHour - 0.3) < 1e-9, String(f.burnPerHour));
    assert.equal(f.samples, 16);
    assert.ok(Math.abs((f.exhaustAt ?? 0) - (now + (0.65 / 0.3) * H)) <= 1);
  });

  it("samples older than 8 days are pruned as new readings arrive; pruneUsageSamples prunes every account", () => {
    const later = T0 + USAGE_SAMPLES_KEEP_MS + 2 * H;
    store.putUsage(row("a", 0.2, later, "usage_api", later + H));
    assert.deepEqual(
      store.usageSamples("a", "five_hour", 0).map((s) => s.at),
      [later],
    );
    assert.ok(store.usageSamples("c", "five_hour", 0).length > 0, "another account's samples are its own to prune");
    store.pruneUsageSamples(later);
    assert.deepEqual(store.usageSamples("c", "five_hour", 0), []);
    assert.equal(store.usageSamples("a", "five_hour", 0).length, 1);
  });

  it("samples survive a reopen; the table comes from a versioned migration", () => {
    store.close();
    store = new Store(openDb(stateDir));
    assert.equal(store.db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    assert.equal(store.usageSamples("a", "five_hour", 0).length, 1);
  });
});
