// Benchmark: one quota-policy tick over 20 accounts and 100 sessions.
// Run: node --import tsx bench/quota/policy-tick.ts
// Prints JSON: median and p99 microseconds per tick over 2000 ticks.

import { performance } from "node:perf_hooks";
import { planTick, type PolicyAccount, type PolicyInput, type PolicySession } from "../../src/quota/policy.js";

const ACCOUNTS = 20;
const SESSIONS = 100;
const TICKS = 2000;
const WARMUP = 200;
const NOW = Date.UTC(2025, 1, 3, 12, 0);
const M = 60_000;

// Seeded PRNG (mulberry32) so every run measures the same workload.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A mix that exercises every path: over accounts, fresh and stale figures,
// exhausted and revoked accounts, soft caps, per-model windows.
function workload(rand: () => number): PolicyInput {
  const burnRand = prng(7);
  const states: PolicyAccount["state"][] = [
    "active",
    "active",
    "active",
    "active",
    "active",
    "active",
    "cooldown",
    "exhausted",
    "revoked",
  ];
  const accounts: PolicyAccount[] = Array.from({ length: ACCOUNTS }, (_, i) => ({
    name: `acct-${String(i).padStart(2, "0")}`,
    priority: 1 + (i % 3),
    state: states[i % states.length]!,
    stateUntil: NOW + Math.round(rand() * 120) * M,
    figures: {
      fiveHour: { utilization: rand(), resetsAt: NOW + Math.round(rand() * 300) * M },
      sevenDay: { utilization: rand() * 0.95, resetsAt: NOW + Math.round(rand() * 7 * 24 * 60) * M },
      perModelWeekly: { opus: { utilization: rand(), resetsAt: NOW + 3 * 24 * 60 * M } },
      fetchedAt: NOW - Math.round(rand() * 15) * M,
      source: "usage_api",
    },
    hourlyCount: Math.floor(rand() * 40),
    weeklyCount: Math.floor(rand() * 400),
    limits: { hourly_msgs: i % 4 === 0 ? 40 : 0, weekly_msgs: i % 5 === 0 ? 500 : 0 },
    // Burn forecasts on most accounts, so the min_runway rule does real work (their own PRNG: the
    // rest of the workload stays what it was before forecasts existed).
    forecasts:
      i % 4 === 3
        ? undefined
        : {
            fiveHour: { utilization: 0, burnPerHour: burnRand() * 0.6, exhaustAt: null, resetsAt: null, samples: 30 },
            sevenDay: { utilization: 0, burnPerHour: burnRand() * 0.05, exhaustAt: null, resetsAt: null, samples: 30 },
            perModelWeekly: {},
          },
  }));
  const sessionStates: PolicySession["state"][] = [
    "idle",
    "idle",
    "busy",
    "busy",
    "waiting",
    "parked",
    "starting",
    "limited",
  ];
  const sessions: PolicySession[] = Array.from({ length: SESSIONS }, (_, i) => ({
    name: `pool-${String(i).padStart(3, "0")}`,
    account: accounts[Math.floor(rand() * ACCOUNTS)]!.name,
    state: sessionStates[i % sessionStates.length]!,
    lastMoveAt: rand() < 0.3 ? NOW - Math.round(rand() * 60) * M : null,
    hardLimited: rand() < 0.05,
    swapping: rand() < 0.02,
  }));
  return {
    accounts,
    sessions,
    params: {
      window5hThreshold: 0.85,
      windowWeekThreshold: 0.9,
      hysteresis: 0.05,
      minDwellMs: 30 * M,
      staleAfterMs: 10 * M,
      reactivateCooldownMs: 5 * M,
      loadPerSession: 0.02,
      minRunwayMs: 30 * M,
    },
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function main(): void {
  const input = workload(prng(42));
  let sink = 0;
  for (let i = 0; i < WARMUP; i++) sink += planTick(input, NOW).length;
  const times: number[] = [];
  let last: ReturnType<typeof planTick> = [];
  for (let i = 0; i < TICKS; i++) {
    const t = performance.now();
    last = planTick(input, NOW + i);
    times.push((performance.now() - t) * 1000);
    sink += last.length;
  }
  times.sort((a, b) => a - b);
  const kinds = last.reduce<Record<string, number>>((acc, d) => ({ ...acc, [d.kind]: (acc[d.kind] ?? 0) + 1 }), {});
  console.log(
    JSON.stringify({
      bench: "quota/policy-tick",
      accounts: ACCOUNTS,
      sessions: SESSIONS,
      ticks: TICKS,
      median_us: Math.round(quantile(times, 0.5) * 10) / 10,
      p99_us: Math.round(quantile(times, 0.99) * 10) / 10,
      decisions: kinds,
      checksum: sink,
    }),
  );
}

main();
