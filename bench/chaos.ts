// `npm run chaos`: the soak of bench/soak.ts with faults injected at seeded random moments (SIGKILL the
// daemon and restart it, SIGKILL a CLI, tmux kill-server, the usage endpoint hanging or answering
// 500/429, junk in the spool, a corrupt checkpoint). Same invariants; every fault is listed with what the
// daemon did about it. Exit status 1 when an invariant broke.
// Env: the SOAK_* variables as CHAOS_* (CHAOS_SECONDS 120, CHAOS_SEED, …), plus CHAOS_GAP_MIN_S (8) and
// CHAOS_GAP_MAX_S (20): the time between two faults; CHAOS_USAGE_MIN_S (10) and CHAOS_USAGE_MAX_S (25): how long
// the usage endpoint misbehaves.
import { printReport } from "./scale-report.js";
import { runSoak, soakDefaults } from "../test/scale/soak-run.js";

const opts = soakDefaults(process.env, "CHAOS");
const gap = (k: string, d: number) => Number(process.env[`CHAOS_GAP_${k}_S`] ?? d) * 1000;
const usage = (k: string, d: number) => Number(process.env[`CHAOS_USAGE_${k}_S`] ?? d) * 1000;
const chaos = {
  minGapMs: gap("MIN", 8),
  maxGapMs: gap("MAX", 20),
  usageFaultMs: [usage("MIN", 10), usage("MAX", 25)] as [number, number],
};
const report = await runSoak({ ...opts, chaos });
printReport("chaos", report);
process.exit(report.ok ? 0 : 1);
