// `enqueue --box` and `task ID`'s pin line (cli/task-commands.ts, issue 19 point 4).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { enqueueBody, formatTask } from "../../src/cli/task-commands.js";

describe("enqueue --box and the pin in task views", () => {
  it("--box goes into the request; a file's own box: does too, and --box wins over it", () => {
    assert.equal(enqueueBody(Buffer.from("do it\n"), { box: "server-2" }, "/w").box, "server-2");
    assert.equal(enqueueBody(Buffer.from("---\nbox: laptop\n---\ndo it\n"), {}, "/w").box, "laptop");
    assert.equal(enqueueBody(Buffer.from("---\nbox: laptop\n---\ndo it\n"), { box: "server-2" }, "/w").box, "server-2");
    assert.equal("box" in enqueueBody(Buffer.from("do it\n"), {}, "/w"), false);
  });

  it("task ID shows the box a task is pinned to, and nothing for an unpinned one", () => {
    const t = { id: "t1", state: "queued", prompt: "x", priority: 0, attempts: 0, createdAt: 0, source: "cli" };
    assert.match(formatTask({ ...t, pinBox: "server-2" }, 1000), /pinned to\s+box server-2/);
    assert.doesNotMatch(formatTask({ ...t, pinBox: null }, 1000), /pinned/);
  });
});
