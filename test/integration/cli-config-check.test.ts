// `claude-failover config check` as a person runs it: exit 0 on a valid file, 2 with file:line: key.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli/main.js";

const VALID = `accounts:
  - name: a
    home: /home/u/a
dedicated:
  - name: dev
    project: /home/u/src/dev
`;

// [name, file text, expected line, expected key path]
const BAD: [string, string, number, string][] = [
  ["threshold above 1", `${VALID}quota:\n  window_5h_threshold: 1.5\n`, 8, "quota.window_5h_threshold"],
  ["weekly threshold negative", `${VALID}quota:\n  window_week_threshold: -0.1\n`, 8, "quota.window_week_threshold"],
  ["unknown top-level key", `${VALID}colour: blue\n`, 7, "colour"],
  ["unknown nested key", `${VALID}quota:\n  poll_every: 5m\n`, 8, "quota.poll_every"],
  ["duration without unit", `${VALID}checkpoint:\n  interval: 300\n`, 8, "checkpoint.interval"],
  ["duration in words", `${VALID}quota:\n  min_dwell: 5 minutes\n`, 8, "quota.min_dwell"],
  ["keep zero", `${VALID}checkpoint:\n  keep: 0\n`, 8, "checkpoint.keep"],
  ["priority not a number", `accounts:\n  - name: a\n    home: /h/a\n    priority: high\n`, 4, "accounts[0].priority"],
  ["relative home", `accounts:\n  - name: a\n    home: homes/a\n`, 3, "accounts[0].home"],
  [
    "relative project",
    `accounts:\n  - name: a\n    home: /h/a\ndedicated:\n  - name: dev\n    project: src/dev\n`,
    6,
    "dedicated[0].project",
  ],
  ["port out of range", `${VALID}mcp_http:\n  listen: 127.0.0.1:70000\n`, 8, "mcp_http.listen"],
  ["min above max", `${VALID}pool:\n  min: 3\n  max: 1\n`, 9, "pool.max"],
  ["duplicate account", `accounts:\n  - name: a\n    home: /h/a\n  - name: a\n    home: /h/b\n`, 4, "accounts[1].name"],
  [
    "unknown preferred account",
    `accounts:\n  - name: a\n    home: /h/a\ndedicated:\n  - name: dev\n    project: /p\n    account: zz\n`,
    7,
    "dedicated[0].account",
  ],
  ["non-loopback listen", `${VALID}mcp_http:\n  listen: 0.0.0.0:7777\n`, 8, "mcp_http.listen"],
  [
    "hourly cap negative",
    `accounts:\n  - name: a\n    home: /h/a\n    limits:\n      hourly_msgs: -1\n`,
    5,
    "accounts[0].limits.hourly_msgs",
  ],
];

describe("claude-failover config check", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cf-cfg-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (text: string) => {
    const path = join(dir, "config.yaml");
    writeFileSync(path, text);
    let out = "";
    let err = "";
    const code = await run(["config", "check", "--config", path], {
      out: (s) => (out += s),
      err: (s) => (err += s),
      env: { HOME: dir },
    });
    return { code, out, err, path };
  };

  it("exits 0 on a valid file", async () => {
    const r = await check(VALID);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ok/);
  });

  for (const [name, text, line, key] of BAD) {
    it(`exits 2 naming line ${line} and ${key}: ${name}`, async () => {
      const r = await check(text);
      assert.equal(r.code, 2, `${r.out}${r.err}`);
      const want = `${r.path}:${line}: ${key}: `;
      assert.ok(r.err.includes(want), `expected "${want}" in:\n${r.err}`);
    });
  }

  // The names before issue 15's rename (config/legacy-keys.ts): still read, each warned about on stderr.
  const OLD = `accounts:
  - name: a
    home: /home/u/a
pool:
  shared_projects_dir: /home/u/shared
  dedicated:
    - name: dev
      project: /home/u/src/dev
  autonomous:
    max: 2
`;

  it("exits 0 on the deprecated key names, with a warning per key naming its line and new name", async () => {
    const r = await check(OLD);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ok \(3 deprecated keys\)/);
    const lines = r.err.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.err);
    assert.match(
      lines[0]!,
      new RegExp(`^warning: ${r.path}:5: pool\\.shared_projects_dir: .*sessions\\.shared_projects_dir`),
    );
    assert.match(
      lines[1]!,
      new RegExp(`^warning: ${r.path}:6: pool\\.dedicated: .*\\bdedicated \\(a top-level list\\)`),
    );
    assert.match(lines[2]!, new RegExp(`^warning: ${r.path}:9: pool\\.autonomous: .*directly under pool`));
  });

  it("an error in a deprecated key is shown at the key the file has", async () => {
    const r = await check(OLD.replace("max: 2", "max: 2\n    min: 3"));
    assert.equal(r.code, 2, r.err);
    assert.ok(r.err.includes(`${r.path}:10: pool.autonomous.max: must be at least min (3)`), r.err);
  });

  it("exits 2 when one thing is given under both names, naming both lines", async () => {
    const r = await check(`${VALID}pool:\n  dedicated:\n    - name: other\n      project: /p\n`);
    assert.equal(r.code, 2, r.err);
    assert.ok(
      r.err.includes(
        `${r.path}:8: pool.dedicated: given twice: as dedicated and as pool.dedicated (its deprecated name); keep dedicated only (dedicated is on line 4)`,
      ),
      r.err,
    );
  });

  it("exits 2 for a file that is not there, naming it", async () => {
    let err = "";
    const code = await run(["config", "check", "--config", join(dir, "missing.yaml")], {
      out: () => {},
      err: (s) => (err += s),
      env: { HOME: dir },
    });
    assert.equal(code, 2);
    assert.match(err, /missing\.yaml/);
  });
});
