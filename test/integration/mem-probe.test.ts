// The soak's memory probe (test/scale/mem-probe.mjs) in a real Node process: it samples the process's memory
// every 5 s and after full GCs, and writes a heap snapshot on SIGUSR2 without stopping the process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { memProbe, readMemSamples, takeHeapSnapshot } from "../scale/memory.js";
import { waitFor } from "../support/wait.js";

const dir = mkdtempSync(join(tmpdir(), "cf-probe-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("samples after full GCs, writes a heap snapshot on SIGUSR2 and goes on running", { timeout: 60_000 }, async () => {
  const file = join(dir, "mem.jsonl");
  const probe = memProbe(file, join(dir, "snapshots"));
  // A process that forces a full GC every 200 ms and prints a line a second until stdin closes.
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      ...probe.args,
      "-e",
      "setInterval(() => gc(), 200); setInterval(() => console.log('alive'), 1000); process.stdin.on('end', () => process.exit(0)); process.stdin.resume()",
    ],
    { env: { ...process.env, ...probe.env }, stdio: ["pipe", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  try {
    await waitFor(() => readMemSamples(file).some((s) => s.kind === "major"), 20_000, "a sample after a full GC");
    const m = readMemSamples(file).find((s) => s.kind === "major")!;
    assert.equal(m.pid, child.pid);
    assert.ok(m.heapUsed > 0 && m.heapUsed <= m.heapTotal && m.rss > m.heapUsed, JSON.stringify(m));
    assert.ok(m.rssAnon > 0 && m.rssFile > 0, "RSS split from /proc/self/status");
    const path = await takeHeapSnapshot(child.pid!, file, 30_000);
    assert.ok(path && existsSync(path), `snapshot written: ${path}`);
    const before = out.length;
    await waitFor(() => out.length > before, 5000, "the process still running after the snapshot");
  } finally {
    child.stdin.end();
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
  }
});
