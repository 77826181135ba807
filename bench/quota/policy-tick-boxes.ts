// Benchmark (issue 19): one box's quota-policy tick when 4 boxes share 20 accounts, 50 sessions each:
// the box plans its own 50 sessions and counts the other 3 boxes' move reservations (RESERVED each).
// Run: node --import tsx bench/quota/policy-tick-boxes.ts [reservedPerBox]
// Prints JSON: median and p99 microseconds per tick over 2000 ticks, without and with the reservations.

import { performance } from "node:perf_hooks";
import {
  planTick,
  type OtherBoxReservation,
  type PolicyAccount,
  type PolicyInput,
  type PolicySession,
} from "../../src/quota/policy.js";

const BOXES = 4;
const ACCOUNTS = 20;
const SESSIONS_PER_BOX = 50;
const RESERVED = Number(process.argv[2] ?? 10);
const TICKS = 2000;
const WARMUP = 200;
const NOW = Date.UTC(2026, 11, 1, 6, 0);
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

function workload(rand: () => number): PolicyInput {
  const accounts: PolicyAccount[] = Array.from({ length: ACCOUNTS }, (_, i) => ({
    name: `acct-${String(i).padStart(2, "0")}`,
    priority: 1 + (i % 3),
    state: i % 9 === 8 ? "exhausted" : "active",
    stateUntil: NOW + 60 * M,
    figures: {
      fiveHour: { utilization: rand() * 0.95, resetsAt: NOW + Math.round(rand() * 300) * M },
      sevenDay: { utilization: rand() * 0.9, resetsAt: NOW + 3 * 24 * 60 * M },
      perModelWeekly: {},
      fetchedAt: NOW - Math.round(rand() * 5) * M,
      source: "usage_api",
    },
    hourlyCount: 0,
    weeklyCount: 0,
    limits: { hourly_msgs: 0, weekly_msgs: 0 },
  }));
  const sessions: PolicySession[] = Array.from({ length: SESSIONS_PER_BOX }, (_, i) => ({
    name: `s-${String(i).padStart(3, "0")}`,
    account: accounts[Math.floor(rand() * ACCOUNTS)]!.name,
    state: i % 4 === 0 ? "busy" : "idle",
    lastMoveAt: rand() < 0.2 ? NOW - Math.round(rand() * 60) * M : null,
    hardLimited: false,
    swapping: false,
  }));
  const reservations: OtherBoxReservation[] = [];
  for (let b = 1; b < BOXES; b++)
    for (let i = 0; i < RESERVED; i++)
      reservations.push({
        account: accounts[Math.floor(rand() * ACCOUNTS)]!.name,
        box: `box-${b}`,
        sessions: 1,
        expiresAt: NOW + 10 * M,
      });
  return {
    accounts,
    sessions,
    reservations,
    params: {
      window5hThreshold: 0.85,
      windowWeekThreshold: 0.9,
      hysteresis: 0.05,
      minDwellMs: 15 * M,
      staleAfterMs: 10 * M,
      reactivateCooldownMs: 5 * M,
      loadPerSession: 0.05,
      minRunwayMs: 0,
    },
  };
}

function measure(input: PolicyInput): { median_us: number; p99_us: number; moves: number } {
  for (let i = 0; i < WARMUP; i++) planTick(input, NOW);
  const times: number[] = [];
  let moves = 0;
  for (let i = 0; i < TICKS; i++) {
    const t = performance.now();
    const d = planTick(input, NOW + i);
    times.push((performance.now() - t) * 1000);
    moves = d.filter((x) => x.kind === "move").length;
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]! * 10) / 10;
  return { median_us: q(0.5), p99_us: q(0.99), moves };
}

const input = workload(prng(42));
console.log(
  JSON.stringify({
    bench: "quota/policy-tick-boxes",
    boxes: BOXES,
    accounts: ACCOUNTS,
    sessionsPerBox: SESSIONS_PER_BOX,
    reservationsCounted: input.reservations!.length,
    without: measure({ ...input, reservations: [] }),
    with: measure(input),
  }),
);
