#!/usr/bin/env node
// Runs the whole suite with node's test runner: unit, integration, e2e (in that order).
// Usage: node scripts/run-tests.mjs [unit|integration|e2e ...] [--only substring]
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const onlyIdx = args.indexOf("--only");
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const suites = args.filter((a, i) => !a.startsWith("--") && i !== onlyIdx + 1 || onlyIdx < 0 && !a.startsWith("--"));
const wanted = suites.length ? suites : ["unit", "integration", "e2e"];

function walk(dir) {
  let out = [];
  let names = [];
  try { names = readdirSync(dir).sort(); } catch { return out; }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (n.endsWith(".test.ts")) out.push(p);
  }
  return out;
}
const files = wanted.flatMap((s) => walk(join("test", s))).filter((f) => !only || f.includes(only));
if (!files.length) { console.error("no test files matched"); process.exit(1); }
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
