// The dashboard's pure parts: the cookie session store (ui-auth.ts), HTML escaping (ui-pages.ts), the
// chart's aligned series and markers, the Boxes section and tasks' runsOn (ui-view.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clearCookie, MAX_SESSIONS, readCookie, sessionCookie, UiSessions } from "../../src/ui/ui-auth.js";
import { dashboardPage, esc, loginPage } from "../../src/ui/ui-pages.js";
import {
  boxesKey,
  boxesSection,
  chartData,
  CHART_SPAN_MS,
  dashboardState,
  markerText,
  MIN_SPAN_MS,
  type BoxesStatusIn,
} from "../../src/ui/ui-view.js";
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
      boxesStatus: () => null,
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

describe("dashboardState: boxes (store.backend: postgres)", () => {
  const EVIL = "<img src=x onerror=window.__pwned=1>";
  const status: BoxesStatusIn = {
    asOf: 9_000,
    reachable: true,
    boxes: [
      { box: EVIL, self: false, lease: "alive", heartbeatAgeMs: 2_500, since: 0, expiresAt: 40_000, runningTasks: 2 },
      { box: "box-1", self: true, lease: "alive", heartbeatAgeMs: 0, since: 0, expiresAt: 40_000, runningTasks: 1 },
      {
        box: "gone-box",
        self: false,
        lease: "gone",
        heartbeatAgeMs: null,
        since: null,
        expiresAt: null,
        runningTasks: 1,
      },
      { box: "old", self: false, lease: "lapsed", heartbeatAgeMs: 61_000, since: 0, expiresAt: 0, runningTasks: 0 },
    ],
  };
  const deps = (api: unknown) => ({
    api: api as ControlApi,
    store: { usageSamples: () => [], getSwap: () => undefined },
    markerEvents: () => [],
    thresholds: () => ({ fiveHour: 0.85, week: 0.95 }),
    triggers: () => false,
  });

  it("each box's lease, last heartbeat (now minus its age) and running tasks; this box's tasks another box runs", () => {
    const api = {
      accountsList: () => [],
      sessionsList: () => [],
      tasksList: () => [
        { id: "t1", state: "queued", runsOn: EVIL },
        { id: "t2", state: "running", runsOn: null },
        { id: "t3", state: "queued", runsOn: EVIL },
        { id: "t4", state: "queued", runsOn: "gone-box" },
      ],
      boxesStatus: () => status,
    };
    const v = dashboardState(deps(api), 10_000);
    assert.deepEqual(
      v.tasks.map((t) => [t.id, t.state, t.runsOn]),
      [
        ["t1", "queued", EVIL],
        ["t2", "running", null],
        ["t3", "queued", EVIL],
        ["t4", "queued", "gone-box"],
      ],
    );
    assert.deepEqual(v.boxes, {
      reachable: true,
      asOf: 9_000,
      boxes: [
        { box: EVIL, self: false, lease: "alive", heartbeatAt: 7_500, runningTasks: 2, ourTasks: ["t1", "t3"] },
        { box: "box-1", self: true, lease: "alive", heartbeatAt: 10_000, runningTasks: 1, ourTasks: [] },
        { box: "gone-box", self: false, lease: "gone", heartbeatAt: null, runningTasks: 1, ourTasks: ["t4"] },
        { box: "old", self: false, lease: "lapsed", heartbeatAt: -51_000, runningTasks: 0, ourTasks: [] },
      ],
    });
    // the snapshot goes over the stream as JSON: the name is data, escaped by nobody but shown as text by the page
    assert.ok(JSON.stringify(v).includes(JSON.stringify(EVIL)));
  });

  it("unreachable: the last read's rows with reachable false; never read: asOf null", () => {
    assert.deepEqual(boxesSection({ ...status, reachable: false, boxes: [] }, [], 10_000), {
      reachable: false,
      asOf: 9_000,
      boxes: [],
    });
    assert.deepEqual(boxesSection({ asOf: null, reachable: false, boxes: [] }, [], 1), {
      reachable: false,
      asOf: null,
      boxes: [],
    });
  });

  it("boxesKey (a push at once when it changes): reachability, a lease's state, a running count; not the ages", () => {
    const key = boxesKey(status);
    assert.equal(boxesKey(null), "");
    assert.equal(
      boxesKey({ ...status, asOf: 99_000, boxes: status.boxes.map((b) => ({ ...b, heartbeatAgeMs: 1 })) }),
      key,
    );
    assert.notEqual(boxesKey({ ...status, reachable: false }), key);
    const changed = (i: number, b: Partial<BoxesStatusIn["boxes"][number]>) =>
      boxesKey({ ...status, boxes: status.boxes.map((x, j) => (j === i ? { ...x, ...b } : x)) });
    assert.notEqual(changed(0, { lease: "lapsed" }), key);
    assert.notEqual(changed(1, { runningTasks: 0 }), key);
    assert.notEqual(boxesKey({ ...status, boxes: status.boxes.slice(1) }), key);
  });

  it("with sqlite (no box sync) there is no Boxes section, and tasks carry runsOn null", () => {
    const api = {
      accountsList: () => [],
      sessionsList: () => [],
      tasksList: () => [{ id: "t1", state: "queued" }],
      boxesStatus: () => null,
    };
    const v = dashboardState(deps(api), 10_000);
    assert.equal(v.boxes, null);
    assert.equal(v.tasks[0]!.runsOn, null);
    assert.equal(boxesSection(null, [], 1), null);
  });
});

describe("pages: the Boxes section", () => {
  it("is in the page, hidden until a snapshot carries boxes", () => {
    assert.match(dashboardPage(), /<section id="boxes-section" hidden><h2>Boxes<\/h2>/);
  });
});
