// Park and resume (sessions/park-resume.ts) on fakes and a manual clock, with no real sleep: when a parked
// session is resumed (its park over, an account usable), where (in place, or a CLI started on the chosen
// account), and what is sent (the prompt owed, or the continue note when the conversation still holds it).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParkResume } from "../../src/sessions/park-resume.js";
import type { SessionState } from "../../src/store/types.js";
import { stateChange, type RowPatch, type StateOp } from "../../src/sessions/session-states.js";
import { ManualClock } from "../../src/util/clock.js";
import { limitedRow, type LimitedRow } from "../support/limited-row.js";
import type { Pane, PaneStatus } from "../../src/tmux/pane.js";

type Row = LimitedRow;

/** A parked session whose CLI still runs on its account `e`: resumed in place once `usable()`. */
function inPlaceSetup() {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 18));
  const row: Row = limitedRow(clock);
  const events: string[] = [];
  const sent: string[] = [];
  const sessions = {
    get: (n: string) => (n === row.name ? row : undefined),
    lockedBy: () => undefined,
    updateRow: (_n: string, patch: Partial<Row>) => Object.assign(row, patch),
    setState: (_n: string, op: StateOp, patch: RowPatch = {}) =>
      Object.assign(row, stateChange(row.state as SessionState, op, patch).change),
    event: (kind: string) => events.push(kind),
    tryLock: () => ({ ok: true, release: () => {} }),
    park: (_n: string, until: number | null) => Object.assign(row, { state: "parked", parkedUntil: until }),
    prompts: {
      send: async (_n: string, text: string) => {
        sent.push(text);
        return { ok: true, confirmedAt: 1 };
      },
    },
  };
  let chooserOk = false;
  const chooser = {
    choose: () => (chooserOk ? { ok: true, account: "e" } : { ok: false, reason: "none", resumeAt: null }),
  };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const parked = new ParkResume({
    sessions: sessions as never,
    pane: fakePane({ dead: false, pid: 1 }),
    chooser: chooser as never,
    swaps: { continueNote: "continue" },
    clock,
    log: log as never,
  });
  return {
    clock,
    row,
    events,
    sent,
    resume: () => parked.resume("s1"),
    usable: () => (chooserOk = true),
  };
}

describe("ParkResume: resuming a parked session", () => {
  it("sends a last prompt never answered even when no refusal is recorded (an earlier resume sent it, then lost its turn)", async () => {
    const t = inPlaceSetup();
    t.usable();
    Object.assign(t.row, {
      state: "parked",
      parkedUntil: t.clock.now() - 1,
      failedPrompt: null,
      lastPrompt: "p101",
      lastPromptAnswered: false,
    });
    await t.resume();
    assert.deepEqual(t.sent, ["p101"]);
  });
  it("sends nothing when the last prompt was answered", async () => {
    const t = inPlaceSetup();
    t.usable();
    Object.assign(t.row, {
      state: "parked",
      parkedUntil: t.clock.now() - 1,
      failedPrompt: null,
      lastPrompt: "p100",
      lastPromptAnswered: true,
    });
    await t.resume();
    assert.deepEqual(t.sent, []);
  });
  it("resumes nothing when the session is no longer parked (the tick's list is older than a swap that moved it and resent the prompt)", async () => {
    const t = inPlaceSetup();
    t.usable();
    Object.assign(t.row, {
      state: "parked",
      parkedUntil: t.clock.now() - 1,
      failedPrompt: null,
      lastPrompt: "p102",
      lastPromptAnswered: false,
    });
    // The tick listed it parked; a swap since moved it and resent the note:
    Object.assign(t.row, { state: "busy", parkedUntil: null, account: "b" }); // a swap since: moved, note resent
    await t.resume();
    assert.deepEqual(t.sent, []);
    assert.ok(!t.events.includes("session.resume"));
    assert.equal(t.row.state, "busy");
  });
});

describe("ParkResume: resuming in the pane that refused the prompt", () => {
  it("waits for the lazily written transcript to hold the refused prompt, then sends the note, not the prompt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cf-park-"));
    try {
      const path = join(dir, "t.jsonl");
      const line = (o: object) => `${JSON.stringify(o)}\n`;
      // On disk so far: an earlier answered turn only; the CLI still holds the refused p100 in memory.
      writeFileSync(
        path,
        line({ type: "user", message: { role: "user", content: "p99" } }) +
          line({ type: "assistant", message: { model: "m", content: [{ type: "text", text: "a99" }] } }),
      );
      const t = inPlaceSetup();
      t.usable();
      Object.assign(t.row, { state: "parked", parkedUntil: t.clock.now() - 1, transcriptPath: path });
      const t0 = t.clock.now();
      // The CLI writes the refused turn a moment later (150 ms of the manual clock).
      t.clock.after(150, () =>
        appendFileSync(
          path,
          line({ type: "user", message: { role: "user", content: "p100" } }) +
            line({ type: "assistant", isApiErrorMessage: true, message: { model: "<synthetic>", content: [] } }),
        ),
      );
      let ticked = false;
      void t.resume().then(() => (ticked = true));
      await t.clock.advanceUntil(() => ticked, 20_000, "the resume");
      assert.ok(t.clock.now() - t0 >= 150 && t.clock.now() - t0 < 10_000, "waited for the transcript, not the limit");
      assert.deepEqual(t.sent, ["continue"]);
      assert.equal(t.row.lastPrompt, "p100", "the session still works on the prompt");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ParkResume: resuming in the pane whose CLI took the refused prompt", () => {
  it("sends the note at once, whatever the transcript shows (the CLI holds the prompt in memory)", async () => {
    const t = inPlaceSetup();
    t.usable();
    const launchedAt = t.clock.now() - 60_000;
    Object.assign(t.row, {
      state: "parked",
      parkedUntil: t.clock.now() - 1,
      lastPromptAt: launchedAt + 5000,
      launchedAt,
      transcriptPath: join(tmpdir(), "cf-no-such-transcript.jsonl"),
    });
    await t.resume();
    // Read from the transcript (which never shows it), the prompt itself would be typed again.
    assert.deepEqual(t.sent, ["continue"]);
  });
  it("a prompt submitted to an earlier launch of the pane is resent when the transcript does not hold it", async () => {
    const t = inPlaceSetup();
    t.usable();
    const launchedAt = t.clock.now() - 1000;
    Object.assign(t.row, {
      state: "parked",
      parkedUntil: t.clock.now() - 1,
      lastPromptAt: launchedAt - 5000,
      launchedAt,
      transcriptPath: null,
    });
    await t.resume();
    assert.deepEqual(t.sent, ["p100"]);
  });
});

function parkSetup(o: { chooser?: () => unknown; ready?: boolean; sendOk?: boolean } = {}) {
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
  const sent: string[] = [];
  const sessions = {
    get: (n: string) => (n === row.name ? row : undefined),
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
  const chooser = { choose: o.chooser ?? (() => ({ ok: true, account: "b" })) };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const parked = new ParkResume({
    sessions: sessions as never,
    pane: fakePane({ dead: true, pid: null }),
    chooser: chooser as never,
    swaps: { continueNote: "continue" },
    clock,
    log: log as never,
  });
  return { clock, row, resume: () => parked.resume("s1"), calls, parks, sent, hold: (op: string) => (holder = op) };
}

describe("ParkResume: resuming a parked session (time and choice)", () => {
  it("waits for the park's end, then resumes on the chosen account with the refused prompt", async () => {
    const t = parkSetup();
    await t.resume();
    assert.deepEqual(t.calls, [], "not before parkedUntil");
    t.clock.advance(60_000);
    await t.resume();
    assert.deepEqual(t.calls, ["lock resume", "event session.resume", "start respawn on b", "unlock"]);
    assert.deepEqual(t.sent, ["p7"]);
    assert.equal(t.row.account, "b");
    assert.equal(t.row.parkedUntil, null);
    assert.deepEqual(t.parks, []);
  });
  it("with still no account, parks again until the chooser's new resume time (no lock, nothing sent)", async () => {
    const later = Date.UTC(2026, 10, 30, 20);
    const t = parkSetup({ chooser: () => ({ ok: false, reason: "all exhausted", resumeAt: later }) });
    t.clock.advance(60_000);
    await t.resume();
    assert.deepEqual(t.parks, [{ until: later, reason: "all exhausted" }]);
    assert.deepEqual(t.calls, []);
    assert.deepEqual(t.sent, []);
    await t.resume(); // due again only at `later`
    assert.equal(t.parks.length, 1);
  });
  it("a session another operation holds is not resumed", async () => {
    const t = parkSetup();
    t.clock.advance(60_000);
    t.hold("swap");
    await t.resume();
    assert.deepEqual(t.calls, []);
    assert.equal(t.row.state, "parked");
  });
  it("a CLI that does not start: parked again 30 s later, nothing sent, the lock released", async () => {
    const t = parkSetup({ ready: false });
    t.clock.advance(60_000);
    await t.resume();
    assert.deepEqual(t.sent, []);
    assert.deepEqual(t.parks, [{ until: t.clock.now() + 30_000, reason: "resume failed: CLI did not start" }]);
    assert.equal(t.calls.at(-1), "unlock");
    assert.equal(t.row.failedPrompt, "p7", "still owed");
  });
  it("a resent prompt not confirmed: parked again 30 s later", async () => {
    const t = parkSetup({ sendOk: false });
    t.clock.advance(60_000);
    await t.resume();
    assert.deepEqual(t.sent, ["p7"]);
    assert.deepEqual(t.parks, [{ until: t.clock.now() + 30_000, reason: "resume failed: not confirmed" }]);
    assert.equal(t.calls.at(-1), "unlock");
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
