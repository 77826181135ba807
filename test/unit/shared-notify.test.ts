// The change notices' payload (store/shared/shared-notify.ts): written and read back, anything else ignored.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isNotifier, noticePayload, parseNotice } from "../../src/store/shared/shared-notify.js";

describe("shared change notices", () => {
  it("round-trips every topic, whatever the box name holds", () => {
    for (const topic of ["marks", "reservations", "tasks"] as const)
      for (const box of ["box-1", 'a"b:c', "<img src=x>", ""])
        assert.deepEqual(parseNotice(noticePayload({ topic, box })), { topic, box });
  });

  it("ignores what this version does not know, never throws", () => {
    for (const p of [undefined, "", "marks", "{", "null", "[]", '{"topic":"sessions","box":"b"}', '{"topic":"marks"}'])
      assert.equal(parseNotice(p), null, String(p));
  });

  it("tells a store that sends notices from one that does not", () => {
    assert.equal(isNotifier({ listen: async () => ({ close: async () => {} }) }), true);
    assert.equal(isNotifier({}), false);
  });
});
