import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, parseDuration, tryParseDuration } from "../../src/config/duration.js";

describe("parseDuration", () => {
  const good: Array<[string, number]> = [
    ["0s", 0],
    ["0ms", 0],
    ["500ms", 500],
    ["1s", 1_000],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1d2h3m4s5ms", 93_784_005],
    ["1.5s", 1_500],
    ["0.5h", 1_800_000],
    ["0.5ms", 1], // rounded to whole milliseconds
    ["007s", 7_000],
  ];
  for (const [text, ms] of good) {
    it(`reads ${text} as ${ms}ms`, () => assert.equal(parseDuration(text), ms));
  }

  const bad = [
    "",
    "30", // a unit is required
    "0",
    "5 minutes",
    "5 m",
    " 5m",
    "5m ",
    "5min",
    "5M",
    "5S",
    "-5s",
    "+5s",
    "5w",
    "5y",
    "s",
    "ms",
    "1.s",
    ".5s",
    "1e3ms",
    "1h 30m",
    "5m!",
    "Infinity",
    "NaN",
    "9999999999999999999d", // too large to be exact
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDuration(text), RangeError);
      assert.equal(tryParseDuration(text), undefined);
    });
  }

  it("names the input and the expected form in its error", () => {
    assert.throws(
      () => parseDuration("5 minutes"),
      /invalid duration "5 minutes": expected a duration like 500ms, 30s/,
    );
  });

  it("rejects non-strings passed from untyped callers", () => {
    assert.throws(() => parseDuration(30 as unknown as string), RangeError);
  });
});

describe("formatDuration", () => {
  const table: Array<[number, string]> = [
    [0, "0s"],
    [1, "1ms"],
    [500, "500ms"],
    [1_000, "1s"],
    [1_500, "1s500ms"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [300_000, "5m"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [86_400_000, "1d"],
    [604_800_000, "7d"],
    [93_784_005, "1d2h3m4s5ms"],
    [1_499.6, "1s500ms"], // fractions of a millisecond are rounded
  ];
  for (const [ms, text] of table) {
    it(`writes ${ms}ms as ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  it("round-trips through parseDuration", () => {
    for (const ms of [0, 1, 999, 1_000, 61_001, 3_599_999, 86_400_001, 123_456_789]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });

  it("rejects negative and non-finite values", () => {
    for (const v of [-1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => formatDuration(v), RangeError);
  });
});
