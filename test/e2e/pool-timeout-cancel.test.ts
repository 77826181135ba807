// Task timeouts and cancel (issue 18 point 2), real CLI against the stand-in, real tmux: a `timeout: 3s`
// task whose answer takes 20 s becomes timed_out within a few seconds of the limit, and the next task runs
// on the same session from a cleared conversation; `task cancel` of a queued task removes it, of a running
// one interrupts its turn (CLI `task cancel`, MCP `task_cancel`); the session then runs the next task.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callOk, callTool, connectMcp, listenOf } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

describe("task timeouts and cancel", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let c: Client;
  before(async () => {
    // startOnePool's setup, with the HTTP triggers (and so the MCP task_cancel tool) on
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: { pool: { max: 1, min: 1 }, mcp_http: { enable_trigger: true } },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    h.writeConfig();
    d = await h.start();
    await waitFor(() => d.sessions.get("auto-01")?.state === "idle", 60_000, "auto-01 idle");
    c = await connectMcp(listenOf(h), { authorization: `Bearer ${h.token}` });
  });
  after(async () => {
    await c?.close().catch(() => {});
    await h.cleanup();
  });

  const enqueue = async (id: string, prompt: string, front = "") => {
    const f = join(h.root, `${id}.md`);
    writeFileSync(f, `---\nid: ${id}\n${front}---\n${prompt}\n`);
    const r = await h.cli("enqueue", f);
    assert.equal(r.code, 0, r.err);
  };
  const ended = (id: string) =>
    waitFor(
      () => {
        const t = d.inbox.tasks.get(id);
        return t && t.state !== "queued" && t.state !== "running" ? t : null;
      },
      45_000,
      `${id} ended`,
    );

  it("times a slow task out and runs the next one on the same session", async () => {
    await enqueue("slow-1", "SLOW:20000 the slow one", "timeout: 3s\npriority: 5\n");
    await enqueue("next-1", "the next one");
    const t = await ended("slow-1");
    assert.equal(t.state, "timed_out", `${t.state}: ${t.error}`);
    assert.match(t.error ?? "", /timed out after 3s/);
    const ms = t.endedAt! - t.startedAt!;
    assert.ok(ms >= 3000 && ms < 6000, `ended ${ms} ms after it started`);
    const n = await ended("next-1");
    assert.equal(n.state, "done", `${n.state}: ${n.error}`);
    assert.equal(n.session, t.session, "same session");
    assert.match(
      n.result ?? "",
      /^ANSWER: [\s\S]*<command-name>\/clear<\/command-name>[\s\S]*the next one\s*$/,
      "answered after a /clear",
    );
    const turn = h.api.turns().find((r) => r.status === 200 && r.userText.includes("the next one"))!;
    assert.ok(!turn.allUserTexts.join("\n").includes("the slow one"), "the conversation was cleared after the timeout");
    const kinds = d.store
      .tailEvents(500)
      .filter((e) => e.data.id === "slow-1")
      .map((e) => e.kind);
    assert.ok(kinds.includes("task.timed_out"), kinds.join(","));
    const list = await h.cli("tasks", "--state", "timed_out");
    assert.match(list.out, /slow-1 +timed_out/);
  });

  it("cancels a queued task and a running one", async () => {
    await enqueue("run-2", "SLOW:20000 running to cancel", "priority: 5\n");
    await enqueue("queued-2", "queued to cancel");
    await waitFor(() => d.inbox.tasks.get("run-2")?.submittedAt ?? null, 30_000, "run-2 submitted");
    assert.equal(d.inbox.tasks.get("queued-2")!.state, "queued", "one session: the second waits");
    const q = await callOk<{ id: string; state: string; was: string }>(c, "task_cancel", { id: "queued-2" });
    assert.deepEqual([q.id, q.state, q.was], ["queued-2", "cancelled", "queued"]);
    const started = Date.now();
    const r = await h.cli("task", "cancel", "run-2");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /cancelled: run-2 \(was running\)/);
    assert.ok(Date.now() - started < 8000, "cancel returns once the turn is interrupted");
    assert.equal(d.inbox.tasks.get("run-2")!.state, "cancelled");
    assert.equal(d.inbox.tasks.get("queued-2")!.state, "cancelled");
    assert.equal(d.inbox.tasks.get("queued-2")!.startedAt, null, "never ran");
    const again = await h.cli("task", "cancel", "run-2");
    assert.notEqual(again.code, 0);
    assert.match(again.err, /already cancelled/);
    assert.match(
      (await callTool(c, "task_cancel", { id: "queued-2" })).text,
      /^conflict: task queued-2 is already cancelled/,
    );
    assert.match((await callTool(c, "task_cancel", { id: "nope" })).text, /^no_such_task/);
    await enqueue("after-2", "after the cancel");
    const a = await ended("after-2");
    assert.equal(a.state, "done", `${a.state}: ${a.error}`);
    assert.equal(a.session, d.inbox.tasks.get("run-2")!.session);
    assert.ok(
      !h.api.turns().some((t) => t.status === 200 && t.userText.includes("queued to cancel")),
      "the cancelled queued task never reached the model",
    );
  });
});
