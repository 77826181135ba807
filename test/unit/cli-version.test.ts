// The usage client's identity: `claude --version` parsed, run without a shell with a timeout, a
// fallback when the binary can't tell; the real pinned CLI's answer.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FALLBACK_CLI_VERSION,
  parseCliVersion,
  readCliVersion,
  UsageClientIdentity,
} from "../../src/quota/cli-version.js";
import { fileURLToPath } from "node:url";

const PINNED_CLI = fileURLToPath(
  new URL("../../node_modules/@anthropic-ai/claude-code/bin/claude.exe", import.meta.url),
);

describe("parseCliVersion", () => {
  const rows: [string, string | null][] = [
    ["2.1.197 (Claude Code)\n", "2.1.197"],
    ["2.1.332 (Claude Code)", "2.1.332"],
    ["  v1.0.3\n", "1.0.3"],
    ["2.2.0-beta.1 (Claude Code)", "2.2.0-beta.1"],
    ["Claude Code 2.1.197", null],
    ["2.1 (Claude Code)", null],
    ["2.1.197x", null],
    ["", null],
  ];
  for (const [out, want] of rows)
    it(`${JSON.stringify(out)} → ${String(want)}`, () => assert.equal(parseCliVersion(out), want));
});

describe("readCliVersion", () => {
  let dir: string;
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-cliver-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the version, passing --version as argv (no shell) and no secrets in the environment", async () => {
    const out = join(dir, "seen");
    const p = script(
      "good",
      `printf '%s|%s|%s\\n' "$1" "$#" "\${SECRET_TOKEN:-none}" > '${out}'; echo "9.8.7 (Claude Code)"`,
    );
    const r = await readCliVersion(p, { env: { ...process.env, SECRET_TOKEN: "s3cret" } });
    assert.deepEqual(r, { ok: true, version: "9.8.7" });
    const { readFileSync } = await import("node:fs");
    assert.equal(readFileSync(out, "utf8"), "--version|1|none\n");
  });

  it("a binary name with shell characters is a file name, not a command", async () => {
    const r = await readCliVersion(`${join(dir, "good")}; touch ${join(dir, "pwned")}`, { env: process.env });
    assert.equal(r.ok, false);
    const { existsSync } = await import("node:fs");
    assert.equal(existsSync(join(dir, "pwned")), false);
  });

  it("missing, hanging, failing and chatty binaries say why", async () => {
    const missing = await readCliVersion(join(dir, "nope"), { env: process.env });
    assert.ok(!missing.ok && /not found/.test(missing.detail), JSON.stringify(missing));
    const t0 = Date.now();
    const hang = await readCliVersion(script("hang", "sleep 30"), { env: process.env, timeoutMs: 300 });
    assert.ok(!hang.ok && /no answer within 300 ms/.test(hang.detail), JSON.stringify(hang));
    assert.ok(Date.now() - t0 < 5_000);
    const failing = await readCliVersion(script("fail", "exit 3"), { env: process.env });
    assert.ok(!failing.ok && /exit 3/.test(failing.detail), JSON.stringify(failing));
    const chatty = await readCliVersion(script("chatty", "echo hello"), { env: process.env });
    assert.ok(!chatty.ok && /not a version/.test(chatty.detail), JSON.stringify(chatty));
  });

  it("UsageClientIdentity: falls back when the binary can't tell, follows a changed binary, reports only changes", async () => {
    const id = new UsageClientIdentity(process.env, 2_000);
    const first = await id.refresh(join(dir, "nope"));
    assert.equal(id.userAgent(), `claude-code/${FALLBACK_CLI_VERSION}`);
    assert.ok(first?.fallback && /not found/.test(first.fallback));
    assert.equal(await id.refresh(join(dir, "nope")), null, "nothing changed");
    const p = script("v2", 'echo "2.1.332 (Claude Code)"');
    assert.deepEqual(await id.refresh(p), { userAgent: "claude-code/2.1.332", fallback: null });
    assert.equal(id.userAgent(), "claude-code/2.1.332");
    assert.equal(id.detail, null);
  });

  it("the pinned real CLI says 2.1.197", async () => {
    const r = await readCliVersion(PINNED_CLI, { env: process.env });
    assert.deepEqual(r, { ok: true, version: "2.1.197" });
  });
});
