// A pool task waiting on a person (issue 18 points 3 and 4), real CLI against the stand-in, real tmux: the
// pool runs with pool.permission_mode `default` over a global claude.permission_mode `acceptEdits`
// (which would write files without asking), so a Write the model asks for opens the CLI's permission dialog.
// The task then shows `waiting` with the question (CLI `tasks`, MCP tasks_list) and a notification goes out;
// `task answer ID yes` runs the tool and the task is done; MCP task_answer `no` rejects it and the task still
// finishes; `task answer` on a task not waiting is refused and types nothing.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Daemon } from "../../src/daemon.js";
import { inputBoxText } from "../../src/sessions/cli-input.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callOk, callTool, connectMcp, listenOf } from "../support/mcp-client.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { waitFor } from "../support/wait.js";

function toolResult(r: RecordedRequest): string | null {
  const last = (r.body?.messages as { content?: unknown }[] | undefined)?.at(-1);
  if (!Array.isArray(last?.content)) return null;
  const b = (last.content as { type?: string; content?: unknown }[]).find((x) => x.type === "tool_result");
  return b ? JSON.stringify(b.content) : null;
}

describe("pool task waiting on a permission dialog", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let c: Client;
  let hook: Server;
  const notes: Record<string, unknown>[] = [];
  let work: string;

  before(async () => {
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (x: Buffer) => (body += x.toString()));
      req.on("end", () => {
        try {
          notes.push(JSON.parse(body) as Record<string, unknown>);
        } catch {
          /* not ours */
        }
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
    const port = (hook.address() as { port: number }).port;
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: {
        claude: { permission_mode: "acceptEdits" },
        pool: { max: 1, min: 1, permission_mode: "default" },
        mcp_http: { enable_trigger: true },
        notify: { targets: [{ kind: "webhook", url: `http://127.0.0.1:${port}/hook`, events: ["task.waiting"] }] },
      },
    });
    work = h.project("work");
    (h.configObject.pool as Record<string, unknown>).project = work;
    h.writeConfig();
    h.api.setReplier((r) => {
      // After a "no" the daemon's note comes in one user message with the rejected call's tool_result.
      if (r.userText.includes("The operator answered no")) return undefined;
      const res = toolResult(r);
      if (res !== null) return { text: `TOOL RESULT: ${res.slice(0, 200)}` };
      const m = /WRITE-FILE (\S+)/.exec(r.userText);
      if (m)
        return { toolUse: { name: "Write", input: { file_path: join(work, m[1]!), content: `written by ${m[1]}\n` } } };
      return undefined;
    });
    d = await h.start();
    await waitFor(() => d.sessions.get("auto-01")?.state === "idle", 60_000, "auto-01 idle");
    c = await connectMcp(listenOf(h), { authorization: `Bearer ${h.token}` });
  });
  after(async () => {
    await c?.close().catch(() => {});
    await h?.cleanup();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
  });

  const enqueue = async (id: string, prompt: string) => {
    const f = join(h.root, `${id}.md`);
    writeFileSync(f, `---\nid: ${id}\n---\n${prompt}\n`);
    const r = await h.cli("enqueue", f);
    assert.equal(r.code, 0, r.err);
  };
  const ended = (id: string) =>
    waitFor(
      () => {
        const t = d.inbox.tasks.get(id);
        return t && t.state !== "queued" && t.state !== "running" ? t : null;
      },
      60_000,
      `${id} ended`,
    );
  const pane = () => h.tmux("capture-pane", "-p", "-t", "=auto-01:").out;

  it("the pool session runs with the pool's permission mode, not the global one", () => {
    const cmd = h.tmux("display-message", "-p", "-t", "=auto-01:", "#{pane_start_command}").out;
    assert.match(cmd, /--permission-mode default/);
    assert.doesNotMatch(cmd, /acceptEdits/);
  });

  it("waiting with the question; task answer yes runs the tool and the task is done", async () => {
    await enqueue("w-yes", "WRITE-FILE yes.txt please");
    await waitFor(
      () =>
        d.inbox
          .plugin()
          .list()
          .find((t) => (t as { id: string }).id === "w-yes" && (t as { state: string }).state === "waiting") ?? null,
      30_000,
      "w-yes waiting",
    );
    const list = await h.cli("tasks");
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /w-yes +waiting/);
    const shown =
      /w-yes waiting since .* on: .*yes\.txt.*\n {2}answer: claude-failover task answer w-yes yes\|no --since (\d+)/.exec(
        list.out,
      );
    assert.ok(shown, list.out);
    const viaMcp = await callOk<{ tasks: { id: string; state: string; waiting: { question: string } | null }[] }>(
      c,
      "tasks_list",
      { state: "waiting" },
    );
    assert.deepEqual(
      viaMcp.tasks.map((t) => t.id),
      ["w-yes"],
    );
    assert.match(viaMcp.tasks[0]!.waiting!.question, /yes\.txt/);
    assert.equal(existsSync(join(work, "yes.txt")), false, "nothing written before the answer");
    const note = await waitFor(
      () => notes.find((n) => n.event === "task.waiting") ?? null,
      20_000,
      "task.waiting notification",
    );
    assert.match(String(note.text), /task answer w-yes yes\|no/);

    // An answer for a wait other than the one shown (an older since) is refused, nothing pressed.
    const stale = await h.cli("task", "answer", "w-yes", "yes", "--since", String(Number(shown[1]) - 1));
    assert.notEqual(stale.code, 0);
    assert.match(stale.err, /waits on another dialog now/);
    assert.equal(existsSync(join(work, "yes.txt")), false, "nothing written on a refused answer");
    const r = await h.cli("task", "answer", "w-yes", "yes", "--since", shown[1]!);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^answered yes \(Yes\): w-yes, /);
    const t = await ended("w-yes");
    assert.equal(t.state, "done", `${t.state}: ${t.error}`);
    assert.equal(readFileSync(join(work, "yes.txt"), "utf8"), "written by yes.txt\n");
    assert.match(t.result ?? "", /^TOOL RESULT: /);
    const kinds = d.store
      .tailEvents(500)
      .filter((e) => e.data.id === "w-yes")
      .map((e) => e.kind);
    assert.ok(kinds.includes("task.waiting") && kinds.includes("task.answered"), kinds.join(","));
  });

  it("task answer on a task not waiting is refused; nothing is typed", async () => {
    const done = await h.cli("task", "answer", "w-yes", "yes");
    assert.notEqual(done.code, 0);
    assert.match(done.err, /task w-yes is done, not waiting on a permission dialog: nothing was answered/);
    assert.match((await callTool(c, "task_answer", { id: "nope", answer: "yes" })).text, /^no_such_task/);
    assert.match(
      (await callTool(c, "task_answer", { id: "w-yes", answer: "maybe" })).text,
      /expected one of "yes"\|"no"/,
    );
    await enqueue("slow-3", "SLOW:6000 a slow one");
    await waitFor(() => d.inbox.tasks.get("slow-3")?.submittedAt ?? null, 30_000, "slow-3 submitted");
    const busy = await h.cli("task", "answer", "slow-3", "no");
    assert.notEqual(busy.code, 0);
    assert.match(busy.err, /task slow-3 is running, not waiting on a permission dialog/);
    assert.equal(inputBoxText(pane()).replace(/[❯\s\u00a0]/gu, ""), "", "no key reached the input box");
    const t = await ended("slow-3");
    assert.equal(t.state, "done", `${t.state}: ${t.error}`);
    assert.match(t.result ?? "", /ANSWER: [\s\S]*a slow one/);
  });

  it("task_answer no over MCP rejects the tool; the model is told and the task still finishes", async () => {
    await enqueue("w-no", "WRITE-FILE no.txt please");
    await waitFor(
      () => d.inbox.dispatcher.waits.get("w-no")?.paneQuestion ?? null,
      30_000,
      "w-no waiting, read from the pane",
    );
    const a = await callOk<{ id: string; state: string; answered: string; option: string }>(c, "task_answer", {
      id: "w-no",
      answer: "no",
    });
    assert.deepEqual([a.id, a.answered, a.option], ["w-no", "no", "No"]);
    const t = await ended("w-no");
    assert.equal(t.state, "done", `${t.state}: ${t.error}`);
    assert.equal(existsSync(join(work, "no.txt")), false, "the tool was denied");
    assert.match(t.result ?? "", /ANSWER: [\s\S]*The operator answered no to the permission request/);
    // The model got the rejection and the note in one message (the CLI sent no request of its own after the no).
    const turn = h.api.turns().find((r) => r.userText.includes("The operator answered no"))!;
    assert.match(toolResult(turn) ?? "", /doesn't want to proceed with this tool use/);
    assert.ok(!d.store.tailEvents(500).some((e) => e.kind === "task.retry" && e.data.id === "w-no"), "not retried");
  });
});
