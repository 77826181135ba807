// The soak's "every refusal acted on" invariant (test/scale/invariants.ts), on hand-made run facts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRun, type RunFacts } from "../scale/invariants.js";
import type { EventFact, SwapFact } from "../scale/ledger.js";

const T = Date.UTC(2026, 11, 1, 6, 14);

function facts(limitHits: EventFact[], swaps: SwapFact[], poolStops: EventFact[] = []): RunFacts {
  return {
    prompts: [],
    tasks: [],
    turns: { answered: new Map(), facts: [] } as never,
    daemon: {
      limitHits,
      swaps,
      parks: [],
      resumes: [],
      poolStops,
      throttleHits: [],
      throttles: [],
      tasks: [],
      sessions: [],
      stopCount: () => 0,
    } as never,
    windows: { overCap: () => [] } as never,
    startedAt: T - 600_000,
    endedAt: T + 600_000,
    minDwellMs: 60_000,
    chaos: false,
    faultsBySession: new Map(),
  };
}

const hit = (account: string): EventFact => ({
  id: 1,
  ts: T,
  kind: "quota.hard_limit",
  session: "s14",
  account,
  data: {},
});
const swap = (from: string, to: string, startedAt: number, endedAt: number | null): SwapFact => ({
  id: 1,
  session: "s14",
  from,
  to,
  reason: "quota_hard",
  startedAt,
  endedAt,
  outcome: "ok",
  error: null,
});
const refusalViolations = (f: RunFacts) => checkRun(f).violations.filter((v) => v.includes("no swap or park"));

describe("soak invariant: every refusal is acted on", () => {
  it("a refusal with no swap or park is a violation", () => {
    assert.equal(refusalViolations(facts([hit("c")], [])).length, 1);
  });
  it("a swap starting within 60 s of it is the reaction", () => {
    assert.deepEqual(refusalViolations(facts([hit("c")], [swap("c", "d", T + 2000, T + 9000)])), []);
  });
  it("a swap away from the refusing account already under way is the reaction (seed 131071, s14)", () => {
    assert.deepEqual(refusalViolations(facts([hit("c")], [swap("c", "d", T - 11_000, T + 16_000)])), []);
  });
  it("a swap under way onto the refusing account is not: its refusal must be acted on after it", () => {
    assert.equal(refusalViolations(facts([hit("d")], [swap("c", "d", T - 11_000, T + 16_000)])).length, 1);
  });
  it("a swap away from that account that ended before the refusal is not", () => {
    assert.equal(refusalViolations(facts([hit("c")], [swap("c", "d", T - 30_000, T - 5000)])).length, 1);
  });
  it("a pool session the pool stopped within 60 s needs neither (seed 271828, auto-14 after a tmux kill)", () => {
    const stop = (session: string, ts: number): EventFact => ({
      id: 2,
      ts,
      kind: "pool.session_stopped",
      session,
      account: null,
      data: {},
    });
    assert.deepEqual(refusalViolations(facts([hit("c")], [], [stop("s14", T + 3000)])), []);
    assert.equal(refusalViolations(facts([hit("c")], [], [stop("s14", T + 90_000)])).length, 1, "too late");
    assert.equal(refusalViolations(facts([hit("c")], [], [stop("s15", T + 3000)])).length, 1, "another session");
  });
});
