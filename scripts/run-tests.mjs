#!/usr/bin/env node
// Runs the suite with node's test runner, one file at a time (the e2e tests drive real CLIs in tmux and
// a 2-core box is busy enough): unit, then integration, then e2e.
// Usage: node scripts/run-tests.mjs [unit] [integration] [e2e] [--only substring]
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const suites = args.filter((a, i) => !a.startsWith("--") && (onlyAt < 0 || i !== onlyAt + 1));
const wanted = suites.length ? suites : ["unit", "integration", "e2e"];

function walk(dir) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return walk(p);
    return n.endsWith(".test.ts") ? [p] : [];
  });
}

const files = wanted.flatMap((s) => walk(join("test", s))).filter((f) => !only || f.includes(only));
if (!files.length) {
  console.error("no test files matched");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
