import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeProjectDir, transcriptPathFor } from "../../src/claude/transcript.js";
import {
  AUTH_OVERRIDES,
  buildLaunchArgv,
  type LaunchContext,
  resumeCheck,
  shouldResume,
} from "../../src/sessions/launch.js";
import { isCfError } from "../../src/util/errors.js";

/** the time a torn transcript's repair is stamped with */
const NOW = Date.UTC(2026, 11, 1, 12);
const LAUNCH = { launcher: "/state/launch/launch.sh", envDir: "/state/launch/env-1" };

function ctx(over: Partial<LaunchContext> = {}): LaunchContext {
  return {
    binary: "/opt/claude/bin/claude",
    args: ["--model", "sonnet"],
    env: {},
    settingsFile: "/state/hooks-settings.json",
    spoolDir: "/state/spool",
    sharedProjectsDir: "/shared/projects",
    scrub: ["CF_TOKEN", ...AUTH_OVERRIDES],
    launch: LAUNCH,
    ...over,
  };
}

const S = {
  name: "work",
  account: "acct-a",
  home: "/homes/acct-a",
  claudeSessionId: "11111111-2222-3333-4444-555555555555",
  resume: false,
  extraArgs: [] as string[],
};

describe("buildLaunchArgv", () => {
  it("builds the exact argv for a first start", () => {
    assert.deepEqual(buildLaunchArgv(ctx(), S), [
      "env",
      "-u",
      "CF_TOKEN",
      "-u",
      "ANTHROPIC_API_KEY",
      "-u",
      "ANTHROPIC_AUTH_TOKEN",
      "-u",
      "CLAUDE_CODE_OAUTH_TOKEN",
      "-u",
      "CLAUDE_CONFIG_DIR",
      "HOME=/homes/acct-a",
      "CLAUDE_FAILOVER_SPOOL=/state/spool",
      "CLAUDE_FAILOVER_SESSION=work",
      "CLAUDE_FAILOVER_ACCOUNT=acct-a",
      "/opt/claude/bin/claude",
      "--settings",
      "/state/hooks-settings.json",
      "--session-id",
      S.claudeSessionId,
      "--model",
      "sonnet",
    ]);
  });

  it("a session's own --permission-mode (the pool's) replaces the one in claude.args / claude.permission_mode", () => {
    const argv = buildLaunchArgv(
      ctx({ args: ["--permission-mode", "default", "--model", "sonnet", "--permission-mode=plan"] }),
      { ...S, extraArgs: ["--permission-mode", "acceptEdits"] },
    );
    assert.deepEqual(argv.slice(argv.indexOf(S.claudeSessionId) + 1), [
      "--model",
      "sonnet",
      "--permission-mode",
      "acceptEdits",
    ]);
    const plain = buildLaunchArgv(ctx({ args: ["--permission-mode", "default"] }), S);
    assert.deepEqual(plain.slice(plain.indexOf(S.claudeSessionId) + 1), ["--permission-mode", "default"]);
  });

  it("env comes first; every -u and VAR=value precedes the launcher, which precedes the binary", () => {
    const argv = buildLaunchArgv(ctx({ env: { FOO: "bar" } }), S);
    assert.equal(argv[0], "env");
    const sh = argv.indexOf("/bin/sh");
    assert.deepEqual(argv.slice(sh, sh + 4), ["/bin/sh", LAUNCH.launcher, LAUNCH.envDir, "/opt/claude/bin/claude"]);
    for (let i = 1; i < sh; i++) {
      const a = argv[i]!;
      assert.ok(
        a === "-u" || argv[i - 1] === "-u" || /^[A-Z_][A-Z0-9_]*=/.test(a),
        `unexpected ${a} before the binary`,
      );
    }
  });

  it("claude.env values never appear in argv (they are read from the env dir by the launcher)", () => {
    const argv = buildLaunchArgv(ctx({ env: { FOO: "s3cret-value", ANTHROPIC_API_KEY: "sk-ant-key" } }), S);
    for (const a of argv) assert.ok(!a.includes("s3cret-value") && !a.includes("sk-ant-key"), `secret in ${a}`);
  });

  it("no launcher when claude.env is empty; values without a launcher are refused, never put in argv", () => {
    assert.ok(!buildLaunchArgv(ctx({ launch: null }), S).includes("/bin/sh"));
    assert.throws(
      () => buildLaunchArgv(ctx({ env: { FOO: "x" }, launch: null }), S),
      (e: unknown) => isCfError(e, "no_launch_env"),
    );
  });

  it("a scrub var provided in claude.env is set, not unset", () => {
    const argv = buildLaunchArgv(ctx({ env: { ANTHROPIC_API_KEY: "sk-test" } }), S);
    const unset = argv.flatMap((a, i) => (argv[i - 1] === "-u" ? [a] : []));
    assert.ok(!unset.includes("ANTHROPIC_API_KEY"));
    assert.ok(unset.includes("CF_TOKEN"));
    assert.ok(unset.includes("CLAUDE_CODE_OAUTH_TOKEN"));
    assert.ok(!argv.some((a) => a.includes("sk-test")));
  });

  it("AUTH_OVERRIDES covers every variable that bypasses the account home's login", () => {
    for (const v of ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR"]) {
      assert.ok(AUTH_OVERRIDES.includes(v), v);
    }
  });

  it("--resume instead of --session-id when resuming, never both", () => {
    const argv = buildLaunchArgv(ctx(), { ...S, resume: true });
    const i = argv.indexOf("--resume");
    assert.ok(i > 0);
    assert.equal(argv[i + 1], S.claudeSessionId);
    assert.ok(!argv.includes("--session-id"));
    assert.ok(!buildLaunchArgv(ctx(), S).includes("--resume"));
  });

  it("configured args come before per-session extra args, both after the id", () => {
    const argv = buildLaunchArgv(ctx({ args: ["--a", "1"] }), { ...S, extraArgs: ["--b", "2"] });
    assert.deepEqual(argv.slice(-6), ["--session-id", S.claudeSessionId, "--a", "1", "--b", "2"]);
  });

  it("values with spaces, quotes and $() stay one argv element each, unchanged", () => {
    const nasty = `it's "quoted" $(rm -rf /) \`id\`; echo $HOME`;
    const argv = buildLaunchArgv(
      ctx({ env: { NASTY: nasty }, settingsFile: "/state dir/it's.json", spoolDir: "/sp ool/$(x)" }),
      { ...S, home: "/homes/with space", extraArgs: ["--append-system-prompt", nasty] },
    );
    assert.ok(!argv.includes(`NASTY=${nasty}`), "claude.env goes through the launcher");
    assert.ok(argv.includes("HOME=/homes/with space"));
    assert.ok(argv.includes("CLAUDE_FAILOVER_SPOOL=/sp ool/$(x)"));
    assert.equal(argv[argv.indexOf("--settings") + 1], "/state dir/it's.json");
    assert.equal(argv.at(-1), nasty);
  });
});

describe("encodeProjectDir / shouldResume", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-launch-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("every non-alphanumeric character becomes '-'", () => {
    assert.equal(encodeProjectDir("/no/such/dir/my_proj.v2"), "-no-such-dir-my-proj-v2");
  });

  it("uses the real path of a symlinked project", () => {
    const real = join(dir, "real-proj");
    const link = join(dir, "link-proj");
    mkdirSync(real);
    symlinkSync(real, link);
    assert.equal(encodeProjectDir(link), encodeProjectDir(real));
    assert.ok(encodeProjectDir(link).endsWith("-real-proj"));
  });

  it("resumeCheck/shouldResume: no transcript → same id; unanswered-only → new id; an assistant turn → resume", () => {
    const shared = join(dir, "shared-projects");
    const project = join(dir, "proj-x");
    mkdirSync(project);
    const id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    assert.equal(resumeCheck(shared, project, id, null, NOW), "fresh_same_id");
    assert.equal(resumeCheck(shared, project, id, join(dir, "missing.jsonl"), NOW), "fresh_same_id");
    assert.equal(shouldResume(shared, project, id, null, NOW), false);

    const tp = transcriptPathFor(shared, project, id);
    assert.equal(tp, join(shared, encodeProjectDir(project), `${id}.jsonl`));
    mkdirSync(join(shared, encodeProjectDir(project)), { recursive: true });
    // Only an interrupted prompt: the CLI refuses --resume ("No conversation found").
    writeFileSync(tp, `${JSON.stringify({ type: "user", message: { role: "user", content: "hi" } })}\n`);
    assert.equal(resumeCheck(shared, project, id, null, NOW), "fresh_new_id");
    assert.equal(shouldResume(shared, project, id, null, NOW), false);

    writeFileSync(
      tp,
      `${JSON.stringify({ type: "user" })}\n${JSON.stringify({ type: "assistant", message: { content: "hello" } })}\n`,
    );
    assert.equal(resumeCheck(shared, project, id, null, NOW), "resume");
    assert.equal(shouldResume(shared, project, id, null, NOW), true);
    assert.equal(shouldResume(shared, project, "another-id", null, NOW), false);

    // A known transcript path (e.g. from SessionStart) is used even outside the shared tree.
    const known = join(dir, "elsewhere.jsonl");
    writeFileSync(known, `${JSON.stringify({ type: "assistant" })}\n`);
    assert.equal(resumeCheck(shared, project, "other", known, NOW), "resume");
  });
});
