// Usage-endpoint requests per hour with the endpoint as the BACKSTOP: the real UsagePoller on a manual
// clock, 20 accounts, 5 of them with a fresh status-line feed (their rows rewritten by a simulated feed
// every 30 s, as busy CLIs do), default config (poll_interval 5m, min 1m, max 30m, usage_request_gap
// 1m, feed_fresh_for 10m). Of the 15 idle accounts, 3 are used elsewhere (their figures move) and 1
// sits near a threshold. Scenarios: the endpoint answering; refusing this client (429 retry-after 0);
// blocked for an hour once (429 retry-after 3600). Several seeds (the phase of the feed's writes and
// of each account's first poll differ); prints JSON with medians.
//   node --import tsx bench/quota/usage-requests.ts [hours=3] [runs=3]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountService } from "../../src/accounts/account-service.js";
import { feedIsFresh, type PollParams } from "../../src/quota/poll-schedule.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import type { UsageFetch, UsageSource } from "../../src/quota/usage-client.js";
import { UsagePoller } from "../../src/quota/usage-poller.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";

const HOURS = Number(process.argv[2] ?? 3);
const RUNS = Number(process.argv[3] ?? 3);
const MIN = 60_000;
const HOUR = 60 * MIN;
const TICK = 1000; // the poller's loop runs every 500 ms in the daemon; 1 s is fine-grained enough next to a 1 min gap
const PARAMS: PollParams = {
  baseMs: 5 * MIN,
  minMs: MIN,
  maxMs: 30 * MIN,
  window5hThreshold: 0.85,
  windowWeekThreshold: 0.95,
  hysteresis: 0.05,
  requestGapMs: MIN,
};
const FEED_FRESH_MS = 10 * MIN;
type Scenario = "answering" | "refused" | "blocked_1h";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function figures(u: number, at: number, source: UsageFigures["source"]): UsageFigures {
  return {
    fiveHour: { utilization: u, resetsAt: null },
    sevenDay: { utilization: u / 4, resetsAt: null },
    perModelWeekly: {},
    fetchedAt: at,
    source,
  };
}

async function run(scenario: Scenario, seed: number) {
  const root = mkdtempSync(join(tmpdir(), "cf-bench-usage-"));
  const rand = rng(seed);
  const clock = new ManualClock(Date.UTC(2026, 10, 30) + Math.floor(rand() * MIN));
  const store = new Store(openDb(join(root, "state")));
  const accounts = new AccountService({ store, clock, log: silentLogger() });
  const names = Array.from({ length: 20 }, (_, i) => `acct${String(i).padStart(2, "0")}`);
  accounts.configure(
    names.map((name, i) => {
      const home = join(root, name);
      mkdirSync(join(home, ".claude"), { recursive: true });
      writeFileSync(
        join(home, ".claude", ".credentials.json"),
        JSON.stringify({
          claudeAiOauth: { accessToken: `tok-${name}`, refreshToken: `rt-${name}`, expiresAt: clock.now() + 48 * HOUR },
        }),
      );
      return {
        name,
        home,
        priority: i,
        managed: true,
        disabled: false,
        limits: { hourly_msgs: 0, weekly_msgs: 0 },
        link_files: [],
      };
    }),
  );
  const fed = new Set(names.slice(0, 5));
  const movingElsewhere = new Set(names.slice(5, 8));
  const near = new Set(names.slice(8, 9));
  const util = new Map(names.map((n) => [n, near.has(n) ? 0.78 : 0.2 + rand() * 0.3]));
  const perAccount = new Map<string, number>();
  const perHour: number[] = Array.from({ length: HOURS }, () => 0);
  const t0 = clock.now();
  let blockedOnce = false;
  const source: UsageSource = async (token): Promise<UsageFetch> => {
    const name = token.slice(4);
    perAccount.set(name, (perAccount.get(name) ?? 0) + 1);
    perHour[Math.min(HOURS - 1, Math.floor((clock.now() - t0) / HOUR))]! += 1;
    if (scenario === "refused")
      return { ok: false, kind: "rate_limited", retryAfterMs: 0, detail: "429 (retry-after 0 s)" };
    if (scenario === "blocked_1h" && !blockedOnce && clock.now() - t0 > 20 * MIN) {
      blockedOnce = true;
      return { ok: false, kind: "rate_limited", retryAfterMs: HOUR, detail: "429 (retry-after 3600 s)" };
    }
    if (movingElsewhere.has(name)) util.set(name, Math.min(0.7, util.get(name)! + 0.01));
    return { ok: true, figures: figures(util.get(name)!, clock.now(), "usage_api") };
  };
  const poller = new UsagePoller(
    {
      store,
      accounts,
      clock,
      log: silentLogger(),
      feedFresh: (a) => feedIsFresh(store.getUsage(a), clock.now(), FEED_FRESH_MS),
    },
    { source, params: PARAMS },
  );
  const feedPhase = Math.floor(rand() * 30_000);
  const wall0 = performance.now();
  for (let t = 0; t < HOURS * HOUR; t += TICK) {
    clock.advance(TICK);
    // The busy CLIs were running before the daemon looked: their feed is there from the start.
    if (t === 0 || (t + feedPhase) % 30_000 < TICK) {
      // The feed: each busy CLI's status line after an API response (primary source of its account's figures).
      for (const n of fed) {
        const prev = store.getUsage(n);
        store.putUsage({
          account: n,
          figures: figures(0.4, clock.now(), "statusline"),
          fetchedAt: clock.now(),
          source: "statusline",
          error: null,
          errorAt: null,
          nextPollAt: prev?.nextPollAt ?? null,
          backoffMs: 0,
        });
      }
    }
    await poller.tick();
  }
  const wallMs = performance.now() - wall0;
  store.close();
  rmSync(root, { recursive: true, force: true });
  const sum = (ns: string[]) => ns.reduce((a, n) => a + (perAccount.get(n) ?? 0), 0);
  const idle = names.filter((n) => !fed.has(n));
  return {
    perHour,
    fedRequests: sum([...fed]),
    idleAccountsPolled: idle.filter((n) => (perAccount.get(n) ?? 0) > 0).length,
    perIdleAccountPerHour: {
      still:
        sum(idle.filter((n) => !movingElsewhere.has(n) && !near.has(n))) /
        (idle.length - movingElsewhere.size - near.size) /
        HOURS,
      movingElsewhere: sum([...movingElsewhere]) / movingElsewhere.size / HOURS,
      nearThreshold: sum([...near]) / near.size / HOURS,
    },
    wallMs,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number) => Math.round(x * 100) / 100;

const out: Record<string, unknown> = {
  bench: "quota/usage-requests",
  simulatedHours: HOURS,
  runs: RUNS,
  accounts: 20,
  fed: 5,
  params: { ...PARAMS, feedFreshMs: FEED_FRESH_MS },
};
for (const scenario of ["answering", "refused", "blocked_1h"] as Scenario[]) {
  const rs: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < RUNS; i++) rs.push(await run(scenario, 1000 + i));
  out[scenario] = {
    requestsPerHourMedian: Array.from({ length: HOURS }, (_, h) => median(rs.map((r) => r.perHour[h]!))),
    requestsPerHourMax: Math.max(...rs.flatMap((r) => r.perHour)),
    fedAccountRequests: Math.max(...rs.map((r) => r.fedRequests)),
    idleAccountsPolledMin: Math.min(...rs.map((r) => r.idleAccountsPolled)),
    perIdleAccountPerHourMedian: {
      still: round(median(rs.map((r) => r.perIdleAccountPerHour.still))),
      movingElsewhere: round(median(rs.map((r) => r.perIdleAccountPerHour.movingElsewhere))),
      nearThreshold: round(median(rs.map((r) => r.perIdleAccountPerHour.nearThreshold))),
    },
    wallMsMedian: Math.round(median(rs.map((r) => r.wallMs))),
  };
}
console.log(JSON.stringify(out, null, 2));
