#!/usr/bin/env node
// Runs the suite with node's test runner, one file at a time (the e2e tests drive real CLIs in tmux and
// a 2-core box is busy enough): unit, then integration, then e2e.
// Usage: node scripts/run-tests.mjs [unit] [integration] [e2e] [--only substring]
// Env: CF_TEST_CLI=latest runs on the newest CLI only; CF_NO_MATRIX=1 skips the matrix pass.
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
const runFiles = (list, env = process.env) =>
  spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      "--test-concurrency=1",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=./scripts/durations-reporter.mjs",
      "--test-reporter-destination=stdout",
      ...list,
    ],
    { stdio: "inherit", env },
  ).status ?? 1;
let status = runFiles(files);
// The CLI matrix: the core and swap end-to-end tests again on the newest Claude Code (CF_TEST_CLI=latest,
// see test/support/cli-matrix.ts); the rest ran on the pinned one above. CF_TEST_CLI=latest set by the
// caller runs everything on the newest instead (and skips this second pass).
const MATRIX = ["daemon-core", "swap.test", "status-line-feed", "refusals"];
const matrixFiles = files.filter((f) => f.includes(`${join("test", "e2e")}`) && MATRIX.some((m) => f.includes(m)));
if (matrixFiles.length && process.env.CF_TEST_CLI !== "latest" && process.env.CF_NO_MATRIX !== "1") {
  console.log(`\n# CLI matrix: ${matrixFiles.length} end-to-end files again on the newest CLI (CF_TEST_CLI=latest)\n`);
  status = runFiles(matrixFiles, { ...process.env, CF_TEST_CLI: "latest" }) || status;
}
process.exit(status);
