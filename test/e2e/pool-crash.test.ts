// Daemon SIGKILLed with pool tasks queued and running, then restarted: every task ends exactly once.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";

interface TaskJson {
  id: string;
  state: string;
  session: string | null;
  submittedAt: number | null;
  attempts: number;
  prompt: string;
}

describe("pool tasks across a daemon SIGKILL", { timeout: 300_000 }, () => {
  let h: Harness;
  let child: ChildProcess;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      dedicated: [],
      config: { pool: { max: 2, min: 0, idle_timeout: "60s" } },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
  });
  after(async () => h.cleanup());

  const tasks = async (): Promise<TaskJson[] | null> => {
    const r = await h.cli("tasks", "--json");
    return r.code === 0 ? (JSON.parse(r.out) as TaskJson[]) : null;
  };

  it("completes what finished while it was down, waits for what still runs, runs what was queued", async () => {
    child = await h.spawnDaemon();
    const inbox = join(h.root, "state", "inbox");
    const spool = join(h.root, "state", "spool");
    // Two run at once (max 2): one ends while the daemon is down, one only after it is back.
    dropFiles(inbox, [
      { name: "a-short.md", prompt: "SLOW:2000 crash short", front: { id: "short", priority: 10 } },
      { name: "b-long.md", prompt: "SLOW:20000 crash long", front: { id: "long", priority: 10 } },
      { name: "c-queued.md", prompt: "crash queued one", front: { id: "queued-1" } },
      { name: "d-queued.md", prompt: "crash queued two", front: { id: "queued-2" } },
    ]);
    await waitFor(
      async () => {
        const t = await tasks();
        return (
          t &&
          t.filter((x) => x.state === "running" && x.submittedAt).length === 2 &&
          t.filter((x) => x.state === "queued").length === 2
        );
      },
      90_000,
      "two running and submitted, two queued",
      200,
    );
    child.kill("SIGKILL");
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000, "daemon dead");

    // While it is down: the short turn ends (its Stop waits in the spool) and another file arrives.
    await waitFor(() => readdirSync(spool).some((f) => f.endsWith(".Stop.json")), 30_000, "a Stop spooled while down");
    dropFiles(inbox, [{ name: "e-while-down.md", prompt: "dropped while down", front: { id: "while-down" } }]);

    child = await h.spawnDaemon();
    const all = await waitFor(
      async () => {
        const t = await tasks();
        return t && t.length === 5 && t.every((x) => x.state === "done") ? t : null;
      },
      120_000,
      "all five done",
      250,
    );

    for (const t of all) {
      assert.equal(t.attempts, 1, `${t.id} ran once`);
      assert.ok(existsSync(join(h.root, "state", "outbox", `${t.id}.md`)), `outbox of ${t.id}`);
      const ok = h.api.turns().filter((r) => r.status === 200 && r.userText.endsWith(t.prompt));
      assert.equal(ok.length, 1, `${t.id} answered exactly once`);
    }
    const db = new Database(join(h.root, "state", "state.db"), { readonly: true });
    try {
      const ends = db
        .prepare("SELECT json_extract(data, '$.id') AS id, kind FROM events WHERE kind IN ('task.done', 'task.failed')")
        .all() as { id: string; kind: string }[];
      assert.deepEqual(
        ends.map((e) => e.id).sort(),
        ["long", "queued-1", "queued-2", "short", "while-down"],
        "each task ended exactly once",
      );
      const requeued = db.prepare("SELECT COUNT(*) AS n FROM events WHERE kind = 'task.requeued'").get() as {
        n: number;
      };
      assert.equal(requeued.n, 0, "nothing that was submitted was re-sent");
      const waited = db
        .prepare("SELECT json_extract(data, '$.id') AS id FROM events WHERE kind = 'task.awaiting_stop'")
        .all() as { id: string }[];
      assert.ok(
        waited.some((w) => w.id === "long"),
        "the long task was still running at the restart and was waited for",
      );
    } finally {
      db.close();
    }
  });
});

describe("pool task whose daemon died between dispatch and typing", { timeout: 300_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: { pool: { max: 1, min: 0, idle_timeout: "60s" } },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
  });
  after(async () => h.cleanup());

  it("queues it again at the restart and runs it once", async () => {
    h.env.CLAUDE_FAILOVER_FAULT_KILL_AT_DISPATCH = "1";
    const first = await h.spawnDaemon();
    dropFiles(join(h.root, "state", "inbox"), [
      { name: "resend.md", prompt: "sent after the restart", front: { id: "resend" } },
    ]);
    await waitFor(() => first.exitCode !== null || first.signalCode !== null, 90_000, "daemon killed at dispatch");
    delete h.env.CLAUDE_FAILOVER_FAULT_KILL_AT_DISPATCH;
    await h.spawnDaemon();
    const t = await waitFor(
      async () => {
        const r = await h.cli("task", "resend", "--json");
        const x = r.code === 0 ? (JSON.parse(r.out) as TaskJson) : null;
        return x?.state === "done" ? x : null;
      },
      120_000,
      "task done after the restart",
      250,
    );
    assert.equal(t.attempts, 2, "the interrupted dispatch counts as an attempt");
    assert.equal(
      h.api.turns().filter((r) => r.status === 200 && r.userText.endsWith("sent after the restart")).length,
      1,
      "answered exactly once",
    );
    const db = new Database(join(h.root, "state", "state.db"), { readonly: true });
    try {
      const kinds = (
        db.prepare("SELECT kind FROM events WHERE json_extract(data, '$.id') = 'resend' ORDER BY id").all() as {
          kind: string;
        }[]
      ).map((e) => e.kind);
      assert.deepEqual(
        kinds.filter((k) => k !== "task.submitted"),
        ["task.queued", "task.dispatched", "task.requeued", "task.dispatched", "task.done"],
      );
    } finally {
      db.close();
    }
  });
});
