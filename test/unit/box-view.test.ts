// status's view of the boxes sharing the store (boxes/box-view.ts) and its text (cli/format.ts formatBoxes).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boxesView } from "../../src/boxes/box-view.js";
import { formatBoxes } from "../../src/cli/format.js";

const T0 = 1_800_000_000_000;
const lease = (box: string, heartbeatAt: number, expiresAt: number) => ({
  box,
  since: T0,
  heartbeatAt,
  expiresAt,
  info: {},
});

describe("boxes in status", () => {
  it("alive until the lease's expiry, lapsed at it; a box with running tasks and no lease row is gone; sorted by name", () => {
    const v = boxesView(
      [lease("b", T0, T0 + 30_000), lease("a", T0 + 5_000, T0 + 35_000)],
      ["b", "c", "b", null],
      "a",
      T0 + 30_000,
    );
    assert.deepEqual(
      v.map((x) => [x.box, x.self, x.lease, x.heartbeatAgeMs, x.runningTasks]),
      [
        ["a", true, "alive", 25_000, 0],
        ["b", false, "lapsed", 30_000, 2],
        ["c", false, "gone", null, 1],
      ],
    );
  });

  it("the text: nothing without a shared store, a note before the first round, the store's reachability", () => {
    assert.equal(formatBoxes(null, T0), "");
    assert.equal(
      formatBoxes({ asOf: null, reachable: false, boxes: [] }, T0),
      "BOXES (the shared store has not been reached yet)",
    );
    const boxes = boxesView([lease("a", T0, T0 + 30_000)], [], "a", T0 + 1_000);
    assert.match(
      formatBoxes({ asOf: T0 + 1_000, reachable: false, boxes }, T0 + 3_000),
      /^BOXES \(shared store unreachable; as of 2s ago\)\nBOX +LEASE +LAST HEARTBEAT +RUNNING TASKS\na \(this box\) +alive +1s ago +0$/,
    );
  });
});
