// docs/operations.md cannot rot silently: every `claude-failover ...` command in its code blocks must
// name existing subcommands and options (and `--help` on it exits 0), every repository path it
// copies from exists, and every other program it runs is one of a known, ordinary few.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram, run } from "../../src/cli/main.js";
import { REPO } from "../support/harness.js";

const DOC = join(REPO, "docs", "operations.md");
// Programs the doc may run besides claude-failover: system tools whose behaviour is not ours to test.
const OTHER_PROGRAMS = new Set([
  "npm",
  "systemctl",
  "journalctl",
  "loginctl",
  "tar",
  "git",
  "tee",
  "mkdir",
  "cp",
  "bash",
]);

/** Shell command segments from fenced code blocks, split at && | ; with a leading sudo removed. */
function commands(md: string): string[] {
  const blocks = [...md.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split("\n"))
    .flatMap((line) => line.split(/&&|\||;/))
    .map((s) => s.trim().replace(/^sudo\s+/, ""))
    .filter((s) => s && !s.startsWith("#"));
}

function words(segment: string): string[] {
  return [...segment.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The subcommand path of one invocation; throws naming an unknown command or option. */
function resolvePath(program: Command, argv: string[]): string[] {
  let cmd = program;
  const path: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith("-")) {
      const name = w.split("=")[0]!;
      const opt = [...cmd.options, ...program.options].find((o) => o.long === name || o.short === name);
      assert.ok(opt, `\`${argv.join(" ")}\`: ${path.join(" ") || "claude-failover"} has no option ${name}`);
      if ((opt.required || opt.optional) && !w.includes("=")) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w);
    if (sub) {
      cmd = sub;
      path.push(w);
      continue;
    }
    assert.ok(
      cmd !== program && cmd.registeredArguments.length > 0,
      `\`${argv.join(" ")}\`: no command ${JSON.stringify(w)}`,
    );
  }
  assert.ok(path.length > 0, `\`${argv.join(" ")}\` names no command`);
  return path;
}

describe("docs/operations.md commands", () => {
  const segments = commands(readFileSync(DOC, "utf8"));
  const ours = segments.filter((s) => s.startsWith("claude-failover ")).map((s) => words(s).slice(1));

  it("has claude-failover commands for setup, login, doctor, service install, reload and status", () => {
    const names = new Set(ours.map((a) => a[0]));
    for (const n of ["init", "login", "doctor", "config", "status", "events", "attach"])
      assert.ok(names.has(n), `the doc shows ${n}`);
  });

  it("every claude-failover command names existing subcommands and options, and --help on it exits 0", async () => {
    const program = buildProgram({ out: () => {}, err: () => {}, env: {} });
    for (const argv of ours) {
      const path = resolvePath(program, argv);
      let err = "";
      const code = await run([...path, "--help"], { out: () => {}, err: (s) => (err += s), env: {} });
      assert.equal(code, 0, `${path.join(" ")} --help: ${err}`);
    }
  });

  it("every other program is an ordinary system tool, and files it copies from the repository exist", () => {
    for (const s of segments.filter((x) => !x.startsWith("claude-failover "))) {
      const w = words(s);
      assert.ok(OTHER_PROGRAMS.has(w[0]!), `unexpected program in the doc: \`${s}\``);
      for (const p of w.filter((x) => x.startsWith("systemd/") || x.startsWith("scripts/")))
        assert.ok(existsSync(join(REPO, p)), `${p} exists`);
    }
  });

  it("would catch a command or an option that does not exist", () => {
    const program = buildProgram({ out: () => {}, err: () => {}, env: {} });
    assert.throws(() => resolvePath(program, ["setup"]), /no command "setup"/);
    assert.throws(() => resolvePath(program, ["init", "--accounts"]), /has no option --accounts/);
    assert.deepEqual(resolvePath(program, ["init", "--account", "a=~/a", "--user"]), ["init"]);
    assert.deepEqual(resolvePath(program, ["config", "check"]), ["config", "check"]);
  });
});
