// Which account states a box shares and which of the other boxes' it takes (boxes/account-marks.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FROM_BOX, markToPublish, marksToApply } from "../../src/boxes/account-marks.js";
import type { SharedAccountState } from "../../src/store/shared/shared-types.js";
import type { AccountRow, AccountState } from "../../src/store/types.js";

const NOW = Date.UTC(2026, 10, 30, 12);
const row = (name: string, state: AccountState, stateUntil: number | null = null): AccountRow => ({
  name,
  state,
  stateUntil,
  stateReason: null,
  updatedAt: NOW,
  revokedCreds: null,
});
const mark = (
  account: string,
  box: string,
  until: number | null,
  state: SharedAccountState["state"] = "exhausted",
): SharedAccountState => ({ account, state, until, reason: "5-hour limit reached", box, at: NOW - 1000 });

describe("account marks between boxes", () => {
  it("only an exhaustion with a reset time is shared, never one taken from another box", () => {
    assert.deepEqual(markToPublish("a", "exhausted", NOW + 1, "limit"), {
      account: "a",
      until: NOW + 1,
      reason: "limit",
    });
    assert.equal(markToPublish("a", "exhausted", null, "limit"), null);
    assert.equal(markToPublish("a", "revoked", null, "needs login"), null);
    assert.equal(markToPublish("a", "disabled", null, "by operator"), null);
    assert.equal(markToPublish("a", "cooldown", NOW + 1, "reset passed"), null);
    assert.equal(markToPublish("a", "exhausted", NOW + 1, `${FROM_BOX}box-2: limit`), null);
  });

  it("another box's exhaustion in force is taken for an account that is active or cooling down here", () => {
    const local = [
      row("a", "active"),
      row("b", "cooldown", NOW + 5),
      row("c", "exhausted", NOW + 9),
      row("d", "revoked"),
      row("e", "disabled"),
    ];
    const marks = ["a", "b", "c", "d", "e", "zz"].map((n) => mark(n, "box-2", NOW + 3_600_000));
    assert.deepEqual(marksToApply(local, marks, "box-1", NOW), [
      { account: "a", until: NOW + 3_600_000, reason: "exhausted on box box-2: 5-hour limit reached" },
      { account: "b", until: NOW + 3_600_000, reason: "exhausted on box box-2: 5-hour limit reached" },
    ]);
  });

  it("its own marks, expired marks, marks without an end and other states are not taken", () => {
    const local = [row("a", "active")];
    assert.deepEqual(marksToApply(local, [mark("a", "box-1", NOW + 1)], "box-1", NOW), []);
    assert.deepEqual(marksToApply(local, [mark("a", "box-2", NOW)], "box-1", NOW), [], "until = now: over");
    assert.deepEqual(marksToApply(local, [mark("a", "box-2", null)], "box-1", NOW), []);
    assert.deepEqual(marksToApply(local, [mark("a", "box-2", null, "revoked")], "box-1", NOW), []);
    assert.deepEqual(marksToApply(local, [{ ...mark("a", "box-2", NOW + 1), reason: null }], "box-1", NOW), [
      { account: "a", until: NOW + 1, reason: "exhausted on box box-2: limit reached" },
    ]);
  });
});
