// The MCP tools over the SDK's in-memory linked transports, against a fake facade: which tools exist,
// and how failures come back (code and scrubbed message for expected ones, "internal error" for faults).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ControlApi } from "../../src/control/control-api.js";
import { buildMcpServer } from "../../src/control/mcp-server.js";
import { MUTATING_TOOLS, READ_TOOLS } from "../../src/control/mcp-tools.js";
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
  const api = new ControlApi(null as never, null as never, null as never, { now: () => 0 }, {});
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

  it("without the task inbox, inbox_enqueue and pool_scale are clean 'unavailable' errors", async () => {
    const { client, calls } = await connect(fakeApi(), true);
    const enq = await callTool(client, "inbox_enqueue", { prompt: "x" });
    assert.deepEqual([enq.isError, enq.text], [true, "unavailable: the task inbox is not available"]);
    const scale = await callTool(client, "pool_scale", { max: 2 });
    assert.deepEqual([scale.isError, scale.text], [true, "unavailable: the autonomous pool is not available"]);
    assert.deepEqual((await callTool(client, "tasks_list")).json, { tasks: [] });
    assert.match((await callTool(client, "task_get", { id: "t1" })).text, /^no_such_task: /);
    assert.deepEqual(calls, ["inbox_enqueue:error", "pool_scale:error", "tasks_list:ok", "task_get:error"]);
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
