// paneShowsRefusal: the limit reactor's early proof that a StopFailure was the running turn's own refusal.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { paneShowsRefusal } from "../../src/quota/limit-reactor.js";

const RULE = "─".repeat(80);
const INPUT = [RULE, "❯\u00a0", RULE, "  ? for shortcuts"];
const now = Date.UTC(2026, 10, 30, 18, 0);
const screen = (...lines: string[]) => [...lines, "", ...INPUT].join("\n");

describe("paneShowsRefusal", () => {
  it("the limit message under the prompt's echo in an idle pane", () => {
    const p = screen(
      "❯ first",
      "● ANSWER: first",
      "",
      "❯ second question",
      "  ⎿  You've hit your session limit · resets 7:14pm (UTC)",
    );
    assert.equal(paneShowsRefusal(p, "second question", now), true);
    assert.equal(paneShowsRefusal(p, "second question\nwith a second line", now), true, "the first line is the key");
  });
  it("not while the turn still runs (a helper's failure), not for an older message above the prompt, not without the echo", () => {
    const busy = screen("❯ second question", "", "✢ Reticulating… (esc to interrupt)");
    assert.equal(paneShowsRefusal(busy, "second question", now), false);
    const older = screen(
      "❯ first",
      "  ⎿  You've hit your session limit · resets 7:14pm (UTC)",
      "",
      "❯ second question",
      "● ANSWER: second question",
    );
    assert.equal(paneShowsRefusal(older, "second question", now), false);
    assert.equal(
      paneShowsRefusal(screen("  ⎿  You've hit your session limit · resets 7:14pm (UTC)"), "never typed", now),
      false,
    );
    assert.equal(
      paneShowsRefusal(screen("❯ x", "  ⎿  You've hit your session limit · resets 7:14pm (UTC)"), "", now),
      false,
    );
  });
});
