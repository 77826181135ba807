// /mcp with the SDK's own client over real HTTP against a daemon running the real CLI: the tool list
// follows enable_trigger, and every tool's answer matches the daemon's state.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { MUTATING_TOOLS, READ_TOOLS } from "../../src/control/mcp-tools.js";
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callOk, callTool, connectMcp, listenOf } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

type SessionOut = {
  name: string;
  state: string;
  account: string;
  lastSwap: { from: string; to: string; outcome: string; durationMs: number } | null;
  pane?: string;
};

async function setup(enableTrigger: boolean): Promise<{ h: Harness; d: Daemon; c: Client }> {
  const h = await makeHarness({ accounts: 2, config: { mcp_http: { enable_trigger: enableTrigger } } });
  const d = await h.start();
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  const c = await connectMcp(listenOf(h), { authorization: `Bearer ${h.token}` });
  return { h, d, c };
}

describe("MCP tools, triggers off", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let c: Client;
  before(async () => ({ h, d, c } = await setup(false)));
  after(async () => {
    await c?.close();
    await h?.cleanup();
  });

  it("lists the read tools only", async () => {
    const names = (await c.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, [...READ_TOOLS].sort());
    for (const m of MUTATING_TOOLS) assert.ok(!names.includes(m), m);
  });

  it("sessions_list and session_get agree with the daemon", async () => {
    const { sessions } = await callOk<{ sessions: SessionOut[] }>(c, "sessions_list");
    assert.deepEqual(
      sessions.map((s) => s.name),
      d.sessions.list().map((s) => s.name),
    );
    const row = d.sessions.get("dev")!;
    assert.equal(sessions[0]!.state, row.state);
    assert.equal(sessions[0]!.account, row.account);
    const one = await callOk<SessionOut>(c, "session_get", { session: "dev", lines: 500 });
    assert.equal(one.account, "a");
    assert.equal(one.lastSwap, null);
    assert.match(one.pane ?? "", /Claude Code/, "the pane's banner");
    const tail = await callOk<SessionOut>(c, "session_get", { session: "dev", lines: 3 });
    assert.ok((tail.pane ?? "").split("\n").length <= 3);
  });

  it("accounts_list and quota_status agree with the daemon", async () => {
    const { accounts } = await callOk<{
      accounts: { name: string; state: string; sessions: string[]; usage: unknown }[];
    }>(c, "accounts_list");
    assert.deepEqual(
      accounts.map((a) => a.name),
      ["a", "b"],
    );
    for (const a of accounts) assert.equal(a.state, d.accounts.row(a.name).state);
    assert.deepEqual(accounts.find((a) => a.name === "a")!.sessions, ["dev"]);
    const q = await callOk<{ accounts: { name: string; state: string; usage: unknown }[] }>(c, "quota_status", {
      account: "b",
    });
    assert.deepEqual(
      q.accounts.map((a) => a.name),
      ["b"],
    );
    assert.equal(q.accounts[0]!.state, d.accounts.row("b").state);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed (tsc fails without it): `{} | null` to an all-optional shape
    const usage = d.api.accountsList().find((a) => a.name === "b")!.usage as { fetchedAt?: number } | null;
    assert.equal((q.accounts[0]!.usage as { fetchedAt?: number } | null)?.fetchedAt, usage?.fetchedAt);
    const none = await callTool(c, "quota_status", { account: "zz" });
    assert.equal(none.isError, true);
    assert.match(none.text, /^no_such_account: /);
  });

  it("tasks_list, task_get and events_tail agree with the daemon", async () => {
    assert.deepEqual(
      (await callOk<{ tasks: unknown[] }>(c, "tasks_list")).tasks,
      JSON.parse(JSON.stringify(d.api.tasksList())),
    );
    const missing = await callTool(c, "task_get", { id: "no-such-task" });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /^no_such_task: /);
    const { events } = await callOk<{ events: { id: number; kind: string }[] }>(c, "events_tail", { n: 5 });
    assert.ok(events.length === 5 && events.every((e, i) => i === 0 || e.id > events[i - 1]!.id), "oldest first");
    assert.ok(events.every((e) => d.store.tailEvents(1000).some((x) => x.id === e.id && x.kind === e.kind)));
    const started = await callOk<{ events: { kind: string }[] }>(c, "events_tail", { kind_prefix: "daemon." });
    assert.deepEqual(
      started.events.map((e) => e.kind),
      ["daemon.started"],
    );
  });

  it("the tool list follows the trigger switch live (as a SIGHUP reload flips it)", async () => {
    d.http.update({ enableTrigger: true });
    try {
      const names = (await c.listTools()).tools.map((t) => t.name);
      assert.ok(MUTATING_TOOLS.every((m) => names.includes(m)));
    } finally {
      d.http.update({ enableTrigger: false });
    }
    assert.ok(!(await c.listTools()).tools.some((t) => MUTATING_TOOLS.includes(t.name)));
  });

  it("a mutating tool is unknown while triggers are off, and nothing changes", async () => {
    const r = await callTool(c, "session_swap", { session: "dev", to: "b" });
    assert.equal(r.isError, true);
    assert.match(r.text, /session_swap not found/);
    assert.equal(d.store.listSwaps().length, 0);
    assert.equal(d.sessions.get("dev")!.account, "a");
  });
});

describe("MCP tools, triggers on", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let c: Client;
  before(async () => ({ h, d, c } = await setup(true)));
  after(async () => {
    await c?.close();
    await h?.cleanup();
  });

  it("lists read and mutating tools", async () => {
    const names = (await c.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, [...READ_TOOLS, ...MUTATING_TOOLS].sort());
  });

  it("session_send types the prompt literally and the CLI takes it", async () => {
    const text = "mcp says: it's $HOME `x` & done";
    assert.deepEqual(await callOk(c, "session_send", { session: "dev", text }), { ok: true, session: "dev" });
    await h.api.waitForRequest((r) => r.isTurn && r.userText === text, 30_000);
    assert.equal(d.sessions.get("dev")!.lastPrompt, text);
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle again");
  });

  it("session_checkpoint writes a checkpoint", async () => {
    const r = await callOk<{ ok: boolean; path: string; takenAt: number }>(c, "session_checkpoint", { session: "dev" });
    assert.equal(r.ok, true);
    assert.ok(existsSync(r.path));
    assert.equal(d.checkpoints.latest("dev")!.takenAt, r.takenAt);
  });

  it("session_swap moves the session to b, and session_get shows the swap", async () => {
    const r = await callOk<{ ok: boolean; to: string; from: string }>(c, "session_swap", {
      session: "dev",
      to: "b",
      reason: "mcp test",
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.to, "b");
    assert.equal(d.sessions.get("dev")!.account, "b");
    const s = await callOk<SessionOut>(c, "session_get", { session: "dev" });
    assert.equal(s.account, "b");
    assert.deepEqual(
      { from: s.lastSwap!.from, to: s.lastSwap!.to, outcome: s.lastSwap!.outcome },
      { from: "a", to: "b", outcome: "ok" },
    );
    assert.deepEqual(
      (s.lastSwap as unknown as { steps: { step: string }[] }).steps.map((x) => x.step),
      d.store.lastSwap("dev")!.steps.map((x) => x.step),
    );
    const listed = (await callOk<{ sessions: SessionOut[] }>(c, "sessions_list")).sessions[0]!;
    assert.deepEqual([listed.lastSwap!.to, listed.lastSwap!.outcome, "steps" in listed.lastSwap!], ["b", "ok", false]);
    const again = await callTool(c, "session_swap", { session: "dev", to: "b" });
    assert.equal(again.isError, true);
    assert.match(again.text, /^conflict: session is already on b/);
    const nobody = await callTool(c, "session_swap", { session: "dev", to: "zz" });
    assert.match(nobody.text, /^no_such_account: /);
  });

  it("session_restart relaunches the CLI", async () => {
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle before restart");
    const pid = h.tmux("display-message", "-p", "-t", "=dev:", "#{pane_pid}").out.trim();
    assert.deepEqual(await callOk(c, "session_restart", { session: "dev" }), { ok: true, session: "dev" });
    await waitFor(
      () => h.tmux("display-message", "-p", "-t", "=dev:", "#{pane_pid}").out.trim() !== pid,
      30_000,
      "new pane process",
    );
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle after restart");
  });

  it("account_disable and account_enable; the deprecated account_set still works", async () => {
    assert.equal((await callOk<{ state: string }>(c, "account_disable", { account: "a" })).state, "disabled");
    assert.equal(d.accounts.row("a").state, "disabled");
    assert.equal((await callOk<{ state: string }>(c, "account_enable", { account: "a" })).state, "active");
    assert.equal(
      (await callOk<{ state: string }>(c, "account_set", { account: "a", action: "disable" })).state,
      "disabled",
    );
    assert.equal(
      (await callOk<{ state: string }>(c, "account_set", { account: "a", action: "enable" })).state,
      "active",
    );
  });

  it("task_enqueue, tasks_list, task_get and pool_scale with the task inbox", async () => {
    assert.ok(d.api.plugins.tasks, "the daemon wires the task inbox into the facade");
    // The pool's max is 0 here, so the task stays queued and no CLI is started for it.
    const q = await callOk<{ id: string; state: string }>(c, "task_enqueue", {
      prompt: "queued over MCP",
      project: h.project("dev"),
      id: "mcp-t1",
      priority: 5,
    });
    assert.deepEqual([q.id, q.state], ["mcp-t1", "queued"]);
    const { tasks } = await callOk<{ tasks: { id: string; state: string }[] }>(c, "tasks_list");
    assert.deepEqual(tasks, JSON.parse(JSON.stringify(d.api.tasksList())));
    assert.ok(tasks.some((x) => x.id === "mcp-t1"));
    assert.deepEqual((await callOk<{ tasks: unknown[] }>(c, "tasks_list", { state: "done" })).tasks, []);
    const one = await callOk<{ id: string; prompt: string; priority: number }>(c, "task_get", { id: "mcp-t1" });
    assert.deepEqual([one.id, one.prompt, one.priority], ["mcp-t1", "queued over MCP", 5]);
    const dup = await fetch(`http://${listenOf(h)}/trigger/enqueue`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "queued over MCP", project: h.project("dev"), id: "mcp-t1" }),
    });
    assert.equal(
      ((await dup.json()) as { duplicate?: boolean }).duplicate,
      true,
      "the route sees the task the tool queued",
    );
    assert.deepEqual(await callOk(c, "pool_scale", { min: 0, max: 0 }), { ok: true, min: 0, max: 0 });
    const bad = await callTool(c, "pool_scale", { min: 3, max: 1 });
    assert.match(bad.text, /^invalid_input: min \(3\) must not be above max \(1\)/);
  });

  it("tool and /trigger/* give the same answer for the same request (one facade)", async () => {
    const viaTool = await callTool(c, "session_checkpoint", { session: "ghost" });
    const r = await fetch(`http://${listenOf(h)}/trigger/checkpoint`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify({ session: "ghost" }),
    });
    const viaRoute = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 404);
    assert.equal(viaTool.text, `${viaRoute.error.code}: ${viaRoute.error.message}`);
  });

  it("schema errors are MCP tool errors", async () => {
    for (const [tool, args] of [
      ["session_send", { session: "dev", text: 5 }],
      ["session_send", { session: "dev" }],
      ["session_swap", { session: "dev", urgent: "yes" }],
      ["pool_scale", { max: -1 }],
      ["session_get", { session: "dev", lines: 10_000 }],
      ["session_restart", { session: "dev", extra: 1 }],
    ] as const) {
      const r = await callTool(c, tool, args);
      assert.equal(r.isError, true, `${tool} ${JSON.stringify(args)}`);
      assert.match(r.text, /validation|Invalid/i);
    }
  });
});
