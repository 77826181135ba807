// The stand-in Anthropic API over real HTTP: JSON and SSE replies, rate-limit headers, per-token
// caps (429), the usage endpoint and its failure modes, scripted tool_use replies.
import { describe, it, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startStandInApi, type StandInApi, type RecordedRequest } from "../support/stand-in-api.js";

/** A User-Agent the usage endpoint accepts (the real one answers only claude-code/<version>). */
const CLIENT_UA = "claude-code/2.1.197";

const TOOLS = [
  {
    name: "Bash",
    description: "run a command",
    input_schema: { type: "object", properties: { command: { type: "string" } } },
  },
];

interface SseEvent {
  event: string;

  data: any;
}

function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const chunk of text.split("\n\n")) {
    if (!chunk.trim()) continue;
    let event = "";
    let data = "";
    for (const line of chunk.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    out.push({ event, data: JSON.parse(data) });
  }
  return out;
}

describe("stand-in API", () => {
  let api: StandInApi;
  let n = 0;
  const token = (): string => `sk-ant-oat01-test-${++n}`;

  before(async () => {
    api = await startStandInApi();
  });
  after(async () => {
    await api.close();
  });
  beforeEach(() => {
    api.setReplier(undefined);
    api.setUsageMode("ok");
  });

  async function messages(
    tok: string,
    body: Record<string, any>,
    auth: "bearer" | "x-api-key" = "bearer",
  ): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": "2023-06-01" };
    if (auth === "bearer") headers.authorization = `Bearer ${tok}`;
    else headers["x-api-key"] = tok;
    return fetch(`${api.url}/v1/messages?beta=true`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "claude-test", max_tokens: 100, ...body }),
    });
  }
  const turn = (tok: string, text: string, stream = false): Promise<Response> =>
    messages(tok, { tools: TOOLS, stream, messages: [{ role: "user", content: [{ type: "text", text }] }] });

  it("answers HEAD / and GET / with 200", async () => {
    assert.equal((await fetch(`${api.url}/`, { method: "HEAD" })).status, 200);
    assert.equal((await fetch(`${api.url}/`)).status, 200);
    assert.equal((await fetch(`${api.url}/nope`)).status, 404);
  });

  it("answers a JSON turn with ANSWER: <text>, the unified headers, and records it", async () => {
    const tok = token();
    const before = api.requests.length;
    const res = await messages(
      tok,
      { tools: TOOLS, messages: [{ role: "user", content: "hello there" }] },
      "x-api-key",
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      type: string;
      role: string;
      content: Array<{ type: string; text: string }>;
      stop_reason: string;
      usage: { output_tokens: number };
    };
    assert.equal(body.type, "message");
    assert.equal(body.role, "assistant");
    assert.deepEqual(body.content, [{ type: "text", text: "ANSWER: hello there" }]);
    assert.equal(body.stop_reason, "end_turn");
    assert.ok(body.usage.output_tokens > 0);
    assert.equal(res.headers.get("anthropic-ratelimit-unified-status"), "allowed");
    assert.equal(res.headers.get("anthropic-ratelimit-unified-representative-claim"), "five_hour");
    assert.equal(res.headers.get("anthropic-ratelimit-unified-5h-utilization"), "0");
    for (const h of ["5h-reset", "7d-reset", "reset"]) {
      const v = Number(res.headers.get(`anthropic-ratelimit-unified-${h}`));
      assert.ok(v > Date.now() / 1000, `${h} is a future epoch second`);
    }
    assert.ok(res.headers.get("anthropic-ratelimit-unified-7d-utilization") !== null);
    const rec = api.requests[before];
    assert.ok(rec);
    assert.equal(rec.path, "/v1/messages?beta=true");
    assert.equal(rec.method, "POST");
    assert.equal(rec.token, tok);
    assert.equal(rec.isTurn, true);
    assert.equal(rec.status, 200);
    assert.equal(rec.userText, "hello there");
    assert.equal(api.usedTurns(tok), 1);
  });

  it("strips system reminders from userText and lists every user message in allUserTexts", async () => {
    const tok = token();
    await (
      await messages(tok, {
        tools: TOOLS,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "<system-reminder>\ncontext\n</system-reminder>\n\n" },
              { type: "text", text: "first" },
            ],
          },
          { role: "assistant", content: [{ type: "text", text: "ANSWER: first" }] },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "x", content: "out" },
              { type: "text", text: "second\n" },
              { type: "text", text: "third" },
            ],
          },
        ],
      })
    ).arrayBuffer();
    const rec = await api.waitForRequest((r) => r.token === tok, 2_000);
    assert.deepEqual(rec.allUserTexts, ["first", "second\nthird"]);
    assert.equal(rec.userText, "second\nthird");
  });

  it("streams SSE: message_start, content_block_*, message_delta, message_stop", async () => {
    const tok = token();
    const res = await turn(tok, "stream me please, with a longer text", true);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.equal(res.headers.get("anthropic-ratelimit-unified-status"), "allowed");
    const events = parseSse(await res.text()).filter((e) => e.event !== "ping");
    const names = events.map((e) => e.event);
    assert.equal(names[0], "message_start");
    assert.equal(names[1], "content_block_start");
    assert.deepEqual(names.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    for (const e of events) assert.equal(e.data.type, e.event, "data.type matches the event name");
    const deltas = events.filter((e) => e.event === "content_block_delta");
    assert.ok(deltas.length > 1, "text arrives in several deltas");
    assert.equal(
      deltas.map((e) => (e.data.delta.type === "text_delta" ? e.data.delta.text : "")).join(""),
      "ANSWER: stream me please, with a longer text",
    );
    const md = events.find((e) => e.event === "message_delta");
    assert.equal(md?.data.delta.stop_reason, "end_turn");
    assert.ok(md?.data.usage.output_tokens > 0);
    assert.equal(events[0]?.data.message.role, "assistant");
  });

  it("gives side requests (no tools) a JSON title reply and does not count them as turns", async () => {
    const tok = token();
    api.setCap(tok, 0);
    const res = await messages(tok, {
      stream: true,
      messages: [{ role: "user", content: "<session>\nx\n</session>\n\nWrite the title" }],
    });
    assert.equal(res.status, 200, "side requests are not capped");
    const text = parseSse(await res.text())
      .filter((e) => e.event === "content_block_delta")
      .map((e) => e.data.delta.text)
      .join("");
    assert.deepEqual(JSON.parse(text), { title: "Stand-in session" });
    const rec = await api.waitForRequest((r) => r.token === tok, 1_000);
    assert.equal(rec.isTurn, false);
    assert.equal(api.usedTurns(tok), 0);
  });

  it("delays the reply by SLOW:<ms>, and the request is visible while it runs", async () => {
    const tok = token();
    const t0 = Date.now();
    const pending = turn(tok, "wait SLOW:1500", true).then((r) => r.text());
    const rec = await api.waitForRequest((r) => r.token === tok && r.isTurn, 2_000);
    assert.equal(rec.status, 200);
    assert.ok(Date.now() - t0 < 1500, "recorded before the reply finished");
    const events = parseSse(await pending);
    assert.ok(Date.now() - t0 >= 1490, "reply took at least the asked delay");
    assert.equal(
      events
        .filter((e) => e.event === "content_block_delta")
        .map((e) => e.data.delta.text)
        .join(""),
      "ANSWER: wait SLOW:1500",
    );
  });

  it("rejects turns past the cap with 429, rejected status, reset header and a rate_limit_error body", async () => {
    const tok = token();
    const reset = Math.floor(Date.now() / 1000) + 7200;
    api.setCap(tok, 2, reset);
    const r1 = await turn(tok, "one");
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get("anthropic-ratelimit-unified-5h-utilization"), "0.5");
    assert.equal(r1.headers.get("anthropic-ratelimit-unified-status"), "allowed");
    await r1.arrayBuffer();
    const r2 = await turn(tok, "two", true);
    assert.equal(r2.status, 200);
    assert.equal(r2.headers.get("anthropic-ratelimit-unified-5h-utilization"), "1");
    assert.equal(r2.headers.get("anthropic-ratelimit-unified-status"), "allowed_warning", "near the cap");
    await r2.arrayBuffer();
    const r3 = await turn(tok, "three", true);
    assert.equal(r3.status, 429);
    assert.equal(r3.headers.get("anthropic-ratelimit-unified-status"), "rejected");
    assert.equal(r3.headers.get("anthropic-ratelimit-unified-reset"), String(reset));
    assert.equal(r3.headers.get("anthropic-ratelimit-unified-5h-reset"), String(reset));
    assert.equal(r3.headers.get("anthropic-ratelimit-unified-representative-claim"), "five_hour");
    assert.ok(r3.headers.get("anthropic-ratelimit-unified-7d-utilization") !== null);
    assert.ok(Number(r3.headers.get("retry-after")) > 0);
    const body = (await r3.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "rate_limit_error");
    assert.ok(body.error.message.length > 0);
    assert.equal(api.usedTurns(tok), 2, "rejected turns are not counted");
    const rec = await api.waitForRequest((r) => r.token === tok && r.userText === "three", 1_000);
    assert.equal(rec.status, 429);

    api.setRepresentativeClaim(tok, "seven_day");
    const r4 = await turn(tok, "four");
    assert.equal(r4.headers.get("anthropic-ratelimit-unified-representative-claim"), "seven_day");
    await r4.arrayBuffer();

    api.resetCount(tok);
    assert.equal(api.usedTurns(tok), 0);
    const r5 = await turn(tok, "five");
    assert.equal(r5.status, 200);
    await r5.arrayBuffer();
    api.clearCap(tok);
    for (let i = 0; i < 3; i++)
      assert.equal((await turn(tok, `free ${i}`).then(async (r) => (await r.arrayBuffer(), r))).status, 200);
  });

  it("applies utilization overrides to headers (warning + surpassed-threshold) and to the usage endpoint", async () => {
    const tok = token();
    api.setUtilization(tok, { five_hour: 85, seven_day: 40 });
    const res = await turn(tok, "hi");
    await res.arrayBuffer();
    assert.equal(res.headers.get("anthropic-ratelimit-unified-status"), "allowed_warning");
    assert.equal(res.headers.get("anthropic-ratelimit-unified-5h-utilization"), "0.85");
    assert.equal(res.headers.get("anthropic-ratelimit-unified-7d-utilization"), "0.4");
    assert.equal(res.headers.get("anthropic-ratelimit-unified-5h-surpassed-threshold"), "0.8");
    const usage = (await (
      await fetch(`${api.url}/api/oauth/usage`, {
        headers: { authorization: `Bearer ${tok}`, "user-agent": CLIENT_UA },
      })
    ).json()) as {
      five_hour: { utilization: number };
      seven_day: { utilization: number };
    };
    assert.equal(usage.five_hour.utilization, 85);
    assert.equal(usage.seven_day.utilization, 40);
  });

  describe("GET /api/oauth/usage", () => {
    const usage = (tok: string | undefined, signal?: AbortSignal, ua = CLIENT_UA): Promise<Response> =>
      fetch(`${api.url}/api/oauth/usage`, {
        headers: {
          ...(tok ? { authorization: `Bearer ${tok}`, "anthropic-beta": "oauth-2025-04-20" } : {}),
          "user-agent": ua,
        },
        signal,
      });

    it("refuses any client whose User-Agent is not claude-code/…: 429, retry-after 0, whatever the token; records the User-Agent", async () => {
      const tok = token();
      api.setCap(tok, 10);
      for (const ua of ["node", "claude-failover/0.1.0", "Claude-Code/2.1.197", "xclaude-code/2.1.197"]) {
        const r = await usage(tok, undefined, ua);
        assert.equal(r.status, 429, ua);
        assert.equal(r.headers.get("retry-after"), "0", ua);
        await r.arrayBuffer();
      }
      const n = api.requests.length;
      const okRes = await usage(tok, undefined, "claude-code/2.1.332");
      assert.equal(okRes.status, 200);
      await okRes.arrayBuffer();
      const rec = await api.waitForRequest((r) => r.path === "/api/oauth/usage" && r.status === 200, 1_000, n);
      assert.equal(rec.userAgent, "claude-code/2.1.332");
      assert.ok(api.requests.some((r) => r.userAgent === "claude-failover/0.1.0" && r.status === 429));
    });

    it("blocks for about an hour on demand (429 with a long retry-after), and lifts the block", async () => {
      const tok = token();
      api.setCap(tok, 10);
      api.setUsageMode("blocked");
      const r = await usage(tok);
      assert.equal(r.status, 429);
      assert.equal(r.headers.get("retry-after"), "3600");
      await r.arrayBuffer();
      api.setUsageMode("ok");
      assert.equal((await usage(tok)).status, 200);
    });

    it("reports utilization from used/cap with ISO reset times, and records the call", async () => {
      const tok = token();
      const reset = Math.floor(Date.now() / 1000) + 3000;
      api.setCap(tok, 4, reset);
      await (await turn(tok, "a")).arrayBuffer();
      const res = await usage(tok);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown> & {
        five_hour: { utilization: number; resets_at: string };
        seven_day: { utilization: number; resets_at: string };
      };
      assert.equal(body.five_hour.utilization, 25);
      assert.equal(body.five_hour.resets_at, new Date(reset * 1000).toISOString());
      assert.equal(typeof body.seven_day.utilization, "number");
      assert.ok(Date.parse(body.seven_day.resets_at) > Date.now());
      assert.equal(body.seven_day_opus, null);
      assert.equal(body.seven_day_sonnet, null);
      assert.equal(body.extra_usage, null);
      const rec = await api.waitForRequest((r) => r.path === "/api/oauth/usage" && r.token === tok, 1_000);
      assert.equal(rec.method, "GET");
      assert.equal(rec.status, 200);
      assert.equal(rec.isTurn, false);
    });

    it("answers 401 to unknown or missing tokens", async () => {
      assert.equal((await usage("sk-ant-oat01-never-seen")).status, 401);
      assert.equal((await usage(undefined)).status, 401);
    });

    it("misbehaves on demand: 500, 429 with retry-after, garbage, 401, hang", async () => {
      const tok = token();
      api.setCap(tok, 10);
      api.setUsageMode("500");
      assert.equal((await usage(tok)).status, 500);
      api.setUsageMode("429");
      const r429 = await usage(tok);
      assert.equal(r429.status, 429);
      assert.equal(r429.headers.get("retry-after"), "2");
      api.setUsageMode("garbage");
      const g = await usage(tok);
      assert.equal(g.status, 200);
      await assert.rejects(g.json() as Promise<unknown>);
      api.setUsageMode("401");
      assert.equal((await usage(tok)).status, 401);
      api.setUsageMode("hang");
      const t0 = Date.now();
      await assert.rejects(
        usage(tok, AbortSignal.timeout(300)),
        (err: Error) => err.name === "TimeoutError" || err.name === "AbortError",
      );
      assert.ok(Date.now() - t0 < 5_000);
      api.setUsageMode("ok");
      assert.equal((await usage(tok)).status, 200);
    });
  });

  it("streams a scripted tool_use reply, then asks the replier again with the tool_result", async () => {
    const tok = token();
    const seen: RecordedRequest[] = [];
    api.setReplier((req) => {
      seen.push(req);
      const last = req.body.messages[req.body.messages.length - 1];
      const hasResult =
        Array.isArray(last.content) && last.content.some((b: { type: string }) => b.type === "tool_result");
      if (!hasResult)
        return {
          toolUse: {
            name: "Bash",
            input: { command: "echo hi there from the tool", description: "say hi" },
            id: "toolu_fixed1",
          },
        };
      return { text: "tool said hi" };
    });
    const res = await turn(tok, "use a tool", true);
    const events = parseSse(await res.text()).filter((e) => e.event !== "ping");
    const start = events.find((e) => e.event === "content_block_start");
    assert.deepEqual(start?.data.content_block, { type: "tool_use", id: "toolu_fixed1", name: "Bash", input: {} });
    const json = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => {
        assert.equal(e.data.delta.type, "input_json_delta");
        return e.data.delta.partial_json;
      })
      .join("");
    assert.deepEqual(JSON.parse(json), { command: "echo hi there from the tool", description: "say hi" });
    assert.equal(events.find((e) => e.event === "message_delta")?.data.delta.stop_reason, "tool_use");

    const res2 = await messages(tok, {
      tools: TOOLS,
      stream: false,
      messages: [
        { role: "user", content: "use a tool" },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "toolu_fixed1", name: "Bash", input: { command: "echo hi" } }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fixed1", content: "hi" }] },
      ],
    });
    const body2 = (await res2.json()) as { content: Array<{ type: string; text: string }>; stop_reason: string };
    assert.deepEqual(body2.content, [{ type: "text", text: "tool said hi" }]);
    assert.equal(body2.stop_reason, "end_turn");
    assert.equal(seen.length, 2);
    assert.equal(seen[1]?.userText, "", "a tool_result-only user message has no user text");

    // JSON (non-streaming) tool_use, and the replier falling back to the default reply.
    api.setReplier((req) =>
      req.userText === "json tool" ? { toolUse: { name: "Read", input: { file_path: "/x" } } } : undefined,
    );
    const res3 = await messages(tok, { tools: TOOLS, messages: [{ role: "user", content: "json tool" }] });
    const body3 = (await res3.json()) as {
      content: Array<{ type: string; id: string; name: string; input: unknown }>;
      stop_reason: string;
    };
    assert.equal(body3.stop_reason, "tool_use");
    assert.equal(body3.content[0]?.type, "tool_use");
    assert.match(body3.content[0]?.id ?? "", /^toolu_/);
    assert.deepEqual(body3.content[0]?.input, { file_path: "/x" });
    const res4 = await messages(tok, { tools: TOOLS, messages: [{ role: "user", content: "plain" }] });
    assert.deepEqual(((await res4.json()) as { content: unknown }).content, [{ type: "text", text: "ANSWER: plain" }]);
  });

  it("waitForRequest rejects at its deadline, naming what it saw", async () => {
    const t0 = Date.now();
    await assert.rejects(
      api.waitForRequest((r) => r.path === "/never", 150),
      /no matching request within 150 ms/,
    );
    assert.ok(Date.now() - t0 < 2_000);
  });

  it("close() ends keep-alive connections and hanging requests promptly", async () => {
    const other = await startStandInApi();
    await (await fetch(`${other.url}/`)).text(); // leaves a keep-alive socket open
    other.setUsageMode("hang");
    const tok = "sk-ant-oat01-hang";
    other.setCap(tok, 1);
    const hanging = fetch(`${other.url}/api/oauth/usage`, {
      headers: { authorization: `Bearer ${tok}`, "user-agent": CLIENT_UA },
    }).catch((e: unknown) => e);
    await other.waitForRequest((r) => r.path === "/api/oauth/usage", 2_000);
    const t0 = Date.now();
    await other.close();
    assert.ok(Date.now() - t0 < 2_000, "close did not wait for idle sockets");
    assert.ok((await hanging) instanceof Error, "the hanging request was cut off");
  });
});
