import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { userStatusLineCommand } from "../../src/claude/status-line-files.js";
import { parseFeedName, parseStatusLine } from "../../src/quota/status-line.js";

const AT = 1_796_040_000_000;

describe("parseStatusLine", () => {
  it("turns rate_limits into figures: percent → 0..1, epoch seconds → ms, time = when written", () => {
    const r = parseStatusLine(
      JSON.stringify({
        session_id: "s-1",
        version: "2.1.332",
        model: { id: "claude-x" },
        cost: { total_cost_usd: 0 },
        rate_limits: {
          five_hour: { used_percentage: 42.3, resets_at: 1796048228 },
          seven_day: { used_percentage: 0, resets_at: 1796307428 },
        },
      }),
      AT,
    )!;
    assert.deepEqual(r.figures, {
      fiveHour: { utilization: 0.423, resetsAt: 1796048228000 },
      sevenDay: { utilization: 0, resetsAt: 1796307428000 },
      perModelWeekly: {},
      fetchedAt: AT,
      source: "statusline",
    });
    assert.equal(r.claudeSessionId, "s-1");
    assert.equal(r.version, "2.1.332");
  });
  it("collects per-model weekly windows and tolerates unknown keys", () => {
    const r = parseStatusLine(
      JSON.stringify({ rate_limits: { seven_day_opus: { used_percentage: 91, resets_at: 1796307428 }, extra: 1 } }),
      AT,
    )!;
    assert.deepEqual(r.figures.perModelWeekly, { opus: { utilization: 0.91, resetsAt: 1796307428000 } });
    assert.equal(r.figures.fiveHour, null);
  });
  it("clamps out-of-range percentages and drops a bad reset", () => {
    const r = parseStatusLine(
      JSON.stringify({ rate_limits: { five_hour: { used_percentage: 140, resets_at: "soon" } } }),
      AT,
    )!;
    assert.deepEqual(r.figures.fiveHour, { utilization: 1, resetsAt: null });
  });
  for (const [what, text] of [
    ["not JSON", "{half"],
    ["no rate_limits (an API-key login)", JSON.stringify({ session_id: "x", cost: {} })],
    ["rate_limits without a usable window", JSON.stringify({ rate_limits: { five_hour: { used_percentage: "42" } } })],
    ["an array", "[]"],
  ] as const) {
    it(`null for ${what}`, () => assert.equal(parseStatusLine(text, AT), null));
  }
});

describe("parseFeedName", () => {
  it("reads session and account", () =>
    assert.deepEqual(parseFeedName("dev-1.acct_b.json"), { session: "dev-1", account: "acct_b" }));
  for (const bad of [".dev.a.123.tmp", "dev.json", "../x.a.json", "a.b.c.json"])
    it(`rejects ${bad}`, () => assert.equal(parseFeedName(bad), null));
});

describe("userStatusLineCommand", () => {
  it("takes a command status line", () =>
    assert.equal(userStatusLineCommand('{"statusLine":{"type":"command","command":"~/bin/sl"}}'), "~/bin/sl"));
  for (const s of [
    '{"statusLine":{"type":"static","command":"x"}}',
    '{"statusLine":{"type":"command","command":"  "}}',
    "{}",
    "not json",
  ]) {
    it(`none in ${s}`, () => assert.equal(userStatusLineCommand(s), null));
  }
});
