import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideScale, type ScaleInput, type ScaleSession } from "../../src/pool/autoscale.js";

const M = 60_000;
const NOW = Date.UTC(2025, 1, 3, 12, 0);
const IDLE_TIMEOUT = 10 * M;

const idle = (name: string, idleForMs: number): ScaleSession => ({
  name,
  state: "idle",
  idleSince: NOW - idleForMs,
  busy: false,
  starting: false,
});
const busy = (name: string): ScaleSession => ({ name, state: "busy", idleSince: null, busy: true, starting: false });
const starting = (name: string): ScaleSession => ({
  name,
  state: "starting",
  idleSince: null,
  busy: false,
  starting: true,
});
const exited = (name: string): ScaleSession => ({
  name,
  state: "exited",
  idleSince: NOW - 60 * M,
  busy: false,
  starting: false,
});

const input = (o: Partial<ScaleInput>): ScaleInput => ({
  now: NOW,
  min: 1,
  max: 4,
  idleTimeoutMs: IDLE_TIMEOUT,
  queued: 0,
  sessions: [],
  ...o,
});

describe("decideScale", () => {
  const cases: Array<[string, Partial<ScaleInput>, { start: number; stop: string[] }]> = [
    ["empty pool, nothing queued → start up to min", { min: 2 }, { start: 2, stop: [] }],
    ["min 0, nothing queued → nothing", { min: 0 }, { start: 0, stop: [] }],
    ["backlog with no idle session → grow", { queued: 2, sessions: [busy("p1")] }, { start: 2, stop: [] }],
    [
      "backlog absorbed by idle sessions → no start",
      { queued: 2, sessions: [idle("p1", M), idle("p2", M)] },
      { start: 0, stop: [] },
    ],
    [
      "backlog absorbed by starting sessions → no start",
      { queued: 1, sessions: [busy("p1"), starting("p2")] },
      { start: 0, stop: [] },
    ],
    ["growth capped at max", { queued: 10, sessions: [busy("p1"), busy("p2")] }, { start: 2, stop: [] }],
    [
      "at max → no start",
      { queued: 5, sessions: [busy("p1"), busy("p2"), busy("p3"), busy("p4")] },
      { start: 0, stop: [] },
    ],
    [
      "below min and backlog: the larger need wins",
      { min: 3, queued: 1, sessions: [busy("p1")] },
      { start: 2, stop: [] },
    ],
    [
      "exited sessions don't count toward the pool",
      { min: 2, sessions: [exited("p1"), idle("p2", M)] },
      { start: 1, stop: [] },
    ],
    ["idle past timeout above min → stop", { sessions: [busy("p1"), idle("p2", 11 * M)] }, { start: 0, stop: ["p2"] }],
    ["idle not yet past timeout → keep", { sessions: [busy("p1"), idle("p2", 9 * M)] }, { start: 0, stop: [] }],
    [
      "exactly at the timeout is not past it",
      { sessions: [busy("p1"), idle("p2", IDLE_TIMEOUT)] },
      { start: 0, stop: [] },
    ],
    ["never below min", { min: 2, sessions: [idle("p1", 30 * M), idle("p2", 20 * M)] }, { start: 0, stop: [] }],
    [
      "oldest idle first, only down to min",
      { min: 1, sessions: [idle("p1", 15 * M), idle("p2", 40 * M), idle("p3", 20 * M)] },
      { start: 0, stop: ["p2", "p3"] },
    ],
    [
      "ties on idle time break by name",
      { min: 0, sessions: [idle("p2", 20 * M), idle("p1", 20 * M)] },
      { start: 0, stop: ["p1", "p2"] },
    ],
    [
      "queued tasks → no stop even past timeout",
      { queued: 1, sessions: [busy("p1"), idle("p2", 30 * M), idle("p3", 30 * M)] },
      { start: 0, stop: [] },
    ],
    [
      "busy and starting sessions are never stopped",
      {
        min: 0,
        sessions: [
          { ...busy("p1"), idleSince: NOW - 60 * M },
          { ...starting("p2"), idleSince: NOW - 60 * M },
        ],
      },
      { start: 0, stop: [] },
    ],
    ["max below min is raised to min", { min: 3, max: 1 }, { start: 3, stop: [] }],
  ];
  for (const [name, o, want] of cases) {
    it(name, () => {
      const got = decideScale(input(o));
      assert.deepEqual({ start: got.start, stop: got.stop }, want);
      assert.ok(got.reasons.length > 0, "every decision says why");
    });
  }

  it("says why a backlog waits at max", () => {
    const got = decideScale(input({ max: 1, queued: 3, sessions: [busy("p1")] }));
    assert.ok(
      got.reasons.some((r) => r.includes("at max 1")),
      JSON.stringify(got.reasons),
    );
  });

  it("says why idle sessions past the timeout are kept", () => {
    const got = decideScale(input({ min: 2, sessions: [idle("p1", 30 * M), idle("p2", 30 * M)] }));
    assert.ok(
      got.reasons.some((r) => r.includes("hold min 2")),
      JSON.stringify(got.reasons),
    );
  });
});
