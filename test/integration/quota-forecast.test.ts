// Account choice (QuotaChooser) builds the policy's input from the store: forecasts from usage_samples (a real SQLite
// file), per-account thresholds from the accounts config, and "token expired" from the usage poller.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AccountService, type AccountConfig } from "../../src/accounts/account-service.js";
import { formatAccounts, formatStatus } from "../../src/cli/format.js";
import { ControlApi } from "../../src/control/control-api.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import { QuotaChooser } from "../../src/quota/account-chooser.js";
import type { UsagePoller, UsageSnapshot } from "../../src/quota/usage-poller.js";
import type { SessionService } from "../../src/sessions/session-service.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 10, 30, 12, 0);
const RESET5 = T0 + 4 * H;
const RESET7 = T0 + 3 * 24 * H;

const P = {
  window5hThreshold: 0.85,
  windowWeekThreshold: 0.95,
  hysteresis: 0.05,
  minDwellMs: 15 * M,
  staleAfterMs: 20 * M,
  reactivateCooldownMs: 10 * M,
  loadPerSession: 0.05,
  minRunwayMs: 30 * M,
};

function figures(u5: number, at: number): UsageFigures {
  return {
    fiveHour: { utilization: u5, resetsAt: RESET5 },
    sevenDay: { utilization: 0.2, resetsAt: RESET7 },
    perModelWeekly: { opus: { utilization: 0.1, resetsAt: RESET7 } },
    fetchedAt: at,
    source: "statusline",
  };
}

describe("QuotaChooser: forecasts, thresholds and expired tokens in the policy's input", () => {
  let root: string;
  let store: Store;
  let quota: QuotaChooser;
  let api: ControlApi;
  const clock = new ManualClock(T0);
  const snapshots = new Map<string, UsageSnapshot>();

  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-quota-forecast-"));
    store = new Store(openDb(join(root, "state")));
    const accounts = new AccountService({ store, clock, log: silentLogger() });
    const cfg = (name: string, extra: Partial<AccountConfig> = {}): AccountConfig => ({
      name,
      home: join(root, name),
      priority: 1,
      managed: false,
      disabled: false,
      limits: { hourly_msgs: 0, weekly_msgs: 0 },
      link_files: [],
      ...extra,
    });
    accounts.configure([cfg("a", { window_5h_threshold: 0.6 }), cfg("b", { window_week_threshold: 0.8 }), cfg("c")]);
    const poller = { snapshot: (name: string) => snapshots.get(name)! } as unknown as UsagePoller;
    const sessions = { list: () => [] } as unknown as SessionService;
    quota = new QuotaChooser(
      { store, accounts, figures: poller, sessionRows: () => [], clock },
      { params: P, limits: new Map() },
    );
    api = new ControlApi({
      store,
      sessions,
      pane: null as never,
      accounts,
      clock,
      plugins: { usage: (name) => quota.view(name) },
    });
    // a: the status line reports 0.40 → 0.55 over 30 minutes (0.3/h), one reading a minute.
    for (let m = 30; m >= 0; m--) {
      const at = T0 - m * M;
      store.putUsage({
        account: "a",
        figures: figures(0.55 - (m / 60) * 0.3, at),
        fetchedAt: at,
        source: "statusline",
        error: null,
        errorAt: null,
        nextPollAt: null,
        backoffMs: 0,
      });
    }
    const snap = (f: UsageFigures | null, status: UsageSnapshot["status"]): UsageSnapshot => ({
      figures: f ?? { fiveHour: null, sevenDay: null, perModelWeekly: {}, fetchedAt: null, source: "none" },
      status,
      error: null,
      errorAt: null,
      nextPollAt: null,
      backoffMs: 0,
    });
    snapshots.set("a", snap(figures(0.55, T0), "ok"));
    snapshots.set("b", snap(null, "token_expired"));
    snapshots.set("c", snap(null, "never"));
  });
  after(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("forecasts come from the stored samples of the last hour", () => {
    const a = quota.policyAccounts(T0).find((x) => x.name === "a")!;
    const five = a.forecasts?.fiveHour;
    assert.ok(five && five.burnPerHour !== null);
    assert.ok(Math.abs(five.burnPerHour - 0.3) < 1e-9, String(five.burnPerHour));
    assert.equal(five.resetsAt, RESET5);
    assert.ok(Math.abs((five.exhaustAt ?? 0) - (T0 + 1.5 * H)) <= 1);
    assert.ok(Math.abs(a.forecasts?.sevenDay?.burnPerHour ?? 1) < 1e-12, "the weekly figure stood still");
    assert.equal(a.forecasts?.perModelWeekly.opus?.utilization, 0.1);
  });

  it("per-account thresholds and the token-expired status are mapped", () => {
    const byName = new Map(quota.policyAccounts(T0).map((x) => [x.name, x]));
    assert.deepEqual([byName.get("a")?.window5hThreshold, byName.get("a")?.windowWeekThreshold], [0.6, undefined]);
    assert.deepEqual([byName.get("b")?.window5hThreshold, byName.get("b")?.windowWeekThreshold], [undefined, 0.8]);
    assert.deepEqual(
      ["a", "b"].map((n) => byName.get(n)?.figuresUnknown),
      [null, "token_expired"],
    );
    assert.deepEqual(byName.get("c")?.forecasts, { fiveHour: null, sevenDay: null, perModelWeekly: {} });
  });

  it("status --json and accounts --json carry utilization, burn, exhaustion and reset per window", () => {
    // Through JSON, as the CLI receives it.
    const status = JSON.parse(JSON.stringify(api.status())) as {
      accounts: { name: string; usage: { forecast: Record<string, unknown> } }[];
    };
    const accounts = JSON.parse(JSON.stringify(api.accountsList())) as typeof status.accounts;
    for (const list of [status.accounts, accounts]) {
      const f = list.find((a) => a.name === "a")!.usage.forecast as {
        fiveHour: { utilization: number; burnPerHour: number; exhaustAt: number; resetsAt: number };
        sevenDay: { utilization: number; resetsAt: number };
        perModelWeekly: Record<string, { utilization: number }>;
      };
      assert.equal(f.fiveHour.utilization, 0.55);
      assert.ok(Math.abs(f.fiveHour.burnPerHour - 0.3) < 1e-9);
      assert.ok(Math.abs(f.fiveHour.exhaustAt - (T0 + 1.5 * H)) <= 1);
      assert.equal(f.fiveHour.resetsAt, RESET5);
      assert.deepEqual([f.sevenDay.utilization, f.sevenDay.resetsAt], [0.2, RESET7]);
      assert.equal(f.perModelWeekly.opus?.utilization, 0.1);
      assert.deepEqual(list.find((a) => a.name === "c")!.usage.forecast, {
        fiveHour: null,
        sevenDay: null,
        perModelWeekly: {},
      });
    }
  });

  it("status and accounts print a FORECAST table", () => {
    const row = /^a\s+5h\s+55%\s+\+30%\/h\s+in 1h30m\s+in 4h0m$/m;
    const accounts = formatAccounts(JSON.parse(JSON.stringify(api.accountsList())) as Record<string, unknown>[], T0);
    assert.match(accounts, /\n\nFORECAST\nACCOUNT\s+WINDOW\s+USED\s+BURN\s+FULL AT THIS RATE\s+RESETS\n/);
    assert.match(accounts, row);
    assert.match(accounts, /^a\s+7d opus\s+10%\s+\+?0%\/h\s+-\s+in 3d$/m);
    const status = formatStatus(JSON.parse(JSON.stringify(api.status())) as Record<string, unknown>);
    assert.match(status, row);
  });
});
