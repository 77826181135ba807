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
pool:
  dedicated:
    - name: dev
      project: /home/u/src/dev
`;

// [name, file text, expected line, expected key path]
const BAD: [string, string, number, string][] = [
  ["threshold above 1", `${VALID}quota:\n  window_5h_threshold: 1.5\n`, 9, "quota.window_5h_threshold"],
  ["weekly threshold negative", `${VALID}quota:\n  window_week_threshold: -0.1\n`, 9, "quota.window_week_threshold"],
  ["unknown top-level key", `${VALID}colour: blue\n`, 8, "colour"],
  ["unknown nested key", `${VALID}quota:\n  poll_every: 5m\n`, 9, "quota.poll_every"],
  ["duration without unit", `${VALID}checkpoint:\n  interval: 300\n`, 9, "checkpoint.interval"],
  ["duration in words", `${VALID}quota:\n  min_dwell: 5 minutes\n`, 9, "quota.min_dwell"],
  ["keep zero", `${VALID}checkpoint:\n  keep: 0\n`, 9, "checkpoint.keep"],
  ["priority not a number", `accounts:\n  - name: a\n    home: /h/a\n    priority: high\n`, 4, "accounts[0].priority"],
  ["relative home", `accounts:\n  - name: a\n    home: homes/a\n`, 3, "accounts[0].home"],
  [
    "relative project",
    `accounts:\n  - name: a\n    home: /h/a\npool:\n  dedicated:\n    - name: dev\n      project: src/dev\n`,
    7,
    "pool.dedicated[0].project",
  ],
  ["port out of range", `${VALID}mcp_http:\n  listen: 127.0.0.1:70000\n`, 9, "mcp_http.listen"],
  ["min above max", `${VALID}  autonomous:\n    min: 3\n    max: 1\n`, 10, "pool.autonomous.max"],
  ["duplicate account", `accounts:\n  - name: a\n    home: /h/a\n  - name: a\n    home: /h/b\n`, 4, "accounts[1].name"],
  [
    "unknown preferred account",
    `accounts:\n  - name: a\n    home: /h/a\npool:\n  dedicated:\n    - name: dev\n      project: /p\n      account: zz\n`,
    8,
    "pool.dedicated[0].account",
  ],
  ["non-loopback listen", `${VALID}mcp_http:\n  listen: 0.0.0.0:7777\n`, 9, "mcp_http.listen"],
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
