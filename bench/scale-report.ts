// Prints a soak or chaos report: figures, faults with the daemon's reaction, notes, violations.
import type { SoakReport } from "../test/scale/soak-run.js";

export function printReport(what: string, r: SoakReport): void {
  const out = (s = "") => process.stdout.write(`${s}\n`);
  out();
  out(`=== ${what} summary (seed ${r.seed}) ===`);
  for (const [k, v] of Object.entries(r.figures)) out(`  ${k.padEnd(24)} ${v}`);
  if (r.faults.length) {
    out(`faults injected (${r.faults.length}):`);
    for (const f of r.faults)
      out(
        `  #${f.n} ${new Date(f.at).toISOString().slice(11, 19)} ${f.kind}${f.target ? ` [${f.target}]` : ""}: ${f.detail}\n      daemon: ${f.reaction}`,
      );
  }
  for (const n of r.notes) out(`note: ${n}`);
  if (r.violations.length) {
    out(`INVARIANTS BROKEN (${r.violations.length}):`);
    for (const v of r.violations.slice(0, 50)) out(`  - ${v}`);
    if (r.violations.length > 50) out(`  … and ${r.violations.length - 50} more`);
  } else out("all invariants held");
}

export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return Math.round((s[lo]! + (s[hi]! - s[lo]!) * (i - lo)) * 10) / 10;
}
export const median = (xs: number[]): number => quantile(xs, 0.5);

/** The machine a benchmark ran on, for docs/performance.md. */
export async function machine(): Promise<string> {
  const { readFileSync } = await import("node:fs");
  const { cpus, totalmem } = await import("node:os");
  const model = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "?";
  return `${cpus().length} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}
