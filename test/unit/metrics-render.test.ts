// ControlMetrics against a fake facade: what each metric reads, bounded labels, counters that only
// grow, and no trace in prom-client's global registry.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { register } from "prom-client";
import type { ControlApi } from "../../src/control/control-api.js";
import { ControlMetrics } from "../../src/control/metrics.js";

type Ev = {
  id: number;
  ts: number;
  kind: string;
  session: string | null;
  account: string | null;
  data: Record<string, unknown>;
};

function fakeApi() {
  const s = {
    sessions: [{ state: "idle" }, { state: "busy" }, { state: "idle" }],
    accounts: [
      {
        name: "a",
        state: "active",
        promptsLastHour: 3,
        promptsLastWeek: 40,
        usage: {
          fiveHour: { utilization: 0.42 },
          sevenDay: { utilization: 0.1 },
          perModelWeekly: { opus: { utilization: 0.5 } },
          ageMs: 1500,
        },
      },
      { name: "b", state: "exhausted", promptsLastHour: 0, promptsLastWeek: 0, usage: null },
    ],
    tasks: [{ state: "queued" }, { state: "running" }, { state: "queued" }, { state: "Weird State!" }],
    swaps: [
      { reason: "rate_limit", outcome: "ok", durationMs: 8000 },
      { reason: "an operator's free text", outcome: "ok", durationMs: 3000 },
      { reason: "quota_threshold", outcome: "rolled_back", durationMs: 45_000 },
      { reason: "manual", outcome: null, durationMs: null },
    ],
    events: [] as Ev[],
  };
  const api = {
    startedAt: 1_700_000_000_000,
    sessionsList: () => s.sessions,
    accountsList: () => s.accounts,
    tasksList: () => s.tasks,
    swapsRecent: () => s.swaps,
    eventsAfter: (id: number, limit: number, f?: { kindPrefix?: string }) =>
      s.events.filter((e) => e.id > id && (!f?.kindPrefix || e.kind.startsWith(f.kindPrefix))).slice(0, limit),
  };
  return { s, api: api as unknown as ControlApi };
}

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("ControlMetrics", () => {
  it("sessions, accounts and tasks by state, zeros included", async () => {
    const { api } = fakeApi();
    const text = await new ControlMetrics({ api }).render();
    assert.equal(value(text, 'claude_failover_sessions{state="idle"}'), 2);
    assert.equal(value(text, 'claude_failover_sessions{state="busy"}'), 1);
    assert.equal(value(text, 'claude_failover_sessions{state="parked"}'), 0);
    assert.equal(value(text, 'claude_failover_accounts{state="exhausted"}'), 1);
    assert.equal(value(text, 'claude_failover_accounts{state="revoked"}'), 0);
    assert.equal(value(text, 'claude_failover_tasks{state="queued"}'), 2);
    assert.equal(value(text, 'claude_failover_tasks{state="unknown"}'), 1, "odd states don't become labels");
  });

  it("usage figures and local prompt counts per account", async () => {
    const { api } = fakeApi();
    const text = await new ControlMetrics({ api }).render();
    assert.equal(value(text, 'claude_failover_account_usage_ratio{account="a",window="five_hour"}'), 0.42);
    assert.equal(value(text, 'claude_failover_account_usage_ratio{account="a",window="seven_day_opus"}'), 0.5);
    assert.equal(value(text, 'claude_failover_account_usage_age_seconds{account="a"}'), 1.5);
    assert.ok(!text.includes('account_usage_ratio{account="b"'), "no figures, no series");
    assert.equal(value(text, 'claude_failover_account_prompts{account="a",window="week"}'), 40);
  });

  it("swaps by reason (bounded) and outcome, and a duration histogram; unfinished swaps left out", async () => {
    const { api } = fakeApi();
    const text = await new ControlMetrics({ api }).render();
    assert.equal(value(text, 'claude_failover_swaps_total{reason="rate_limit",outcome="ok"}'), 1);
    assert.equal(
      value(text, 'claude_failover_swaps_total{reason="manual",outcome="ok"}'),
      1,
      "free text counts as manual",
    );
    assert.equal(value(text, 'claude_failover_swaps_total{reason="quota_threshold",outcome="rolled_back"}'), 1);
    assert.ok(!text.includes("operator"));
    assert.equal(value(text, 'claude_failover_swap_duration_seconds_count{outcome="ok"}'), 2);
    assert.equal(value(text, 'claude_failover_swap_duration_seconds_sum{outcome="ok"}'), 11);
    assert.equal(value(text, 'claude_failover_swap_duration_seconds_bucket{le="5",outcome="ok"}'), 1);
    assert.equal(value(text, 'claude_failover_swap_duration_seconds_bucket{le="60",outcome="rolled_back"}'), 1);
    // A second scrape reads the same table: the same numbers, not doubled.
    const again = await new ControlMetrics({ api }).render();
    assert.equal(value(again, 'claude_failover_swaps_total{reason="rate_limit",outcome="ok"}'), 1);
  });

  it("hook spool counters and poll errors counted once each, across scrapes", async () => {
    const { s, api } = fakeApi();
    const spool = { applied: 7, rejected: 1 };
    const m = new ControlMetrics({ api, spool: () => spool });
    const ev = (id: number, kind: string, account: string, k: unknown): Ev => ({
      id,
      ts: id,
      kind,
      session: null,
      account,
      data: { kind: k },
    });
    s.events.push(
      ev(1, "quota.poll_error", "a", "rate_limited"),
      ev(2, "quota.poll_errors_other", "a", "x"),
      ev(3, "quota.poll_error", "b", "DROP TABLE"),
    );
    let text = await m.render();
    assert.equal(value(text, "claude_failover_hook_events_applied_total"), 7);
    assert.equal(value(text, "claude_failover_hook_events_rejected_total"), 1);
    assert.equal(value(text, 'claude_failover_usage_poll_errors_total{account="a",kind="rate_limited"}'), 1);
    assert.equal(
      value(text, 'claude_failover_usage_poll_errors_total{account="b",kind="error"}'),
      1,
      "odd kinds don't become labels",
    );
    s.events.push(ev(4, "quota.poll_error", "a", "rate_limited"));
    spool.applied = 9;
    text = await m.render();
    assert.equal(value(text, 'claude_failover_usage_poll_errors_total{account="a",kind="rate_limited"}'), 2);
    assert.equal(value(text, "claude_failover_hook_events_applied_total"), 9);
  });

  it("MCP tool calls, and every line is valid exposition text", async () => {
    const { api } = fakeApi();
    const m = new ControlMetrics({ api });
    m.observeToolCall("sessions_list", "ok");
    m.observeToolCall("sessions_list", "ok");
    m.observeToolCall("session_swap", "error");
    const text = await m.render();
    assert.equal(value(text, 'claude_failover_mcp_tool_calls_total{tool="sessions_list",outcome="ok"}'), 2);
    assert.equal(value(text, "claude_failover_start_time_seconds"), 1_700_000_000);
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      assert.match(line, /^claude_failover_[a-z_]+(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? -?[0-9.e+]+$/, line);
    }
    assert.match(m.contentType, /^text\/plain/);
  });

  it("uses a private registry: nothing lands in prom-client's global one", async () => {
    const { api } = fakeApi();
    const a = new ControlMetrics({ api });
    const b = new ControlMetrics({ api });
    a.observeToolCall("x", "ok");
    assert.ok(!(await b.render()).includes('tool="x"'));
    assert.equal((await register.metrics()).includes("claude_failover_"), false);
  });
});
