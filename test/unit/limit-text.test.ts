import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyRateLimit, type RateLimitClass } from "../../src/claude/limit-text.js";

describe("classifyRateLimit", () => {
  const rows: Array<[string | null, RateLimitClass]> = [
    // Server throttles (not the account's quota).
    ["API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited", "throttle"],
    ["API Error: Server is temporarily limiting requests · Rate limited", "throttle"],
    ["Rate limited (this is not your usage limit)", "throttle"],
    ['API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "throttle"],
    ["API Error: Overloaded", "throttle"],
    // Quota: every hit-limit wording.
    ["You've hit your 5-hour limit · resets 2:18pm (UTC)", "quota"],
    ["You've hit your session limit · resets 3:58am (UTC)", "quota"],
    ["You’ve hit your weekly limit · resets Dec 3, 2:18pm (UTC)", "quota"],
    ["You've hit your Opus limit · resets 2:18pm (UTC)", "quota"],
    ["You've hit your Sonnet limit · resets 2:18pm (UTC)", "quota"],
    ["You've hit your usage limit", "quota"],
    ["Weekly limit reached · resets Dec 2, 7pm (Europe/Moscow)", "quota"],
    ["5-hour limit reached · resets 2am (America/Toronto) · /upgrade to Max 20x or turn on /extra-usage", "quota"],
    ["Opus weekly limit reached ∙ resets Oct 31, 9am", "quota"],
    ["You're out of extra usage · resets 1:30am (Asia/Calcutta)", "quota"],
    ["Claude AI usage limit reached|1796048228", "quota"],
    ["Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).", "quota"],
    // Neither.
    [null, "unknown"],
    ["", "unknown"],
    ["Rate limited", "unknown"],
    ["API Error: 500 Internal server error", "unknown"],
    ["Context limit reached · /compact or /clear to continue", "unknown"],
    ["You've used 90% of your weekly limit · resets Dec 3, 2:18pm (UTC)", "unknown"],
  ];
  for (const [message, want] of rows)
    it(`${JSON.stringify(message)} → ${want}`, () => assert.equal(classifyRateLimit(message), want));
});
