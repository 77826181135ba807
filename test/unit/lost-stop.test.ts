// lostStop (sessions/lost-stop.ts): when a busy session's turn is taken as ended without its Stop. Pure.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LOST_STOP_MS, lostStop, lostStopDue, type LostStopInput } from "../../src/sessions/lost-stop.js";
import { HOOK_TIMEOUT_S } from "../../src/sessions/hook-script.js";

const NOW = 1_000_000_000;
const base: LostStopInput = {
  now: NOW,
  rowState: "busy",
  lastPrompt: "say WREN",
  lastPromptAnswered: false,
  idleSince: NOW - LOST_STOP_MS,
  lastHookAt: NOW - LOST_STOP_MS,
  transcript: { lastUserPrompt: "say WREN", answered: true },
};

describe("lostStop", () => {
  it("a busy session idle and unheard from for LOST_STOP_MS, its transcript answering its prompt: ended", () => {
    assert.equal(lostStop(base), true);
  });

  it("waits longer than the CLI's timeout for our hook, so a Stop that is only late is never overtaken", () => {
    assert.ok(LOST_STOP_MS > HOOK_TIMEOUT_S * 1000);
    assert.equal(lostStop({ ...base, idleSince: NOW - LOST_STOP_MS + 1 }), false, "idle not long enough");
    assert.equal(lostStop({ ...base, lastHookAt: NOW - LOST_STOP_MS + 1 }), false, "a hook event too recently");
    assert.equal(lostStop({ ...base, idleSince: null }), false, "the pane not seen idle (busy, a dialog)");
  });

  it("only a busy session with an unanswered prompt", () => {
    for (const state of ["idle", "waiting", "starting", "limited", "swapping"])
      assert.equal(lostStop({ ...base, rowState: state }), false, state);
    assert.equal(lostStop({ ...base, lastPromptAnswered: true }), false);
    assert.equal(lostStop({ ...base, lastPrompt: null }), false);
  });

  it("lostStopDue: the same timing and state, before any transcript is read", () => {
    assert.equal(lostStopDue(base), true);
    assert.equal(lostStopDue({ ...base, idleSince: NOW - LOST_STOP_MS + 1 }), false);
    assert.equal(lostStopDue({ ...base, rowState: "idle" }), false);
  });

  it("only when the transcript's last prompt is that prompt and an assistant line follows it", () => {
    assert.equal(lostStop({ ...base, transcript: null }), false, "no readable transcript");
    assert.equal(lostStop({ ...base, transcript: { lastUserPrompt: "say WREN", answered: false } }), false);
    assert.equal(lostStop({ ...base, transcript: { lastUserPrompt: "an earlier prompt", answered: true } }), false);
  });
});
