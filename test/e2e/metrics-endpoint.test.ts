// /metrics on a running daemon: behind the token, Prometheus text, and the figures match the
// daemon's state after real events (a swap, hook events, failing usage polls, an MCP call, a task).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { callOk, connectMcp, listenOf, rawRequest } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("/metrics on a running daemon", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  const scrape = async () => {
    const r = await rawRequest(listenOf(h), "GET", "/metrics", { authorization: `Bearer ${h.token}` });
    assert.equal(r.status, 200);
    return r.text;
  };
  const trigger = (path: string, body: unknown) =>
    fetch(`http://${listenOf(h)}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  before(async () => {
    h = await makeHarness({ accounts: 2, config: { mcp_http: { enable_trigger: true } } });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  });
  after(async () => h?.cleanup());

  it("401 without the token; text/plain with it", async () => {
    assert.equal((await rawRequest(listenOf(h), "GET", "/metrics", {})).status, 401);
    assert.equal(
      (await rawRequest(listenOf(h), "GET", "/metrics", { authorization: "Bearer nope-nope-nope-nope-nope" })).status,
      401,
    );
    const r = await rawRequest(listenOf(h), "GET", "/metrics", { authorization: `Bearer ${h.token}` });
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.ok(!r.text.includes(h.token));
  });

  it("sessions, accounts, hook events and usage match the daemon", async () => {
    // Read before the scrape: a usage poll may land in between, and only adds figures.
    const accounts = d.api.accountsList();
    const appliedBefore = d.spool.applied;
    const text = await scrape();
    assert.equal(series(text, 'claude_failover_sessions{state="idle"}'), 1);
    assert.equal(series(text, 'claude_failover_accounts{state="active"}'), 2);
    const applied = series(text, "claude_failover_hook_events_applied_total")!;
    assert.ok(
      applied >= appliedBefore && applied <= d.spool.applied,
      `${appliedBefore} <= ${applied} <= ${d.spool.applied}`,
    );
    assert.ok(applied > 0, "SessionStart at least");
    for (const a of accounts) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed (tsc fails without it): `{} | null` to an all-optional shape
      const u = a.usage as { fiveHour?: { utilization: number } } | null;
      if (u?.fiveHour)
        assert.equal(
          series(text, `claude_failover_account_usage_ratio{account="${a.name}",window="five_hour"}`),
          u.fiveHour.utilization,
        );
    }
  });

  it("a swap shows in swaps_total and the duration histogram", async () => {
    const r = await trigger("/trigger/swap", { session: "dev", to: "b", reason: "metrics test" });
    assert.equal(r.status, 200, await r.clone().text());
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.outcome, "ok");
    const text = await scrape();
    assert.equal(series(text, 'claude_failover_swaps_total{reason="manual",outcome="ok"}'), 1);
    assert.equal(series(text, 'claude_failover_swap_duration_seconds_count{outcome="ok"}'), 1);
    assert.equal(
      series(text, 'claude_failover_swap_duration_seconds_sum{outcome="ok"}'),
      (sw.endedAt! - sw.startedAt) / 1000,
    );
    assert.equal(series(text, 'claude_failover_accounts{state="active"}'), 2);
  });

  it("failing usage polls are counted, once each", async () => {
    h.api.setUsageMode("500");
    d.poller.pollSoon("a");
    d.poller.pollSoon("b");
    const events = () => d.store.tailEvents(1000, { kindPrefix: "quota.poll_error" }).length;
    await waitFor(() => events() >= 1, 30_000, "a poll error");
    const counted = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("claude_failover_usage_poll_errors_total{"))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    for (let i = 0; i < 2; i++) {
      // A poll may fail again between reading the log and scraping: bracket the scrape.
      const low = events();
      const n = counted(await scrape());
      assert.ok(n >= low && n <= events(), `scrape ${i + 1}: ${low} <= ${n} <= ${events()}`);
    }
    h.api.setUsageMode("ok");
  });

  it("MCP tool calls and tasks by state", async () => {
    const c = await connectMcp(listenOf(h), { authorization: `Bearer ${h.token}` });
    try {
      await callOk(c, "sessions_list");
    } finally {
      await c.close();
    }
    assert.equal(
      (await trigger("/trigger/enqueue", { prompt: "metrics task", project: h.project("dev"), id: "m-1" })).status,
      200,
    );
    const text = await scrape();
    assert.ok((series(text, 'claude_failover_mcp_tool_calls_total{tool="sessions_list",outcome="ok"}') ?? 0) >= 1);
    const byState = new Map<string, number>();
    for (const t of d.api.tasksList() as { state: string }[]) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
    assert.equal(byState.get("queued"), 1, "the pool's max is 0: the task waits");
    for (const [state, n] of byState) assert.equal(series(text, `claude_failover_tasks{state="${state}"}`), n);
  });
});
