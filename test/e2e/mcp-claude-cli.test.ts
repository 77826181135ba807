// The real Claude Code CLI, configured with the daemon's /mcp as an HTTP MCP server, calls
// sessions_list and inbox_enqueue during a turn: the stand-in API answers with tool_use blocks naming
// mcp__claude-failover__<tool>, the CLI calls the tool over HTTP with the bearer token, and sends the
// result back in the next request. The enqueued task then runs in the autonomous pool.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { CLAUDE_BIN, makeHarness, type Harness } from "../support/harness.js";
import { listenOf } from "../support/mcp-client.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { delay, waitFor } from "../support/wait.js";

const SERVER = "claude-failover";
const tool = (name: string) => `mcp__${SERVER}__${name}`;

type Msg = { role: string; content: unknown };

/** The tool_result blocks sent since the last assistant message (the CLI may add a user message after them). */
function toolResults(r: RecordedRequest): { content: unknown; is_error?: boolean }[] {
  const msgs = (r.body?.messages ?? []) as Msg[];
  const since = msgs.slice(msgs.map((m) => m.role).lastIndexOf("assistant") + 1);
  return since.flatMap((m) =>
    Array.isArray(m.content) ? m.content.filter((b: { type?: string }) => b.type === "tool_result") : [],
  );
}

function resultText(block: { content: unknown }): string {
  const c = block.content;
  if (typeof c === "string") return c;
  return Array.isArray(c) ? c.map((x: { text?: string }) => x.text ?? "").join("") : "";
}

describe("the real CLI calls the daemon's MCP tools", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let taskProject: string;
  const pane = () => h.tmux("capture-pane", "-p", "-t", "=dev:").out;

  before(async () => {
    h = await makeHarness({ accounts: 1, config: { mcp_http: { enable_trigger: true } } });
    taskProject = h.project("tasks");
    h.configObject.pool = { max: 1, project: taskProject, idle_timeout: "5m" };
    const mcpConfig = join(h.root, "mcp.json");
    writeFileSync(
      mcpConfig,
      JSON.stringify({
        mcpServers: {
          [SERVER]: { type: "http", url: `http://${listenOf(h)}/mcp`, headers: { Authorization: `Bearer ${h.token}` } },
        },
      }),
      { mode: 0o600 },
    );
    // --allowedTools: the calls run without a permission dialog, and only these two are pre-approved.
    (h.configObject.claude as Record<string, unknown>).args = [
      "--mcp-config",
      mcpConfig,
      "--allowedTools",
      `${tool("sessions_list")},${tool("inbox_enqueue")}`,
    ];
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  });
  after(async () => h?.cleanup());

  /**
   * Types `prompt` until a turn carries the MCP tool (the CLI connects to MCP servers in the background,
   * so its very first turn may not list them yet), and answers that turn with a call of `name`.
   * Resolves with the request that carried the tool's result.
   */
  async function callThroughCli(
    name: string,
    input: Record<string, unknown>,
    prompt: string,
  ): Promise<RecordedRequest> {
    const from = h.api.requests.length;
    h.api.setReplier((r) => {
      if (toolResults(r).length) return { text: `${prompt} handled` };
      if (!r.userText.endsWith(prompt)) return undefined;
      const offered = (r.body.tools as { name: string }[]).some((t) => t.name === tool(name));
      return offered ? { toolUse: { name: tool(name), input } } : { text: "MCP-NOT-READY" };
    });
    for (let attempt = 0; ; attempt++) {
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle before prompt");
      const mark = h.api.requests.length;
      h.tmux("send-keys", "-t", "=dev:", "-l", "--", prompt);
      await waitFor(() => pane().includes(prompt), 10_000, "typed");
      h.tmux("send-keys", "-t", "=dev:", "Enter");
      const turn = await h.api.waitForRequest((r) => r.isTurn && r.userText.endsWith(prompt), 30_000, mark);
      if ((turn.body.tools as { name: string }[]).some((t) => t.name === tool(name))) break;
      assert.ok(attempt < 10, "the CLI never offered the MCP tools");
      await delay(1000);
    }
    return h.api.waitForRequest((r) => r.isTurn && toolResults(r).length > 0, 60_000, from);
  }

  it("sessions_list: the CLI gets the daemon's view of its own session", async () => {
    const req = await callThroughCli("sessions_list", {}, "LIST-SESSIONS");
    const [block] = toolResults(req);
    assert.notEqual(block!.is_error, true, resultText(block!));
    const out = JSON.parse(resultText(block!)) as { sessions: { name: string; account: string; state: string }[] };
    assert.deepEqual(
      out.sessions.map((s) => s.name),
      ["dev"],
    );
    assert.equal(out.sessions[0]!.account, "a");
    assert.equal(out.sessions[0]!.state, "busy", "called in the middle of its own turn");
    await waitFor(() => pane().includes("LIST-SESSIONS handled"), 30_000, "the turn finished");
  });

  it("inbox_enqueue: the CLI queues a task, and the task runs", async () => {
    const prompt = "TASK-FROM-MCP: say hello";
    const req = await callThroughCli(
      "inbox_enqueue",
      { prompt, project: taskProject, id: "mcp-task-1" },
      "ENQUEUE-TASK",
    );
    const [block] = toolResults(req);
    assert.notEqual(block!.is_error, true, resultText(block!));
    const task = JSON.parse(resultText(block!)) as { id: string; state: string };
    assert.equal(task.id, "mcp-task-1");
    const ran = await h.api.waitForRequest((r) => r.isTurn && r.userText.includes(prompt), 90_000);
    assert.equal(ran.token, h.accountTokens.a);
    await waitFor(() => (d.api.taskGet("mcp-task-1") as { state: string }).state === "done", 90_000, "task done");
  });

  it("`claude mcp add` as docs/mcp.md says: `claude mcp list` connects with the token, not without", async () => {
    // A HOME of its own, so the running session's config is left alone. execFile, not spawnSync: the
    // daemon answering the health check runs in this process.
    const home = join(h.root, "mcp-add-home");
    mkdirSync(home, { recursive: true });
    const opts = {
      env: { ...process.env, HOME: home, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_AUTOUPDATER: "1" },
      cwd: home,
      timeout: 60_000,
    };
    const run = promisify(execFile);
    const url = `http://${listenOf(h)}/mcp`;
    await run(
      CLAUDE_BIN,
      ["mcp", "add", "--transport", "http", SERVER, url, "--header", `Authorization: Bearer ${h.token}`, "-s", "user"],
      opts,
    );
    await run(
      CLAUDE_BIN,
      [
        "mcp",
        "add",
        "--transport",
        "http",
        "cf-wrong-token",
        url,
        "--header",
        "Authorization: Bearer wrong-token-0123456789",
        "-s",
        "user",
      ],
      opts,
    );
    const { stdout } = await run(CLAUDE_BIN, ["mcp", "list"], opts);
    assert.match(stdout, new RegExp(`${SERVER}: .*Connected`));
    assert.match(stdout, /cf-wrong-token: .*Failed to connect/);
    assert.ok(!stdout.includes(h.token));
  });
});
