// Usage-endpoint requests per account per hour, measured by running the real UsagePoller for one
// simulated hour on a manual clock: 20 accounts, 5 with live sessions (2 of them near a threshold),
// default intervals (5m, min 1m, max 30m). Prints JSON.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountService } from "../../src/accounts/account-service.js";
import { UsagePoller } from "../../src/quota/usage-poller.js";
import type { UsageSource } from "../../src/quota/usage-client.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const root = mkdtempSync(join(tmpdir(), "cf-bench-poll-"));
const clock = new ManualClock(Date.UTC(2026, 10, 22));
const store = new Store(openDb(join(root, "state")));
const accounts = new AccountService(store, clock, silentLogger());
const names = Array.from({ length: 20 }, (_, i) => `acct${String(i).padStart(2, "0")}`);
accounts.configure(names.map((name, i) => {
  const home = join(root, name);
  mkdirSync(join(home, ".claude"), { recursive: true });
  writeFileSync(join(home, ".claude", ".credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: `tok-${name}`, expiresAt: clock.now() + 8 * 3600e3 } }));
  return { name, home, priority: i, managed: true, disabled: false, limits: { hourly_msgs: 0, weekly_msgs: 0 }, link_files: [] };
}));
const live = new Set(names.slice(0, 5));
const near = new Set(names.slice(0, 2));
const counts = new Map<string, number>();
const source: UsageSource = async (token) => {
  const name = token.slice(4);
  counts.set(name, (counts.get(name) ?? 0) + 1);
  const u = near.has(name) ? 0.8 : 0.3;
  return { ok: true, figures: { fiveHour: { utilization: u, resetsAt: null }, sevenDay: { utilization: 0.2, resetsAt: null }, perModelWeekly: {}, fetchedAt: clock.now(), source: "usage_api" } };
};
const params = { baseMs: 300_000, minMs: 60_000, maxMs: 1_800_000, window5hThreshold: 0.85, windowWeekThreshold: 0.95, hysteresis: 0.05, requestGapMs: 60_000 };
const poller = new UsagePoller(store, accounts, source, clock, silentLogger(), params, (a) => live.has(a));
const t0 = performance.now();
for (let t = 0; t < 3600_000; t += 500) {
  clock.advance(500);
  await poller.tick();
}
const wall = performance.now() - t0;
const per = (set: (n: string) => boolean) => {
  const xs = names.filter(set).map((n) => counts.get(n) ?? 0);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
};
console.log(JSON.stringify({
  bench: "quota/polling-cost", simulatedHours: 1, accounts: 20,
  requestsTotal: [...counts.values()].reduce((a, b) => a + b, 0),
  perAccountPerHour: { liveNearThreshold: per((n) => near.has(n)), live: per((n) => live.has(n) && !near.has(n)), idle: per((n) => !live.has(n)) },
  wallMs: Math.round(wall),
}));
store.close();
rmSync(root, { recursive: true, force: true });
