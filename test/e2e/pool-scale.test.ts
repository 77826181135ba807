// The autonomous pool end to end: real CLI, real tmux, stand-in API. Tasks dropped in the inbox start
// sessions up to max, run once each with their results in the outbox, and the pool shrinks when idle.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("pool: 5 tasks, max 3, min 0", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let inbox: string;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      dedicated: [],
      config: { pool: { max: 3, min: 0, idle_timeout: "3s" }, inbox: { stable_time: "200ms" } },
    });
    const work = h.project("work");
    (h.configObject.pool as Record<string, unknown>).project = work;
    h.writeConfig();
    inbox = join(h.root, "state", "inbox");
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("starts three sessions, finishes all five once with results in the outbox, then shrinks to min", async () => {
    const prompts = [1, 2, 3, 4, 5].map((i) => `SLOW:2500 pool task number ${i}`);
    dropFiles(
      inbox,
      prompts.map((p, i) => ({ name: `task-${i + 1}.md`, prompt: p })),
    );
    const done = await waitFor(
      () => {
        const t = d.inbox.tasks.inState("done");
        return t.length === 5 ? t : null;
      },
      240_000,
      "all five tasks done",
      200,
    );

    const started = d.store.tailEvents(1000, { kindPrefix: "pool.session_started" });
    assert.deepEqual(
      started.map((e) => e.session).sort(),
      ["auto-01", "auto-02", "auto-03"],
      "three sessions started, no more",
    );
    for (const t of done) {
      const out = readFileSync(join(h.root, "state", "outbox", `${t.id}.md`), "utf8");
      assert.ok(out.includes(`ANSWER:`) && out.trimEnd().endsWith(t.prompt), `outbox of ${t.id}: ${out}`);
      assert.equal(t.result?.trimEnd(), out.trimEnd());
      assert.equal(t.attempts, 1);
      const answered = h.api.turns().filter((r) => r.status === 200 && r.userText.endsWith(t.prompt));
      assert.equal(answered.length, 1, `${t.prompt} answered exactly once`);
      // A reused session was reset: the request holds this task alone, no earlier one.
      assert.equal(
        answered[0]!.allUserTexts.length,
        1,
        `no context leaked into ${t.id}: ${JSON.stringify(answered[0]!.allUserTexts)}`,
      );
      assert.equal(d.store.tailEvents(1000, { kindPrefix: "task.done" }).filter((e) => e.data.id === t.id).length, 1);
    }
    assert.equal(readdirSync(join(inbox, "processed")).length, 5);
    assert.ok(
      d.store.tailEvents(1000, { kindPrefix: "pool.session_reset" }).length >= 2,
      "sessions reset between tasks",
    );

    const list = await h.cli("tasks", "--json");
    assert.equal(list.code, 0, list.err);
    const rows = JSON.parse(list.out) as { id: string; state: string; session: string }[];
    assert.equal(rows.filter((r) => r.state === "done").length, 5);
    const one = await h.cli("task", done[0]!.id);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /state\s+done/);
    const st = JSON.parse((await h.cli("status", "--json")).out) as { tasks: { id: string }[] };
    assert.equal(st.tasks.length, 5);

    await waitFor(() => d.inbox.pool.views(new Set()).length === 0, 60_000, "pool back to min 0");
    await waitFor(() => !/auto-0/.test(h.tmux("ls").out), 10_000, "tmux sessions gone");
    assert.ok(!existsSync(join(inbox, "task-1.md")));
  });
});
