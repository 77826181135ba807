// `npm run chaos`: the soak of bench/soak.ts with faults injected at seeded random moments (SIGKILL the
// daemon and restart it, SIGKILL a CLI, tmux kill-server, the usage endpoint hanging or answering
// 500/429, junk in the spool, a corrupt checkpoint, a full disk, …: docs/reliability.md). Same invariants; every fault is listed with what the
// daemon did about it. Exit status 1 when an invariant broke.
// Env: the SOAK_* variables as CHAOS_* (CHAOS_SECONDS 120, CHAOS_SEED, …), plus CHAOS_GAP_MIN_S (8) and
// CHAOS_GAP_MAX_S (20): the time between two faults; CHAOS_USAGE_MIN_S (10) and CHAOS_USAGE_MAX_S (25): how long
// the usage endpoint misbehaves; CHAOS_DISK_MIN_S (2) and CHAOS_DISK_MAX_S (8): how long the disk stays full;
// CHAOS_DISK_MB (512): the tmpfs the run lives on for disk_full (needs root, else that fault is skipped);
// CHAOS_KINDS: a comma-separated list of fault kinds to inject (default all, test/scale/chaos.ts FAULT_KINDS).
import { printReport } from "./scale-report.js";
import { FAULT_KINDS, type FaultKind } from "../test/scale/chaos.js";
import { runSoak, soakDefaults } from "../test/scale/soak-run.js";

const opts = soakDefaults(process.env, "CHAOS");
const gap = (k: string, d: number) => Number(process.env[`CHAOS_GAP_${k}_S`] ?? d) * 1000;
const usage = (k: string, d: number) => Number(process.env[`CHAOS_USAGE_${k}_S`] ?? d) * 1000;
const disk = (k: string, d: number) => Number(process.env[`CHAOS_DISK_${k}_S`] ?? d) * 1000;
const kinds = process.env.CHAOS_KINDS?.split(",").map((k) => k.trim()) as FaultKind[] | undefined;
for (const k of kinds ?? []) if (!FAULT_KINDS.includes(k)) throw new Error(`CHAOS_KINDS: no fault kind ${k}`);
const chaos = {
  minGapMs: gap("MIN", 8),
  maxGapMs: gap("MAX", 20),
  usageFaultMs: [usage("MIN", 10), usage("MAX", 25)] as [number, number],
  diskFullMs: [disk("MIN", 2), disk("MAX", 8)] as [number, number],
  kinds,
};
const report = await runSoak({ ...opts, chaos });
printReport("chaos", report);
process.exit(report.ok ? 0 : 1);
