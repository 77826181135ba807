import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  limitHeadKind,
  parseLimitMessage,
  parseResetHeader,
  parseUsageWarning,
  zonedToEpoch,
} from "../../src/claude/reset-time.js";

// Monday 2025-02-03 12:00 UTC (07:00 in New York, 21:00 in Seoul).
const NOW = Date.UTC(2025, 1, 3, 12, 0);
const at = (iso: string): number => Date.parse(iso);

describe("parseLimitMessage", () => {
  const cases: Array<[string, string, { kind: string; resetAt: string | null }, number?, string?]> = [
    [
      "session limit, UTC, tomorrow",
      "You've hit your session limit · resets 3:58am (UTC)",
      { kind: "session", resetAt: "2025-02-04T03:58:00Z" },
    ],
    [
      "weekly limit with a date",
      "You've hit your weekly limit · resets Feb 7, 11am (Asia/Seoul)",
      { kind: "weekly", resetAt: "2025-02-07T02:00:00Z" },
    ],
    [
      "Opus limit, no zone → UTC",
      "You've hit your Opus limit · resets 5pm",
      { kind: "opus", resetAt: "2025-02-03T17:00:00Z" },
    ],
    [
      "Opus limit, no zone → defaultTz",
      "You've hit your Opus limit · resets 5pm",
      { kind: "opus", resetAt: "2025-02-03T22:00:00Z" },
      NOW,
      "America/New_York",
    ],
    [
      "Sonnet limit",
      "You've hit your Sonnet limit · resets 9:15pm (UTC)",
      { kind: "sonnet", resetAt: "2025-02-03T21:15:00Z" },
    ],
    [
      "old usage wording",
      "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
      { kind: "usage", resetAt: "2025-02-03T16:00:00Z" },
    ],
    ["5-hour wording", "5-hour limit reached ∙ resets 5am", { kind: "session", resetAt: "2025-02-04T05:00:00Z" }],
    ["bare reset fragment", "resets 11:30pm (America/New_York)", { kind: "unknown", resetAt: "2025-02-04T04:30:00Z" }],
    [
      "plain 'your limit'",
      "You've hit your limit · resets 5pm (UTC)",
      { kind: "usage", resetAt: "2025-02-03T17:00:00Z" },
    ],
    [
      "curly apostrophe, 'reached your'",
      "You’ve reached your weekly limit · resets Feb 10, 9am (UTC)",
      { kind: "weekly", resetAt: "2025-02-10T09:00:00Z" },
    ],
    [
      "other limit names are unknown",
      "You've hit your Fable 5 limit · resets 6pm (UTC)",
      { kind: "unknown", resetAt: "2025-02-03T18:00:00Z" },
    ],
    [
      "24-hour clock",
      "You've hit your session limit · resets 17:00 (UTC)",
      { kind: "session", resetAt: "2025-02-03T17:00:00Z" },
    ],
    [
      "upper-case AM/PM",
      "You've hit your session limit · resets 5 PM (UTC)",
      { kind: "session", resetAt: "2025-02-03T17:00:00Z" },
    ],
    [
      "date already past this year → next year",
      "You've hit your weekly limit · resets Jan 2, 9am (UTC)",
      { kind: "weekly", resetAt: "2026-01-02T09:00:00Z" },
    ],
    [
      "explicit year",
      "You've hit your weekly limit · resets Feb 7, 2026, 11:30am (UTC)",
      { kind: "weekly", resetAt: "2026-02-07T11:30:00Z" },
    ],
    [
      "unknown zone → null reset",
      "You've hit your session limit · resets 3am (Mars/Olympus_Mons)",
      { kind: "session", resetAt: null },
    ],
    ["no reset phrase", "You've hit your session limit", { kind: "session", resetAt: null }],
    [
      "epoch after a pipe (oldest CLI)",
      "Claude AI usage limit reached|1738600000",
      { kind: "usage", resetAt: "2025-02-03T16:26:40Z" },
    ],
    // The CLI floors to the minute and panes are read late: a few minutes past means "just reset".
    [
      "minutes in the past stays today",
      "You've hit your session limit · resets 11:57am (UTC)",
      { kind: "session", resetAt: "2025-02-03T11:57:00Z" },
    ],
    [
      "well in the past → tomorrow",
      "You've hit your session limit · resets 11:50am (UTC)",
      { kind: "session", resetAt: "2025-02-04T11:50:00Z" },
    ],
    // DST: Saturday 07:00 EST; the next 3am is Sunday, already EDT (UTC-4).
    [
      "next day across spring-forward",
      "resets 3am (America/New_York)",
      { kind: "unknown", resetAt: "2024-03-10T07:00:00Z" },
      at("2024-03-09T12:00:00Z"),
    ],
    // 01:00 EST on the 23-hour day: tomorrow's 00:30 is EDT, not "now + 24 h".
    [
      "civil-date step on a 23-hour day",
      "resets 12:30am (America/New_York)",
      { kind: "unknown", resetAt: "2024-03-11T04:30:00Z" },
      at("2024-03-10T06:00:00Z"),
    ],
  ];
  for (const [name, text, want, now, tz] of cases) {
    it(name, () => {
      const got = parseLimitMessage(text, now ?? NOW, tz);
      assert.deepEqual(got, { kind: want.kind, resetAt: want.resetAt === null ? null : at(want.resetAt) });
    });
  }

  const notLimits = [
    "",
    "hello world",
    "The build resets 5 times",
    "resets 5", // a bare number is not a time
    "You've used 90% of your session limit · resets 5pm (UTC)",
    "You've used 75% of your weekly limit",
    "Approaching usage limit · resets 3am",
    "Approaching Opus limit",
  ];
  for (const text of notLimits) {
    it(`is not a hit limit: ${JSON.stringify(text)}`, () => assert.equal(parseLimitMessage(text, NOW), null));
  }

  it("limitHeadKind names the kind without parsing the time", () => {
    assert.equal(limitHeadKind("⎿  You've hit your weekly limit ·"), "weekly");
    assert.equal(limitHeadKind("You've used 90% of your weekly limit"), null);
    assert.equal(limitHeadKind("resets 5pm"), null);
  });
});

// One row per wording the CLI has printed (src/claude/reset-time.ts lists the sources), each with the
// reset instant it must give. Monday 2026-11-30 12:00 UTC unless the row says otherwise.
describe("parseLimitMessage: every wording", () => {
  const NOW2 = Date.UTC(2026, 10, 30, 12, 0);
  const rows: Array<[string, string, string, string, number?]> = [
    ["2.1.332 5-hour", "You've hit your 5-hour limit · resets 2:18pm (UTC)", "session", "2026-11-30T14:18:00Z"],
    ["2.1.197 session", "You've hit your session limit · resets 3:58am (UTC)", "session", "2026-12-01T03:58:00Z"],
    [
      "2.1.332 weekly with a date",
      "You've hit your weekly limit · resets Dec 3, 2:18pm (UTC)",
      "weekly",
      "2026-12-03T14:18:00Z",
    ],
    ["2.1.332 Opus", "You've hit your Opus limit · resets 2:18pm (UTC)", "opus", "2026-11-30T14:18:00Z"],
    [
      "2.1.332 Sonnet, date and zone",
      "You've hit your Sonnet limit · resets Dec 1, 9am (Asia/Tokyo)",
      "sonnet",
      "2026-12-01T00:00:00Z",
    ],
    ["usage limit", "You've hit your usage limit · resets 7pm (America/New_York)", "usage", "2026-12-01T00:00:00Z"],
    [
      "<Kind> limit reached, weekly",
      "Weekly limit reached · resets Dec 2, 7pm (Europe/Moscow)",
      "weekly",
      "2026-12-02T16:00:00Z",
    ],
    [
      "<Kind> limit reached, 5-hour with upsell",
      "5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage",
      "session",
      "2026-12-01T07:00:00Z",
    ],
    [
      "Opus weekly limit reached, ∙, no zone",
      "Opus weekly limit reached ∙ resets Oct 31, 9am",
      "opus",
      "2026-10-31T09:00:00Z",
      Date.UTC(2026, 9, 29, 12, 0),
    ],
    [
      "Sonnet weekly limit reached",
      "Sonnet weekly limit reached · resets Dec 1, 9am (UTC)",
      "sonnet",
      "2026-12-01T09:00:00Z",
    ],
    ["Session limit reached, ∙, no zone", "Session limit reached ∙ resets 5am", "session", "2026-12-01T05:00:00Z"],
    [
      "out of extra usage",
      "You're out of extra usage · resets 1:30am (Asia/Calcutta)",
      "extra_usage",
      "2026-11-30T20:00:00Z",
    ],
    [
      "out of extra usage, curly apostrophe",
      "You’re out of extra usage · resets 1:30am (Asia/Calcutta)",
      "extra_usage",
      "2026-11-30T20:00:00Z",
    ],
    ["pipe epoch (oldest CLI)", "Claude AI usage limit reached|1796048228", "usage", "2026-11-30T14:17:08Z"],
    [
      "will reset at (older CLI)",
      "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
      "usage",
      "2026-11-30T16:00:00Z",
    ],
    ["curly apostrophe and ∙", "You’ve hit your 5-hour limit ∙ resets 2:18pm (UTC)", "session", "2026-11-30T14:18:00Z"],
    ["no zone, no date", "You've hit your weekly limit · resets 9am", "weekly", "2026-12-01T09:00:00Z"],
    ["date, no zone", "You've hit your weekly limit · resets Dec 3, 2:18pm", "weekly", "2026-12-03T14:18:00Z"],
    [
      "wrapped over pane rows inside the head",
      "You've hit your 5-hour\nlimit · resets 2:18pm\n(UTC)",
      "session",
      "2026-11-30T14:18:00Z",
    ],
    [
      "wrapped with the result gutter and a border",
      "⎿  You've hit your weekly limit · resets Dec 3,\n│  2:18pm (Europe/Berlin) │",
      "weekly",
      "2026-12-03T13:18:00Z",
    ],
  ];
  for (const [name, text, kind, reset, now] of rows) {
    it(name, () => assert.deepEqual(parseLimitMessage(text, now ?? NOW2), { kind, resetAt: Date.parse(reset) }));
  }

  const notQuota = [
    "API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited",
    "Context limit reached · /compact or /clear to continue",
    "You've used 90% of your 5-hour limit · resets 2:18pm (UTC)",
    "Approaching 5-hour limit",
  ];
  for (const text of notQuota)
    it(`is not a hit limit: ${JSON.stringify(text)}`, () => assert.equal(parseLimitMessage(text, NOW2), null));
});

describe("parseUsageWarning", () => {
  it("reads the percent and the reset", () => {
    assert.deepEqual(parseUsageWarning("You've used 90% of your session limit · resets 5pm (UTC)", NOW), {
      kind: "session",
      percent: 90,
      resetAt: at("2025-02-03T17:00:00Z"),
    });
  });
  it("'Approaching' has no percent", () => {
    assert.deepEqual(parseUsageWarning("Approaching weekly limit", NOW), {
      kind: "weekly",
      percent: null,
      resetAt: null,
    });
  });
  it("a hit limit is not a warning", () => {
    assert.equal(parseUsageWarning("You've hit your session limit · resets 3:58am (UTC)", NOW), null);
  });
});

describe("parseResetHeader", () => {
  const cases: Array<[string | undefined, number | null]> = [
    ["1738600000", 1_738_600_000_000],
    [" 1738600000 ", 1_738_600_000_000],
    ["1738600000.5", 1_738_600_000_500],
    [undefined, null],
    ["", null],
    ["soon", null],
    ["-5", null],
    ["0", null],
    ["1e9", null],
  ];
  for (const [input, want] of cases)
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseResetHeader(input), want));
});

describe("zonedToEpoch", () => {
  const cases: Array<[string, [number, number, number, number, number, string], string | null]> = [
    ["UTC", [2025, 2, 3, 12, 0, "UTC"], "2025-02-03T12:00:00Z"],
    ["Seoul, no DST", [2025, 2, 7, 11, 0, "Asia/Seoul"], "2025-02-07T02:00:00Z"],
    ["New York winter", [2025, 1, 15, 9, 30, "America/New_York"], "2025-01-15T14:30:00Z"],
    ["New York summer", [2025, 7, 15, 9, 30, "America/New_York"], "2025-07-15T13:30:00Z"],
    ["spring-forward gap moves forward", [2024, 3, 10, 2, 30, "America/New_York"], "2024-03-10T07:30:00Z"],
    ["fall-back repeat takes the earlier", [2024, 11, 3, 1, 30, "America/New_York"], "2024-11-03T05:30:00Z"],
    ["Warsaw fall-back repeat takes the earlier", [2024, 10, 27, 2, 30, "Europe/Warsaw"], "2024-10-27T00:30:00Z"],
    ["Warsaw spring-forward gap", [2024, 3, 31, 2, 30, "Europe/Warsaw"], "2024-03-31T01:30:00Z"],
    ["half-hour DST shift (Lord Howe)", [2024, 10, 6, 2, 15, "Australia/Lord_Howe"], "2024-10-05T15:45:00Z"],
    ["India +05:30", [2025, 2, 3, 0, 0, "Asia/Kolkata"], "2025-02-02T18:30:00Z"],
    ["unknown zone", [2025, 2, 3, 0, 0, "Nowhere/Town"], null],
  ];
  for (const [name, args, want] of cases) {
    it(name, () => assert.equal(zonedToEpoch(...args), want === null ? null : at(want)));
  }
});
