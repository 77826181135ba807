// Benchmark: what the transcript check before each launch (claude/transcript.ts checkAndRepairTranscript,
// run by every start, restart and swap of a session) costs on transcripts of 1, 10 and 50 MB: the time it
// blocks the event loop, and the memory it takes (the peak RSS of a child process that does one check,
// against a child that only reads nothing). A long Claude Code session's transcript reaches tens of MB
// (tool results are kept whole), and the soak's RSS rose in steps as its transcripts grew.
// Run: node --import tsx bench/transcript/check-cost.ts   (TRANSCRIPT_MB=1,10,50 RUNS=5) — prints JSON.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { appendFileSync } from "node:fs";
import { checkAndRepairTranscript, TranscriptCheckCache } from "../../src/claude/transcript.js";
import { machine } from "../scale-report.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SIZES = (process.env.TRANSCRIPT_MB ?? "1,10,50").split(",").map(Number);
const RUNS = Number(process.env.RUNS ?? 5);

/** A transcript of about `mb` MB shaped like a coding session's: prompts, tool calls, long tool results, answers. */
export function transcriptOf(mb: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < mb * 1024 * 1024; i++) {
    const turn = [
      { type: "user", message: { role: "user", content: `Prompt ${i}: look at the build and fix what fails.` } },
      {
        type: "assistant",
        message: {
          role: "assistant",
          content: [{ type: "tool_use", id: `t${i}`, name: "Bash", input: { command: "npm test" } }],
        },
      },
      {
        type: "user",
        message: {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: `t${i}`, content: `ok ${i} `.repeat(1200) }],
        },
      },
      {
        type: "assistant",
        message: { role: "assistant", content: [{ type: "text", text: `Done ${i}. `.repeat(150) }] },
      },
    ];
    for (const o of turn) {
      const l = JSON.stringify({ ...o, uuid: `u-${i}-${lines.length}`, timestamp: new Date(0).toISOString() });
      lines.push(l);
      size += l.length + 1;
    }
  }
  return `${lines.join("\n")}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Peak RSS (MB) of a child that loads the module and checks `path` once (or not at all when path is ""). */
function childPeakMb(path: string): number {
  const code = `
    const { checkAndRepairTranscript } = await import(${JSON.stringify(join(REPO, "src/claude/transcript.ts"))});
    const p = ${JSON.stringify(path)};
    if (p) checkAndRepairTranscript(p, 1, { cache: null });
    process.stdout.write(String(process.resourceUsage().maxRSS));`;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: REPO });
  return Number(out.toString()) / 1024;
}

const dir = mkdtempSync(join(tmpdir(), "cf-bench-transcript-"));
try {
  const rows = [];
  const baseline = median([childPeakMb(""), childPeakMb(""), childPeakMb("")]);
  for (const mb of SIZES) {
    const p = join(dir, `t${mb}.jsonl`);
    writeFileSync(p, transcriptOf(mb));
    // Cold: the first check of the file in this process (a fresh cache each time), as at a daemon's start.
    const cold: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const r = checkAndRepairTranscript(p, 1, { cache: new TranscriptCheckCache() });
      cold.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!r?.report.hasAssistant || r.report.tornTail) throw new Error("the generated transcript did not check clean");
    }
    // Warm: the check at a swap, after the session's last turn was appended to a file checked before.
    const cache = new TranscriptCheckCache();
    checkAndRepairTranscript(p, 1, { cache });
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      appendFileSync(p, transcriptOf(0.02));
      const t0 = process.hrtime.bigint();
      checkAndRepairTranscript(p, 1, { cache });
      warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const peaks = [childPeakMb(p), childPeakMb(p), childPeakMb(p)];
    rows.push({
      mb,
      cold_ms_median: Math.round(median(cold) * 10) / 10,
      cold_ms_max: Math.round(Math.max(...cold) * 10) / 10,
      warm_ms_median: Math.round(median(warm) * 10) / 10,
      peak_rss_mb_median: Math.round(median(peaks)),
      peak_rss_over_baseline_mb: Math.round(median(peaks) - baseline),
    });
  }
  process.stdout.write(
    `${JSON.stringify({ machine: await machine(), load: loadavg()[0], runs: RUNS, baseline_peak_rss_mb: Math.round(baseline), rows }, null, 2)}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
