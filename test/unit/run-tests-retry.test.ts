// scripts/run-tests.mjs runs a failed end-to-end file once more and names it FLAKY; a file that fails
// twice, or a failed unit test, fails the run. Driven on a scratch tree of tiny test files.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");
const root = mkdtempSync(join(tmpdir(), "cf-retry-"));
after(() => rmSync(root, { recursive: true, force: true }));

// A test file that fails while `marker` is absent the first `failures` times it runs.
function testFile(marker: string, failures: number): string {
  return `import { it } from "node:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
it("x", () => {
  const n = existsSync(${JSON.stringify(marker)}) ? Number(readFileSync(${JSON.stringify(marker)}, "utf8")) : 0;
  writeFileSync(${JSON.stringify(marker)}, String(n + 1));
  if (n < ${failures}) throw new Error("run " + (n + 1) + " fails");
});
`;
}

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "scripts"), { recursive: true });
  for (const f of ["run-tests.mjs", "durations-reporter.mjs", "failed-files-reporter.mjs"])
    cpSync(join(repo, "scripts", f), join(dir, "scripts", f));
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function run(dir: string, suites: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ["scripts/run-tests.mjs", ...suites], {
    cwd: dir,
    // Without the runner's NODE_TEST_CONTEXT, or the child's node:test skips every file as a nested run.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, CF_NO_MATRIX: "1" },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("run-tests.mjs: one retry of a failed end-to-end file", { timeout: 60_000 }, () => {
  it("an e2e file that fails once passes on the retry, and is named FLAKY", () => {
    const dir = tree("once", { "test/e2e/a.test.ts": testFile(join(root, "once.n"), 1) });
    const r = run(dir, ["e2e"]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /# retry: 1 file\(s\) failed/);
    assert.match(r.out, /# FLAKY \(failed, then passed when run again\): test\/e2e\/a\.test\.ts/);
  });

  it("an e2e file that fails twice fails the run", () => {
    const dir = tree("twice", { "test/e2e/a.test.ts": testFile(join(root, "twice.n"), 2) });
    const r = run(dir, ["e2e"]);
    assert.notEqual(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /FLAKY/);
  });

  it("a failed unit test is never retried", () => {
    const dir = tree("unit", { "test/unit/a.test.ts": testFile(join(root, "unit.n"), 1) });
    const r = run(dir, ["unit"]);
    assert.notEqual(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /# retry/);
  });
});
