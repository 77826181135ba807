// The limit reactor's queued refusals (a refusal that came while another operation held the session),
// on fakes and a manual clock: replayed once the holder lets go, unless a prompt was submitted since. A
// StopFailure while the pane is busy, a hard limit, and the tick handing parked sessions to the resume, all
// on the manual clock with no real sleep. The resume itself: park-resume.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LimitReactor } from "../../src/quota/limit-reactor.js";
import type { SessionState } from "../../src/store/types.js";
import { stateChange, type RowPatch, type StateOp } from "../../src/sessions/session-states.js";
import { ManualClock } from "../../src/util/clock.js";
import { limitedRow, type LimitedRow } from "../support/limited-row.js";
import type { Pane, PaneStatus } from "../../src/tmux/pane.js";

type Row = LimitedRow;

function setup(o: { spent?: string } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 18));
  const row: Row = limitedRow(clock);
  let holder: string | undefined = "send";
  const swaps: Array<{ resend: string | null; to?: string; hard?: boolean }> = [];
  const events: string[] = [];
  const sent: string[] = [];
  let listed: Row[] | undefined;
  const sessions = {
    get: (n: string) => (n === row.name ? row : undefined),
    list: () => listed ?? [row],
    lockedBy: () => holder,
    updateRow: (_n: string, patch: Partial<Row>) => Object.assign(row, patch),
    setState: (_n: string, op: StateOp, patch: RowPatch = {}) =>
      Object.assign(row, stateChange(row.state as SessionState, op, patch).change),
    event: (kind: string) => events.push(kind),
    onSignal: () => () => {},
    tryLock: () => ({ ok: true, release: () => {} }),
    park: (_n: string, until: number | null) => Object.assign(row, { state: "parked", parkedUntil: until }),
    prompts: {
      send: async (_n: string, text: string) => {
        sent.push(text);
        return { ok: true, confirmedAt: 1 };
      },
    },
  };
  const panes = fakePane({ dead: false, pid: 1 });
  const marked: Array<{ account: string; state: string }> = [];
  const accounts = {
    setState: (account: string, state: string) => marked.push({ account, state }),
    config: (n: string) => (["e", "f"].includes(n) ? { name: n } : undefined),
  };
  const swap = {
    continueNote: "continue",
    swap: async (req: { resend: string | null; to?: string; hard?: boolean; reason?: string }) => {
      swaps.push(
        req.reason === "token_rejected" ? { resend: req.resend, to: req.to, hard: req.hard } : { resend: req.resend },
      );
      if (holder) return { ok: false, outcome: "refused", reason: `locked by ${holder}` };
      // The swap's own answer for a target it can't use: refused, or parked when asked for a hard move.
      if (o.spent && (req.to ?? o.spent) === o.spent)
        return req.hard
          ? { ok: false, outcome: "parked", reason: `account ${o.spent} is exhausted` }
          : { ok: false, outcome: "refused", reason: `account ${o.spent} is exhausted` };
      return { ok: true, outcome: "done" };
    },
  };
  const resumed: string[] = [];
  const parked = { resume: async (n: string) => void resumed.push(n) };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const reactor = new LimitReactor(
    {
      sessions: sessions as never,
      pane: panes,
      accounts: accounts as never,
      swaps: swap as never,
      parked,
      clock,
      log: log as never,
    },
    { cooldownMs: 60_000 },
  );
  return {
    clock,
    panes,
    row,
    reactor,
    swaps,
    events,
    sent,
    sessions,
    release: () => (holder = undefined),
    resumed,
    snapshot: (rows: Row[]) => (listed = rows),
    marked,
  };
}

describe("LimitReactor: a refusal from the account a swap has just moved the session off", () => {
  it("marks that account, leaves the session (now elsewhere) alone", async () => {
    const t = setup();
    t.release();
    t.row.account = "f"; // the swap moved it to f before the old CLI's StopFailure (on e) was applied
    await t.reactor.onLimit("s1", "You've hit your session limit · resets 6:19pm (UTC)", "p100", "StopFailure", "e");
    assert.deepEqual(t.marked, [{ account: "e", state: "exhausted" }], "e refused: e is marked, f is not");
    assert.deepEqual(t.swaps, [], "not swapped again");
    assert.deepEqual(t.events, ["quota.hard_limit"]);
  });
  it("a refusal on the session's own account is handled as before; an unknown account name falls back to it", async () => {
    for (const on of ["e", "unknown"]) {
      const t = setup();
      t.release();
      await t.reactor.onLimit("s1", "limit reached", "p100", "StopFailure", on);
      assert.deepEqual(t.marked, [{ account: "e", state: "exhausted" }]);
      assert.deepEqual(t.swaps, [{ resend: "p100" }]);
    }
  });
});

describe("LimitReactor: a refusal queued behind another operation", () => {
  it("is acted on (swap with the prompt) once the holder lets go", async () => {
    const t = setup();
    await t.reactor.onLimit(
      "s1",
      "You've hit your session limit · resets 6:19pm (UTC)",
      "p100",
      "StopFailure rate_limit",
    );
    assert.deepEqual(t.swaps, [{ resend: "p100" }]); // refused: the send holds the session
    t.clock.advance(2000);
    t.release();
    await t.reactor.tick();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.swaps, [{ resend: "p100" }, { resend: "p100" }]);
  });
  it("is dropped when a prompt was submitted after it was queued (the holder resent it): never sent twice", async () => {
    const t = setup();
    await t.reactor.onLimit(
      "s1",
      "You've hit your session limit · resets 6:19pm (UTC)",
      "p100",
      "StopFailure rate_limit",
    );
    t.clock.advance(2000);
    t.row.lastPromptAt = t.clock.now(); // UserPromptSubmit of the same prompt, typed again by the holder
    t.row.failedPrompt = null;
    t.row.state = "busy";
    t.release();
    await t.reactor.tick();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.swaps, [{ resend: "p100" }]);
    assert.ok(t.events.includes("quota.refusal_superseded"));
  });
});

describe("LimitReactor: a rejected token while another operation holds the session", () => {
  it("restarts on the same account once the holder lets go (the prompt is not dropped)", async () => {
    const t = setup();
    t.row.state = "idle";
    await t.reactor.onTokenRejected("s1", "OAuth token has expired", "p100");
    assert.deepEqual(t.swaps, [{ resend: "p100", to: "e", hard: false }]); // refused: a resume holds it
    t.clock.advance(1000);
    t.release();
    await t.reactor.tick();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.swaps, [
      { resend: "p100", to: "e", hard: false },
      { resend: "p100", to: "e", hard: false },
    ]);
  });
  it("the account spent by then: the restart there refused, the session moves (or parks) with its prompt", async () => {
    // chaos seed 424242 (2026-12-01): a 401 as the account's window ran out; the restart on it was refused
    // and nothing else was done, so the prompt was never sent again.
    const t = setup({ spent: "e" });
    t.release();
    t.row.state = "idle";
    await t.reactor.onTokenRejected("s1", "OAuth token has expired", "p100");
    assert.deepEqual(t.swaps, [
      { resend: "p100", to: "e", hard: false },
      { resend: "p100", to: undefined, hard: true },
    ]);
  });
  it("is dropped when a prompt was submitted since", async () => {
    const t = setup();
    await t.reactor.onTokenRejected("s1", "OAuth token has expired", "p100");
    t.clock.advance(1000);
    t.row.lastPromptAt = t.clock.now();
    t.release();
    await t.reactor.tick();
    await new Promise((r) => setImmediate(r));
    assert.equal(t.swaps.length, 1);
  });
});

describe("LimitReactor: the tick and parked sessions", () => {
  it("hands a parked session to the resume (sessions/park-resume.ts), not one another operation holds", async () => {
    const t = setup();
    Object.assign(t.row, { state: "parked", parkedUntil: t.clock.now() - 1 });
    await t.reactor.tick(); // held by a send
    assert.deepEqual(t.resumed, []);
    t.release();
    await t.reactor.tick();
    assert.deepEqual(t.resumed, ["s1"]);
    Object.assign(t.row, { state: "idle", parkedUntil: null });
    await t.reactor.tick();
    assert.deepEqual(t.resumed, ["s1"], "only parked sessions");
  });
});

describe("LimitReactor: a StopFailure while the pane is still busy (manual clock, no real sleep)", () => {
  const BUSY = "✻ Pondering… (12s · ↑ 1.2k tokens · esc to interrupt)";
  const LIMIT = "You've hit your session limit · resets 6:19pm (UTC)";
  function busySetup() {
    const t = setup();
    t.release();
    t.row.state = "busy";
    const pane = { text: BUSY };
    let follow: (s: unknown) => void = () => {};
    Object.assign(t.sessions, {
      waitForSignal: (_n: string, _p: unknown, ms: number) =>
        new Promise((res) => {
          follow = res;
          t.clock.after(ms, () => res(null));
        }),
    });
    t.panes.capture = async () => pane.text;
    let ended = false;
    const t0 = t.clock.now();
    void t.reactor.onRateLimit("s1", LIMIT, "p100").then(() => (ended = true));
    return {
      ...t,
      pane,
      t0,
      ended: () => ended,
      follow: (kind: string) => follow({ session: "s1", signal: { kind } }),
    };
  }

  it("a Stop that follows while the pane is busy: the turn went on, nothing done", async () => {
    const t = busySetup();
    await t.clock.advanceAsync(5000);
    assert.equal(t.ended(), false, "still waiting on the busy pane");
    t.follow("turn_done");
    await t.clock.advanceUntil(t.ended, 1000, "the check");
    assert.deepEqual(t.swaps, []);
    assert.ok(t.events.includes("quota.stop_failure_ignored"));
  });
  it("the pane goes idle with no Stop: the refusal is acted on then (read every 100 ms)", async () => {
    const t = busySetup();
    t.clock.after(2000, () => (t.pane.text = "> "));
    await t.clock.advanceUntil(t.ended, 60_000, "the check");
    assert.ok(t.clock.now() - t.t0 >= 2000 && t.clock.now() - t.t0 <= 2100, `acted at +${t.clock.now() - t.t0} ms`);
    assert.deepEqual(t.swaps, [{ resend: "p100" }]);
  });
  it("a pane busy throughout: acted on after 30 s whatever it shows", async () => {
    const t = busySetup();
    await t.clock.advanceAsync(29_000);
    assert.equal(t.ended(), false);
    await t.clock.advanceUntil(t.ended, 5000, "the check");
    assert.ok(t.clock.now() - t.t0 >= 30_000, `acted at +${t.clock.now() - t.t0} ms`);
    assert.deepEqual(t.swaps, [{ resend: "p100" }]);
  });
});

// A hard limit on its own fakes: the account marked exhausted and the hard swap asked for on a refusal
// (the swap parks when there is nowhere to go: test/unit/swap-service.test.ts).
function parkSetup(o: { ready?: boolean; sendOk?: boolean } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 18));
  const row: Row & { launchedAt: number | null } = {
    name: "s1",
    account: "a",
    state: "parked",
    lastPrompt: "p7",
    lastPromptAt: clock.now() - 60_000,
    lastPromptAnswered: false,
    failedPrompt: "p7",
    stateReason: "no account has room",
    parkedUntil: clock.now() + 60_000,
    lastActivity: null,
    transcriptPath: null,
    launchedAt: null,
  };
  let holder: string | undefined;
  const calls: string[] = [];
  const parks: Array<{ until: number | null; reason: string }> = [];
  const states: Array<{ account: string; state: string; until: number | null }> = [];
  const swaps: unknown[] = [];
  const sent: string[] = [];
  const sessions = {
    get: (n: string) => (n === row.name ? row : undefined),
    list: () => [row],
    lockedBy: () => holder,
    tryLock: (_n: string, op: string) => {
      if (holder) return { ok: false, heldBy: holder };
      calls.push(`lock ${op}`);
      holder = op;
      return {
        ok: true,
        release: () => {
          calls.push("unlock");
          holder = undefined;
        },
      };
    },
    updateRow: (_n: string, patch: Partial<Row>) => Object.assign(row, patch),
    setState: (_n: string, op: StateOp, patch: RowPatch = {}) =>
      Object.assign(row, stateChange(row.state as SessionState, op, patch).change),
    event: (kind: string) => calls.push(`event ${kind}`),
    onSignal: () => () => {},
    park: (_n: string, until: number | null, reason: string) => {
      parks.push({ until, reason });
      Object.assign(row, { state: "parked", parkedUntil: until, stateReason: reason });
    },
    start: async (_n: string, how: string, _why: string, account: string) => {
      calls.push(`start ${how} on ${account}`);
      row.account = account;
    },
    waitReady: async () => o.ready ?? true,
    prompts: {
      send: async (_n: string, text: string) => {
        sent.push(text);
        return o.sendOk === false ? { ok: false, reason: "not confirmed" } : { ok: true, confirmedAt: clock.now() };
      },
    },
  };
  const accounts = {
    setState: (account: string, state: string, until: number | null) => states.push({ account, state, until }),
  };
  const swap = {
    continueNote: "continue",
    swap: async (req: unknown) => {
      swaps.push(req);
      return { ok: false, swapId: null, outcome: "parked", reason: "no account has room" };
    },
  };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const reactor = new LimitReactor(
    {
      sessions: sessions as never,
      pane: fakePane({ dead: true, pid: null }),
      accounts: accounts as never,
      swaps: swap as never,
      parked: { resume: async () => {} },
      clock,
      log: log as never,
    },
    { cooldownMs: 60_000 },
  );
  return { clock, row, reactor, calls, parks, states, swaps, sent, hold: (op: string) => (holder = op) };
}

describe("LimitReactor: a hard limit", () => {
  it("marks the account exhausted until the reset the message names and asks for a hard swap with the prompt", async () => {
    const t = parkSetup();
    Object.assign(t.row, { state: "limited", parkedUntil: null });
    await t.reactor.onLimit(
      "s1",
      "You've hit your session limit · resets 6:19pm (UTC)",
      "p7",
      "StopFailure rate_limit",
    );
    assert.deepEqual(t.states, [{ account: "a", state: "exhausted", until: Date.UTC(2026, 10, 30, 18, 19) }]);
    assert.deepEqual(t.swaps, [{ session: "s1", reason: "rate_limit", urgent: true, hard: true, resend: "p7" }]);
  });
  it("without a reset time, exhausted for the cooldown", async () => {
    const t = parkSetup();
    Object.assign(t.row, { state: "limited", parkedUntil: null });
    await t.reactor.onLimit("s1", "limit reached", "p7", "pane");
    assert.deepEqual(t.states, [{ account: "a", state: "exhausted", until: t.clock.now() + 60_000 }]);
  });
});

/** A pane of session s1 only, showing nothing, taking every key. */
function fakePane(s1: PaneStatus): Pane {
  return {
    capture: async () => "",
    sendKeys: async () => {},
    sendLiteral: async () => {},
    paste: async () => {},
    status: async (name) => (name === "s1" ? s1 : null),
  };
}
