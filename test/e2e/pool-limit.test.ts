// A pool task whose account hits its limit mid-task: the limit reactor swaps the session and resends
// the prompt; the task stays running and completes once, on the Stop that follows.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { startOnePool } from "../support/pool.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("pool task across a hard limit", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await startOnePool(2)));
  after(async () => h.cleanup());

  it("swaps the session to b and completes the task once", async () => {
    assert.equal(d.sessions.get("auto-01")!.account, "a");
    const a = h.accountTokens.a!;
    h.api.setCap(a, h.api.usedTurns(a)); // a's next turn is refused
    const prompt = "limited pool task";
    dropFiles(join(h.root, "state", "inbox"), [{ name: "limited.md", prompt, front: { id: "limited-1" } }]);
    const t = await waitFor(
      () => {
        const x = d.inbox.tasks.get("limited-1");
        return x && x.state !== "queued" && x.state !== "running" ? x : null;
      },
      120_000,
      "task ended",
    );
    assert.equal(t.state, "done", `task ${t.state}: ${t.error}`);
    assert.equal(t.attempts, 1, "never retried by the dispatcher");
    // The model reads the prompt once either way (issue 13 point 10; the stand-in echoes the last user
    // message). When the old conversation is resumed it still holds the refused prompt, and the swap sends
    // the continue note after it. When the refusal was its only turn, the CLI may not have written enough
    // of it to resume, so a fresh conversation starts and gets the prompt itself.
    const fresh = d.store.tailEvents(200, { session: "auto-01", kindPrefix: "session.new_conversation" }).length > 0;
    if (fresh) assert.equal((t.result ?? "").trim(), `ANSWER: ${prompt}`);
    else assert.match(t.result ?? "", /ANSWER: [\s\S]*Continue where you left off/);
    assert.equal(readFileSync(join(h.root, "state", "outbox", "limited-1.md"), "utf8").trimEnd(), t.result!.trimEnd());

    const turns = h.api.turns().filter((r) => r.userText.endsWith(prompt));
    assert.equal(turns.filter((r) => r.status === 429 && r.token === a).length, 1, "refused once on a");
    const ok = h.api.turns().filter((r) => r.status === 200 && r.allUserTexts.join("\n").includes(prompt));
    assert.equal(ok.length, 1, "answered exactly once");
    assert.equal(ok[0]!.token, h.accountTokens.b, "answered on b");
    assert.equal(ok[0]!.allUserTexts.join("\n").split(prompt).length - 1, 1, "the model reads the prompt once");
    assert.equal(d.sessions.get("auto-01")!.account, "b");
    assert.equal(d.accounts.row("a").state, "exhausted");
    assert.equal(d.store.lastSwap("auto-01")?.outcome, "ok");
    const kinds = d.store
      .tailEvents(1000)
      .filter((e) => e.data.id === "limited-1")
      .map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === "task.done").length, 1);
    assert.ok(kinds.includes("task.rate_limited"));
    assert.ok(!kinds.includes("task.retry") && !kinds.includes("task.failed"), kinds.join(","));
  });
});
