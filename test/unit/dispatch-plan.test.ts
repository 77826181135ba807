import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planDispatch, type PlanInput, type PlanSession, type PlanTask } from "../../src/inbox/dispatch-plan.js";

const NOW = Date.UTC(2025, 1, 3, 12, 0);
const S = 1000;

const task = (id: string, o: Partial<PlanTask> = {}): PlanTask => ({
  id,
  project: "/p",
  model: null,
  account: null,
  ...o,
});
const sess = (name: string, o: Partial<PlanSession> = {}): PlanSession => ({
  name,
  project: "/p",
  model: null,
  account: "a",
  state: "idle",
  hasTask: false,
  op: null,
  clean: true,
  locked: false,
  idleSince: NOW - S,
  ...o,
});
const plan = (o: Partial<PlanInput>) =>
  planDispatch({
    now: NOW,
    min: 0,
    max: 3,
    idleTimeoutMs: 60 * S,
    tasks: [],
    sessions: [],
    defaultProject: "/p",
    ...o,
  });

describe("planDispatch: assignment", () => {
  it("hands tasks out in the order given (priority, then age) to free sessions", () => {
    const p = plan({ tasks: [task("hi"), task("mid"), task("lo")], sessions: [sess("s1"), sess("s2")] });
    assert.deepEqual(
      p.assign.map((a) => a.task),
      ["hi", "mid"],
    );
    assert.equal(p.waiting, 1);
  });

  it("gives the most recently freed session first, so older idle ones can time out", () => {
    const p = plan({
      tasks: [task("t")],
      sessions: [sess("old", { idleSince: NOW - 50 * S }), sess("new", { idleSince: NOW - 2 * S })],
    });
    assert.deepEqual(p.assign, [{ task: "t", session: "new" }]);
  });

  it("matches project and model; a task for another project does not block the ones behind it", () => {
    const p = plan({
      max: 2,
      tasks: [task("other", { project: "/q" }), task("mine")],
      sessions: [sess("s1"), sess("s2", { state: "busy", hasTask: true })],
    });
    assert.deepEqual(p.assign, [{ task: "mine", session: "s1" }]);
    const m = plan({ tasks: [task("opus", { model: "opus" })], sessions: [sess("plain")] });
    assert.deepEqual(m.assign, []);
  });

  it("prefers a session on the task's preferred account", () => {
    const p = plan({
      tasks: [task("t", { account: "b" })],
      sessions: [sess("s1", { account: "a", idleSince: NOW }), sess("s2", { account: "b", idleSince: NOW - 9 * S })],
    });
    assert.deepEqual(p.assign, [{ task: "t", session: "s2" }]);
  });

  it("never hands a task to a busy, locked, starting, sending or unclean session", () => {
    const sessions = [
      sess("busy", { state: "busy", hasTask: true }),
      sess("locked", { locked: true }),
      sess("starting", { state: "starting", op: "starting" }),
      sess("sending", { op: "sending" }),
      sess("dirty", { clean: false }),
      sess("parked", { state: "parked" }),
      sess("swapping", { state: "swapping" }),
    ];
    const p = plan({ max: 10, tasks: [task("t")], sessions });
    assert.deepEqual(p.assign, []);
    assert.deepEqual(p.clear, ["dirty"], "the used one is reset");
  });
});

describe("planDispatch: pool size", () => {
  it("starts one session per waiting task up to max, each for its task's project, model and account", () => {
    const p = plan({
      max: 3,
      tasks: [task("1"), task("2", { project: "/q", account: "b" }), task("3", { model: "m" }), task("4"), task("5")],
    });
    assert.deepEqual(p.start, [
      { project: "/p", model: null, account: null },
      { project: "/q", model: null, account: "b" },
      { project: "/p", model: "m", account: null },
    ]);
  });

  it("counts sessions being started or reset as about to take a waiting task of their project", () => {
    const p = plan({
      max: 5,
      tasks: [task("1"), task("2"), task("3", { project: "/q" })],
      sessions: [sess("s1", { state: "starting", op: "starting" }), sess("s2", { clean: false })],
    });
    assert.deepEqual(p.start, [{ project: "/q", model: null, account: null }]);
    assert.deepEqual(p.clear, ["s2"]);
  });

  it("keeps min sessions on the default project, and says so when there is none", () => {
    assert.deepEqual(plan({ min: 2 }).start, [
      { project: "/p", model: null, account: null },
      { project: "/p", model: null, account: null },
    ]);
    const none = plan({ min: 1, defaultProject: null });
    assert.deepEqual(none.start, []);
    assert.ok(none.reasons.some((r) => r.includes("pool.project is not set")));
  });

  it("stops sessions idle past the timeout above min, oldest first, never busy ones", () => {
    const p = plan({
      min: 2,
      sessions: [
        sess("a", { idleSince: NOW - 120 * S }),
        sess("b", { idleSince: NOW - 90 * S }),
        sess("c", { state: "busy", hasTask: true }),
      ],
    });
    assert.deepEqual(p.stop, ["a"], "b stays to hold min 2");
    assert.deepEqual(
      plan({ min: 0, sessions: [sess("a", { idleSince: NOW - 59 * S })] }).stop,
      [],
      "not yet past the timeout",
    );
  });

  it("an idle session of another project does not absorb the backlog: a new one starts while below max", () => {
    const p = plan({
      max: 2,
      tasks: [task("t", { project: "/q" })],
      sessions: [sess("p-session", { idleSince: NOW - 120 * S })],
    });
    assert.deepEqual(p.start, [{ project: "/q", model: null, account: null }]);
    assert.deepEqual(p.stop, [], "not stopped while work waits");
  });

  it("at max, a free session of another project makes room for the waiting task", () => {
    const p = plan({ max: 1, tasks: [task("t", { project: "/q" })], sessions: [sess("p-session")] });
    assert.deepEqual(p.start, []);
    assert.deepEqual(p.stop, ["p-session"]);
  });

  it("a session whose CLI is restarting still counts toward max; failed and stopped ones do not", () => {
    const full = plan({
      max: 2,
      tasks: [task("1"), task("2")],
      sessions: [sess("x", { state: "exited" }), sess("y", { state: "busy", hasTask: true })],
    });
    assert.deepEqual(full.start, []);
    const gone = plan({
      max: 2,
      tasks: [task("1")],
      sessions: [sess("x", { state: "failed" }), sess("y", { state: "busy", hasTask: true })],
    });
    assert.equal(gone.start.length, 1);
  });
});
