// The first-run config, which CLI the daemon runs, and the environment warnings (issue 12, points 2 and 4).
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { defaultConfigText, defaultSessionName } from "../../src/config/default-config.js";
import { formatIssue, parseConfig } from "../../src/config/load.js";
import { CLI_MISSING, packageRoot, packageVersion, resolveCli } from "../../src/ops/cli-binary.js";
import { anthropicEnvWarnings } from "../../src/ops/env-warnings.js";

const ctx = { env: {}, home: "/home/u" };
function parse(text: string) {
  const r = parseConfig(text, "config.yaml", ctx);
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  // What the daemon writes uses the current key names only (issue 15: no deprecated pool.dedicated).
  assert.deepEqual(r.warnings.map(formatIssue), []);
  return r.config;
}

describe("first-run config", () => {
  it("is valid, leaves the binary to its default and carries a commented claude.env example", () => {
    const text = defaultConfigText("/home/u/my.app");
    const c = parse(text);
    assert.equal(c.claude.binary, "claude");
    assert.deepEqual(c.claude.env, {});
    assert.equal(c.quota.usage_api_base, "https://api.anthropic.com");
    assert.equal(c.dedicated[0]!.name, "my-app");
    assert.equal(c.sessions.shared_projects_dir, "/home/u/.claude/projects");
    assert.match(text, /^# {3}env:\n# {5}ANTHROPIC_BASE_URL: /m);
    assert.match(text, /usage_api_base follows claude\.env\.ANTHROPIC_BASE_URL/);
  });

  it("carries an ANTHROPIC_BASE_URL set at first run into claude.env, and the usage endpoint follows it", () => {
    const c = parse(defaultConfigText("/p", { ANTHROPIC_BASE_URL: "http://127.0.0.1:9/" }));
    assert.deepEqual(c.claude.env, { ANTHROPIC_BASE_URL: "http://127.0.0.1:9/" });
    assert.equal(c.quota.usage_api_base, "http://127.0.0.1:9");
  });

  it("keeps an explicit quota.usage_api_base over claude.env", () => {
    const c = parse(
      `accounts:\n  - name: a\n    home: /a\nclaude:\n  env:\n    ANTHROPIC_BASE_URL: http://gw:1\nquota:\n  usage_api_base: http://usage:2\n`,
    );
    assert.equal(c.quota.usage_api_base, "http://usage:2");
  });

  it("names sessions after the folder, sanitised", () => {
    assert.equal(defaultSessionName("/x/.hidden.dir"), "hidden-dir");
    assert.equal(defaultSessionName("/"), "main");
  });
});

describe("which CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "cf-cli-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const onPath = join(bin, "claude");
  writeFileSync(onPath, "#!/bin/sh\n");
  chmodSync(onPath, 0o755);
  const packaged = join(dir, "pkg-claude");
  writeFileSync(packaged, "#!/bin/sh\n");
  chmodSync(packaged, 0o755);

  it("prefers claude on PATH", () => {
    assert.deepEqual(resolveCli("claude", bin, packaged), { ok: true, path: onPath, source: "path" });
  });
  it("falls back to the packaged CLI for the default name only", () => {
    assert.deepEqual(resolveCli("claude", "/nonexistent", packaged), { ok: true, path: packaged, source: "package" });
    const other = resolveCli("my-claude", "/nonexistent", packaged);
    assert.equal(other.ok, false);
  });
  it("says what is missing and how to fix it", () => {
    const r = resolveCli("claude", "/nonexistent", null);
    assert.ok(!r.ok);
    assert.ok(r.problem.startsWith(CLI_MISSING));
    assert.match(r.problem, /not on PATH and no CLI was installed/);
    assert.match(r.fix, /npm install -g @anthropic-ai\/claude-code/);
    const abs = resolveCli(join(dir, "nope"), bin, packaged);
    assert.ok(!abs.ok && abs.problem.includes(join(dir, "nope")));
    rmSync(dir, { recursive: true, force: true });
  });
  it("finds this package's root and version", () => {
    const root = packageRoot();
    assert.ok(root);
    assert.match(packageVersion(root), /^\d+\.\d+\.\d+/);
  });
});

describe("ANTHROPIC_* warnings", () => {
  it("warns for each variable claude.env does not set, and explains the scrubbed ones", () => {
    const w = anthropicEnvWarnings(
      { ANTHROPIC_BASE_URL: "x", ANTHROPIC_API_KEY: "k", ANTHROPIC_MODEL: "m", PATH: "/bin" },
      { ANTHROPIC_MODEL: "m" },
      "/c.yaml",
    );
    assert.equal(w.length, 2);
    assert.match(w[0]!, /^ANTHROPIC_API_KEY .*kept from the CLI on purpose/);
    assert.match(w[1]!, /^ANTHROPIC_BASE_URL .*set claude\.env\.ANTHROPIC_BASE_URL in \/c\.yaml/);
    assert.deepEqual(anthropicEnvWarnings({ PATH: "/bin" }, {}, "/c.yaml"), []);
  });
});

describe("first-run listen address", () => {
  it("takes CLAUDE_FAILOVER_LISTEN when set at first run", () => {
    assert.equal(
      parse(defaultConfigText("/p", { CLAUDE_FAILOVER_LISTEN: "127.0.0.1:4567" })).mcp_http.listen,
      "127.0.0.1:4567",
    );
    assert.equal(parse(defaultConfigText("/p")).mcp_http.listen, "127.0.0.1:7777");
  });
});
