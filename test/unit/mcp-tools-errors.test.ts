// The MCP tools over the SDK's in-memory linked transports, against a fake facade: which tools exist,
// and how failures come back (code and scrubbed message for expected ones, "internal error" for faults).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ControlApi } from "../../src/control/control-api.js";
import { buildMcpServer } from "../../src/control/mcp-server.js";
import { DEPRECATED_TOOLS, MUTATING_TOOLS, READ_TOOLS } from "../../src/control/mcp-tools.js";
import { ManualClock } from "../../src/util/clock.js";
import { CfError } from "../../src/util/errors.js";
import { createLogger } from "../../src/util/log.js";
import { callTool } from "../support/mcp-client.js";

const TOKEN = "tok-abcdef0123456789abcdef";

async function connect(api: ControlApi, enableTrigger: boolean) {
  let logs = "";
  const log = createLogger("trace", new Writable({ write: (c: Buffer, _e, cb) => ((logs += c.toString()), cb()) }));
  const calls: string[] = [];
  const server = buildMcpServer(api, {
    triggersEnabled: () => enableTrigger,
    token: () => TOKEN,
    log,
    version: "test",
    onCall: (t, o) => calls.push(`${t}:${o}`),
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: "unit", version: "1" });
  await client.connect(b);
  return { client, calls, logs: () => logs };
}

/** A facade whose collaborators are never reached: only plugins and the methods patched here run. */
function fakeApi(patch: Partial<Record<keyof ControlApi, unknown>> = {}): ControlApi {
  const api = new ControlApi({
    store: null as never,
    sessions: null as never,
    pane: null as never,
    accounts: null as never,
    clock: new ManualClock(0),
    plugins: {},
  });
  return Object.assign(api, patch);
}

describe("MCP tools over in-memory transports", () => {
  it("read tools only without triggers; all of them with", async () => {
    const off = await connect(fakeApi(), false);
    assert.deepEqual(
      (await off.client.listTools()).tools.map((t) => t.name),
      READ_TOOLS,
    );
    const on = await connect(fakeApi(), true);
    assert.deepEqual(
      (await on.client.listTools()).tools.map((t) => t.name),
      [...READ_TOOLS, ...MUTATING_TOOLS],
    );
    const readOnly = (await on.client.listTools()).tools.filter((t) => t.annotations?.readOnlyHint).map((t) => t.name);
    assert.deepEqual(readOnly, READ_TOOLS);
  });

  it("without the task inbox, task_enqueue and pool_scale are clean 'unavailable' errors", async () => {
    const { client, calls } = await connect(fakeApi(), true);
    const enq = await callTool(client, "task_enqueue", { prompt: "x" });
    assert.deepEqual([enq.isError, enq.text], [true, "unavailable: the task inbox is not available"]);
    const scale = await callTool(client, "pool_scale", { max: 2 });
    assert.deepEqual([scale.isError, scale.text], [true, "unavailable: the pool is not available"]);
    assert.deepEqual((await callTool(client, "tasks_list")).json, { tasks: [] });
    assert.match((await callTool(client, "task_get", { id: "t1" })).text, /^no_such_task: /);
    assert.deepEqual(calls, ["task_enqueue:error", "pool_scale:error", "tasks_list:ok", "task_get:error"]);
  });

  it("old tool names still work, each call warned about in the log; new and old reach the same facade", async () => {
    const seen: string[] = [];
    const api = fakeApi({
      plugins: {
        account: (name: string, action: string) => (seen.push(`${action} ${name}`), { ok: true, account: name }),
        tasks: { enqueue: (i: { prompt: string }) => (seen.push(`enqueue ${i.prompt}`), { id: "t" }) },
      },
    });
    const { client, logs } = await connect(api, true);
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const [old, instead] of Object.entries(DEPRECATED_TOOLS)) {
      assert.ok(names.includes(old), old);
      const desc = (await client.listTools()).tools.find((t) => t.name === old)?.description ?? "";
      assert.match(desc, new RegExp(`^Deprecated: use ${instead.split(" ")[0]}`));
    }
    for (const [tool, args] of [
      ["account_enable", { account: "a" }],
      ["account_disable", { account: "a" }],
      ["task_enqueue", { prompt: "new" }],
    ] as const)
      assert.equal((await callTool(client, tool, args)).isError, false, tool);
    assert.ok(!logs().includes("deprecated"), "new names are not warned about");
    assert.equal((await callTool(client, "account_set", { account: "b", action: "disable" })).isError, false);
    assert.equal((await callTool(client, "inbox_enqueue", { prompt: "old" })).isError, false);
    assert.deepEqual(seen, ["enable a", "disable a", "enqueue new", "disable b", "enqueue old"]);
    assert.match(logs(), /MCP tool account_set is deprecated: use account_enable \/ account_disable/);
    assert.match(logs(), /MCP tool inbox_enqueue is deprecated: use task_enqueue/);
    assert.equal((await callTool(client, "account_enable", { account: "a", action: "enable" })).isError, true);
  });

  it("an expected failure keeps its code; its message loses tokens and paths", async () => {
    const api = fakeApi({
      sessionsList: () => {
        throw new CfError(
          "conflict",
          `busy with ${TOKEN} at /home/u/.claude/.credentials.json, token sk-ant-oat01-secret_1`,
        );
      },
    });
    const r = await callTool((await connect(api, false)).client, "sessions_list");
    assert.equal(r.isError, true);
    assert.equal(r.text, "conflict: busy with [redacted] at [path], token sk-ant-[redacted]");
  });

  it("a fault is 'internal error' to the caller, logged without the token, and the server keeps going", async () => {
    const api = fakeApi({
      accountsList: () => {
        throw new TypeError(`cannot read x of undefined (token ${TOKEN})`);
      },
    });
    const { client, logs } = await connect(api, false);
    const r = await callTool(client, "accounts_list");
    assert.deepEqual([r.isError, r.text], [true, "internal: internal error; see the daemon log"]);
    assert.match(logs(), /mcp tool fault/);
    assert.ok(!logs().includes(TOKEN));
    assert.ok(!r.text.includes("TypeError"));
    assert.equal((await callTool(client, "nope")).isError, true);
  });

  it("arguments are validated before the facade runs", async () => {
    let ran = 0;
    const api = fakeApi({ sessionGet: async () => (ran++, {}) });
    const { client } = await connect(api, false);
    for (const args of [
      {},
      { session: "" },
      { session: 5 },
      { session: "x".repeat(65) },
      { session: "dev", lines: 0 },
      { session: "dev", lines: 1.5 },
      { session: "dev", x: 1 },
    ]) {
      const r = await callTool(client, "session_get", args);
      assert.equal(r.isError, true, JSON.stringify(args));
    }
    assert.equal(ran, 0);
    assert.equal((await callTool(client, "session_get", { session: "dev", lines: 500 })).isError, false);
    assert.equal(ran, 1);
  });
});
