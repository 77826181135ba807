// The dashboard's pure parts: the cookie session store (ui-auth.ts), HTML escaping (ui-pages.ts), the
// chart's aligned series and markers (ui-view.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clearCookie, MAX_SESSIONS, readCookie, sessionCookie, UiSessions } from "../../src/ui/ui-auth.js";
import { dashboardPage, esc, loginPage } from "../../src/ui/ui-pages.js";
import { chartData, CHART_SPAN_MS, dashboardState, markerText, MIN_SPAN_MS } from "../../src/ui/ui-view.js";
import type { ControlApi } from "../../src/control/control-api.js";
import type { EventRow } from "../../src/store/types.js";
import type { UsageSampleRow } from "../../src/store/store.js";

describe("UiSessions", () => {
  it("a created id is valid until its ttl, then not", () => {
    const s = new UiSessions(1000);
    const id = s.create(0);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(s.valid(`other=1; cf_ui=${id}`, 999), true);
    assert.equal(s.valid(`cf_ui=${id}`, 1000), false);
    assert.equal(s.valid(`cf_ui=${id}`, 0), false, "an expired id is forgotten");
  });
  it("unknown, missing or ended ids are not valid", () => {
    const s = new UiSessions(1000);
    const id = s.create(0);
    assert.equal(s.valid(undefined, 1), false);
    assert.equal(s.valid("cf_ui=", 1), false);
    assert.equal(s.valid(`cf_ui=${id.slice(1)}x`, 1), false);
    s.end(`cf_ui=${id}`);
    assert.equal(s.valid(`cf_ui=${id}`, 1), false);
  });
  it("keeps at most MAX_SESSIONS (the oldest go)", () => {
    const s = new UiSessions(1e9);
    const first = s.create(0);
    for (let i = 0; i < MAX_SESSIONS; i++) s.create(i);
    assert.equal(s.valid(`cf_ui=${first}`, 1), false);
  });
  it("cookies: HttpOnly, SameSite=Strict, Path=/ui; parsing", () => {
    assert.equal(sessionCookie("ab", 3_600_000), "cf_ui=ab; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=3600");
    assert.match(clearCookie(), /Max-Age=0/);
    assert.equal(readCookie("a=1; cf_ui=xyz ; b=2", "cf_ui"), "xyz");
    assert.equal(readCookie("xcf_ui=1", "cf_ui"), null);
  });
});

describe("pages", () => {
  it("escapes text and has no inline script or style", () => {
    assert.equal(esc(`<script>"x" & 'y'</script>`), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
    assert.match(loginPage("<b>bad</b>"), /&lt;b&gt;bad&lt;\/b&gt;/);
    for (const html of [loginPage("x"), dashboardPage()]) {
      assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    }
  });
});

describe("chart data", () => {
  const H = 3_600_000;
  const now = 10 * H;
  const samples: Record<string, UsageSampleRow[]> = {
    a: [
      { at: now - 2 * H, source: "statusline", utilization: 0.1, resetsAt: null },
      { at: now - H, source: "statusline", utilization: 0.25, resetsAt: null },
    ],
    b: [
      { at: now - H, source: "usage", utilization: 0.5, resetsAt: null },
      { at: now - 1000, source: "usage", utilization: 0.6, resetsAt: null },
    ],
  };
  const ev = (id: number, ts: number, kind: string, data: Record<string, unknown>): EventRow => ({
    id,
    ts,
    kind,
    session: "dev",
    account: "b",
    data,
  });
  const events = [
    ev(1, now - 7 * H, "swap.done", { id: 1 }),
    ev(2, now - H / 2, "swap.done", { id: 9, from: "a", to: "b" }),
    ev(3, now - H / 4, "session.launch", {}),
    ev(4, now - 100, "session.parked", { reason: "every account is spent" }),
  ];
  const store = {
    usageSamples: (a: string, w: string, since: number) =>
      w === "five_hour" ? samples[a]!.filter((s) => s.at >= since) : [],
    getSwap: (id: number) => (id === 9 ? { reason: "threshold: five_hour 87 % >= 85 %" } : undefined),
  } as unknown as Parameters<typeof chartData>[0]["store"];

  it("aligns samples on one time axis (seconds), percent, null where an account has none", () => {
    const c = chartData({ store, markerEvents: () => events }, ["a", "b"], now);
    assert.deepEqual(c.t, [(now - 2 * H) / 1000, (now - H) / 1000, (now - 1000) / 1000]);
    assert.deepEqual(c.series, [
      [10, 25, null],
      [null, 50, 60],
    ]);
  });
  it("markers: swaps, parks and refusals within the span, with the decision's reason", () => {
    const c = chartData({ store, markerEvents: () => events }, ["a", "b"], now);
    assert.deepEqual(
      c.markers.map((m) => [m.kind, m.text]),
      [
        ["swap.done", "dev: moved a → b (threshold: five_hour 87 % >= 85 %)"],
        ["session.parked", "dev: parked: every account is spent"],
      ],
    );
  });
  it("spans from a little before the first point, at least MIN_SPAN_MS, at most CHART_SPAN_MS", () => {
    assert.equal(chartData({ store, markerEvents: () => events }, ["a", "b"], now).since, now - 2 * H - 12 * 60_000);
    const empty = { ...store, usageSamples: () => [] } as typeof store;
    assert.equal(chartData({ store: empty, markerEvents: () => [] }, [], now).since, now - MIN_SPAN_MS);
    const old = {
      ...store,
      usageSamples: (_a: string, _w: string, since: number) => [
        { at: since, source: "x", utilization: 0, resetsAt: null },
      ],
    } as typeof store;
    assert.equal(chartData({ store: old, markerEvents: () => [] }, ["a"], now).since, now - CHART_SPAN_MS);
  });
  it("markerText says what each kind means", () => {
    assert.equal(
      markerText(ev(1, 0, "quota.hard_limit", { message: "limit reached" }), () => null),
      "dev: hard limit on b: limit reached",
    );
    assert.equal(
      markerText(ev(1, 0, "session.resume", {}), () => null),
      "dev: resumed on b",
    );
  });
});

describe("dashboardState: tasks", () => {
  it("a task waiting on a permission dialog carries its question; others carry none", () => {
    const api = {
      accountsList: () => [],
      sessionsList: () => [],
      tasksList: () => [
        {
          id: "w",
          state: "waiting",
          waiting: {
            question: "Create file: out.txt — Do you want to create out.txt?",
            tool: "Write: /p/out.txt",
            since: 5,
          },
        },
        { id: "r", state: "running", waiting: null },
      ],
    } as unknown as ControlApi;
    const v = dashboardState(
      {
        api,
        store: { usageSamples: () => [], getSwap: () => undefined },
        markerEvents: () => [],
        thresholds: () => ({ fiveHour: 0.85, week: 0.95 }),
        triggers: () => true,
      },
      10,
    );
    assert.deepEqual(
      v.tasks.map((t) => [t.id, t.state, t.waiting?.question ?? null]),
      [
        ["w", "waiting", "Create file: out.txt — Do you want to create out.txt?"],
        ["r", "running", null],
      ],
    );
  });
});
