// SwapService (src/sessions/swap.ts) on fakes, a manual clock and a real SQLite store: every path of a swap —
// success with the prompt (or the continue note) resent, park/refuse when there is nowhere to go, a lock
// already held, the rollback when each step fails (and its own resend on the old account), and the choice
// between SIGTERM (idle CLI) and /exit (busy CLI). Fakes answer at once, so no poll waits past its first check;
// the swap's waits run on the manual clock. The only real wait is for a `sleep` child process's exit event
// after the signal it is sent (the SIGTERM path reads /proc for a real pid); no real sleep.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SessionLocks, type SessionOp } from "../../src/sessions/session-locks.js";
import { SwapService, type SwapRequest } from "../../src/sessions/swap.js";
import type { SessionSignal } from "../../src/sessions/signals.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import type { SessionRow } from "../../src/store/types.js";
import type { Pane, PaneStatus } from "../../src/tmux/pane.js";
import { stateChange, type RowPatch, type StateOp } from "../../src/sessions/session-states.js";
import { ManualClock } from "../../src/util/clock.js";
import { CfError } from "../../src/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "cf-swapsvc-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOTE = "Continue where you left off.";
const RESUME_AT = Date.UTC(2026, 11, 1, 12);

type FailAt = "capture" | "exit" | "respawn" | "confirm" | "resend";

interface Setup {
  state?: SessionRow["state"];
  failedPrompt?: string | null;
  /** the transcript holds this prompt refused (unanswered, then the synthetic limit answer) */
  refusedInTranscript?: string;
  /** the pane's process: a real child so SIGTERM and /proc work */
  child?: ChildProcess;
  /** the account the chooser gives; null: none has room */
  target?: string | null;
  /** a step that fails (capture and exit: on the old account; the others on the new one, "b") */
  failAt?: FailAt;
  /** signals that arrive while the swap listens (session_start always does, unless failAt confirm on b) */
  turnDone?: boolean;
  carriedSubmitted?: boolean;
  /** other boxes plan too (issue 19): the accounts whose reservation the shared store refuses (full) */
  full?: string[];
  /** the chooser's ranking when it honours `exclude` (default: just `target`) */
  ranking?: string[];
  /** prompts sent on the old account ("a", the rollback's) are not confirmed either */
  resendFailsOnA?: boolean;
  /** the pre-swap checkpoint's capture waits for this */
  captureGate?: Promise<void>;
}

function setup(o: Setup = {}) {
  const store = new Store(openDb(mkdtempSync(join(dir, "s-"))));
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 6));
  store.insertSession(
    { name: "s1", kind: "dedicated", project: "/p", account: "a", claudeSessionId: "c1", state: o.state ?? "idle" },
    clock.now(),
  );
  let transcriptPath: string | null = null;
  if (o.refusedInTranscript) {
    transcriptPath = join(mkdtempSync(join(dir, "t-")), "c1.jsonl");
    const user = JSON.stringify({ type: "user", message: { role: "user", content: o.refusedInTranscript } });
    const limit = JSON.stringify({
      type: "assistant",
      message: { model: "<synthetic>", content: [{ type: "text", text: "You've hit your limit" }] },
      isApiErrorMessage: true,
    });
    writeFileSync(transcriptPath, `${user}\n${limit}\n`);
  }
  store.updateSession(
    "s1",
    {
      failedPrompt: o.failedPrompt ?? null,
      lastPrompt: o.failedPrompt ?? "earlier",
      lastPromptAt: clock.now() - 5000,
      lastPromptAnswered: o.failedPrompt ? false : o.state !== "busy",
      transcriptPath,
    },
    clock.now(),
  );
  clock.advance(1000);
  const account = () => store.getSession("s1")!.account;
  const onB = () => account() === "b";
  const pane: PaneStatus = { dead: false, pid: o.child?.pid ?? null };
  const locks = new SessionLocks();
  const calls: string[] = [];
  const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
  const sent: Array<{ text: string; on: string | null }> = [];
  const launches: Array<{ on: string | null; argv: string[] }> = [];
  const saved: unknown[] = [];
  const fail = (at: FailAt) => o.failAt === at && onB();
  const sessions = {
    specs: new Map([["s1", { project: "/p" }]]),
    get: (n: string) => store.getSession(n),
    updateRow: (n: string, patch: Partial<SessionRow>) => store.updateSession(n, patch, clock.now()),
    setState: (n: string, op: StateOp, patch: RowPatch = {}) =>
      store.updateSession(n, stateChange(store.getSession(n)!.state, op, patch).change, clock.now()),
    tryLock: (n: string, op: SessionOp) => locks.tryLock(n, op),
    lockedBy: (n: string) => locks.lockedBy(n),
    park: (n: string, resumeAt: number | null, reason: string) => {
      calls.push("park");
      store.updateSession(n, { state: "parked", stateReason: reason, parkedUntil: resumeAt }, clock.now());
    },
    event: (kind: string, _s: string | null, _a: string | null, data: Record<string, unknown> = {}) =>
      events.push({ kind, data }),
    prepareLaunch: (row: SessionRow) => ({
      argv: ["claude", "--resume", row.claudeSessionId!],
      resume: true,
      newConversation: false,
    }),
    waitForSignal: async (n: string, pred: (s: SessionSignal) => boolean) => {
      const arriving: SessionSignal["signal"][] = [];
      if (!fail("confirm")) arriving.push({ kind: "session_start", source: "resume", claudeSessionId: "c1" });
      if (o.turnDone) arriving.push({ kind: "turn_done", message: "done" });
      if (o.carriedSubmitted) arriving.push({ kind: "prompt_submitted", prompt: NOTE, account: "b" });
      for (const signal of arriving) {
        const s = { session: n, ts: clock.now(), signal };
        if (pred(s)) return s;
      }
      return null;
    },
    // the session's pane is always there here: the launch respawns it
    launchIn: async (_n: string, argv: string[]) => {
      calls.push(`respawn on ${account()}`);
      if (fail("respawn")) throw new CfError("tmux_failed", "respawn-pane failed");
      launches.push({ on: account(), argv });
      pane.dead = false;
      pane.pid = null;
    },
    prompts: {
      send: async (_n: string, text: string) => {
        sent.push({ text, on: account() });
        return fail("resend") || (o.resendFailsOnA && account() === "a")
          ? { ok: false, reason: "no UserPromptSubmit" }
          : { ok: true, confirmedAt: clock.now() };
      },
      input: {
        command: async (_n: string, cmd: string) => {
          calls.push(`command ${cmd}`);
          if (o.failAt === "exit") throw new CfError("input_failed", "the input box never showed /exit");
          // the CLI exits on /exit: a real child ends (by SIGHUP here, to tell it from the swap's own SIGTERM)
          if (o.child && o.child.exitCode === null && o.child.signalCode === null) {
            const gone = once(o.child, "exit");
            o.child.kill("SIGHUP");
            await gone;
          }
          pane.dead = true;
        },
      },
    },
  };
  const checkpoints = {
    capture: async (session: string, why: string) => {
      calls.push("capture");
      await o.captureGate;
      if (o.failAt === "capture") throw new CfError("checkpoint_failed", "pane capture failed");
      return { session, why };
    },
    save: (cp: unknown) => saved.push(cp),
  };
  const accounts = {
    row: (n: string) => ({ name: n, state: "active", stateUntil: null }),
    config: (n: string) => ({ name: n }),
  };
  const target = o.target === undefined ? "b" : o.target;
  const chooser = {
    choose: (c: { exclude?: string[] } = {}) => {
      const pick = o.ranking ? (o.ranking.find((x) => !c.exclude?.includes(x)) ?? null) : target;
      return pick ? { ok: true, account: pick } : { ok: false, reason: "no account has room", resumeAt: RESUME_AT };
    },
  };
  const reservations: Array<{ op: "reserve" | "end"; account?: string; id?: string | null; moved?: boolean }> = [];
  const moves = o.full
    ? {
        reserve: async (_s: string, account: string) => {
          reservations.push({ op: "reserve" as const, account });
          return o.full!.includes(account)
            ? { ok: false as const, reason: `${account} is full` }
            : { ok: true as const, id: `r-${account}` };
        },
        end: async (id: string | null, moved: boolean) => {
          reservations.push({ op: "end" as const, id, moved });
        },
      }
    : null;
  const panes: Pane = {
    status: async (n) => (n === "s1" ? { ...pane } : null),
    sendKeys: async (_n, key) => {
      calls.push(`key ${key}`);
    },
    capture: async () => "",
    sendLiteral: async () => {},
    paste: async () => {},
  };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, child: () => log };
  const swaps = new SwapService(
    {
      sessions: sessions as never,
      pane: panes,
      store,
      accounts: accounts as never,
      chooser: chooser as never,
      checkpoints: checkpoints as never,
      clock,
      log: log as never,
      moves,
    },
    { tuning: { gracefulMs: 1000, exitMs: 2000, confirmMs: 1000, continueNote: NOTE } },
  );
  const steps = (id: number) => store.getSwap(id)!.steps.map((s) => s.step);
  const lockSession = (op: SessionOp) => sessions.tryLock("s1", op);
  return {
    store,
    clock,
    swaps,
    calls,
    events,
    sent,
    launches,
    saved,
    steps,
    lockSession,
    lockedBy: () => locks.lockedBy("s1"),
    reservations,
  };
}

const req = (x: Partial<SwapRequest> = {}): SwapRequest => ({
  session: "s1",
  reason: "quota_hard",
  urgent: false,
  hard: false,
  ...x,
});

function sleeper(): ChildProcess {
  return spawn("sleep", ["30"], { stdio: "ignore" });
}
async function ended(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  return child.signalCode;
}

/**
 * Runs a swap that ends a real child: the child's exit is awaited as an event (it comes without any clock
 * time passing: the signal is sent before the first sleep), then the manual clock is driven until the swap
 * returns. No real sleep.
 */
async function swapEnding(t: ReturnType<typeof setup>, child: ChildProcess, r: SwapRequest) {
  let out: Awaited<ReturnType<typeof t.swaps.swap>> | undefined;
  void t.swaps.swap(r).then((v) => (out = v));
  const signal = await ended(child);
  return { signal, r: await t.clock.advanceUntil(() => out, 60_000, "the swap") };
}

describe("SwapService: success", () => {
  it("moves the session to the chosen account and resends the refused prompt", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1" });
    const r = await t.swaps.swap(req({ hard: true }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.to, "b");
    assert.equal(r.from, "a");
    assert.equal(r.resent, true);
    assert.deepEqual(t.sent, [{ text: "p1", on: "b" }]);
    assert.deepEqual(t.launches, [{ on: "b", argv: ["claude", "--resume", "c1"] }]);
    assert.deepEqual(t.steps(r.swapId), [
      "locked",
      "checkpointed",
      "turn_ended",
      "exited",
      "respawned",
      "confirmed",
      "resent",
    ]);
    const sw = t.store.getSwap(r.swapId)!;
    assert.equal(sw.outcome, "ok");
    assert.equal(sw.resend, "p1");
    const row = t.store.getSession("s1")!;
    assert.equal(row.account, "b");
    assert.equal(row.lastPrompt, "p1");
    assert.equal(t.saved.length, 1, "the pre-swap checkpoint is written once");
    assert.equal(t.lockedBy(), undefined, "the lock is released");
  });

  it("carries the continue note on the launch when the transcript still holds the refused prompt", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", refusedInTranscript: "p1", carriedSubmitted: true });
    const r = await t.swaps.swap(req({ hard: true }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.resent, true);
    assert.deepEqual(t.launches, [{ on: "b", argv: ["claude", "--resume", "c1", "--", NOTE] }]);
    assert.deepEqual(t.sent, [], "nothing typed: the note rode on the launch");
    assert.equal(t.store.getSwap(r.swapId)!.resend, NOTE, "the swap row names what was actually sent");
    assert.equal(t.store.getSwap(r.swapId)!.steps.at(-1)!.note, "carried at launch");
    assert.equal(t.store.getSession("s1")!.lastPrompt, "p1", "the session still works on the prompt, not the note");
    assert.ok(t.events.some((e) => e.kind === "swap.resend_as_note"));
  });

  it("types the continue note when the carried one is not seen submitted", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", refusedInTranscript: "p1" });
    const r = await t.swaps.swap(req({ hard: true }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(t.sent, [{ text: NOTE, on: "b" }]);
    assert.equal(t.store.getSession("s1")!.lastPrompt, "p1");
  });
});

describe("SwapService: nowhere to go", () => {
  it("parks a hard-limited session until the chooser's resume time", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", target: null });
    const r = await t.swaps.swap(req({ hard: true }));
    assert.deepEqual(r, { ok: false, swapId: null, outcome: "parked", reason: "no account has room" });
    const row = t.store.getSession("s1")!;
    assert.equal(row.state, "parked");
    assert.equal(row.parkedUntil, RESUME_AT);
    assert.equal(row.account, "a");
    assert.deepEqual(t.store.listSwaps(), [], "no swap row");
    assert.deepEqual(t.calls, ["park"], "no capture, exit or launch");
    assert.equal(t.lockedBy(), undefined);
  });

  it("refuses (no park) when the limit is not hard", async () => {
    const t = setup({ state: "idle", target: null });
    const r = await t.swaps.swap(req());
    assert.deepEqual(r, { ok: false, swapId: null, outcome: "refused", reason: "no account has room" });
    assert.equal(t.store.getSession("s1")!.state, "idle");
    assert.deepEqual(t.calls, []);
  });
});

describe("SwapService: lock already held", () => {
  it("refuses a second swap and leaves the first one's lock", async () => {
    const t = setup();
    t.lockSession("swap");
    const r = await t.swaps.swap(req());
    assert.deepEqual(r, { ok: false, swapId: null, outcome: "refused", reason: "session s1 is already swapping" });
    assert.equal(t.lockedBy(), "swap", "the holder's lock is not released by the refused call");
    assert.deepEqual(t.calls, []);
  });

  it("refuses with the holder's message when another operation holds it", async () => {
    const t = setup();
    t.lockSession("send");
    const r = await t.swaps.swap(req());
    assert.deepEqual(r, {
      ok: false,
      swapId: null,
      outcome: "refused",
      reason: "session s1 is busy: send in progress",
    });
    assert.equal(t.lockedBy(), "send");
  });
});

describe("SwapService: rollback when a step fails", () => {
  // The last step recorded before the failing one.
  const cases: Array<{ failAt: FailAt; lastStep: string; error: RegExp; sentOnB: number }> = [
    { failAt: "capture", lastStep: "locked", error: /pane capture failed/, sentOnB: 0 },
    { failAt: "exit", lastStep: "turn_ended", error: /never showed \/exit/, sentOnB: 0 },
    { failAt: "respawn", lastStep: "exited", error: /respawn-pane failed/, sentOnB: 0 },
    { failAt: "confirm", lastStep: "respawned", error: /did not report SessionStart/, sentOnB: 0 },
    { failAt: "resend", lastStep: "confirmed", error: /resent prompt not confirmed/, sentOnB: 1 },
  ];
  for (const c of cases) {
    it(`${c.failAt} fails: back on the old account, the prompt resent there`, async () => {
      const t = setup({ state: "idle", failAt: c.failAt });
      const r = await t.swaps.swap(req({ resend: "p1", reason: "quota_soft" }));
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.outcome === "rolled_back", JSON.stringify(r));
      assert.match(r.reason, c.error);
      const sw = t.store.getSwap(r.swapId!)!;
      assert.equal(sw.outcome, "rolled_back");
      assert.equal(sw.steps.at(-1)!.step, c.lastStep);
      const row = t.store.getSession("s1")!;
      assert.equal(row.account, "a");
      assert.equal(row.state, "idle");
      assert.match(row.stateReason ?? "", /swap to b failed/);
      assert.equal(t.launches.at(-1)!.on, "a", "the CLI is launched again on the old account");
      assert.deepEqual(
        t.sent.filter((s) => s.on === "b"),
        Array.from({ length: c.sentOnB }, () => ({ text: "p1", on: "b" })),
      );
      assert.deepEqual(
        t.sent.filter((s) => s.on === "a"),
        [{ text: "p1", on: "a" }],
      );
      assert.equal(t.saved.length, c.failAt === "capture" ? 0 : 1, "a captured checkpoint is still written");
      assert.equal(t.lockedBy(), undefined);
      assert.ok(t.events.some((e) => e.kind === "swap.rolled_back"));
    });
  }

  it("the rollback's resend is the continue note when the transcript still holds the prompt", async () => {
    const t = setup({ state: "idle", failAt: "respawn", refusedInTranscript: "p1" });
    const r = await t.swaps.swap(req({ resend: "p1" }));
    assert.ok(!r.ok && r.outcome === "rolled_back", JSON.stringify(r));
    assert.deepEqual(t.sent, [{ text: NOTE, on: "a" }]);
    assert.equal(t.store.getSession("s1")!.lastPrompt, "p1");
  });

  it("a turn the swap cut short is continued on the old account when the swap rolls back", async () => {
    const t = setup({ state: "busy", failAt: "confirm" });
    const r = await t.swaps.swap(req({ urgent: true, reason: "manual" }));
    assert.ok(!r.ok && r.outcome === "rolled_back", JSON.stringify(r));
    assert.ok(t.calls.includes("key Escape"), "the turn was cut");
    assert.deepEqual(t.sent, [{ text: NOTE, on: "a" }], "the cut turn is continued, not dropped");
    assert.equal(t.store.getSession("s1")!.lastPrompt, "earlier", "the session still works on the cut prompt");
  });

  it("a rollback whose resend is not confirmed parks with the prompt owed, never drops it", async () => {
    const t = setup({ state: "idle", failAt: "confirm", resendFailsOnA: true });
    const r = await t.swaps.swap(req({ resend: "p1", reason: "quota_soft" }));
    assert.ok(!r.ok && r.outcome === "parked", JSON.stringify(r));
    assert.match(r.reason, /rollback failed: the prompt resent on a was not confirmed/);
    const row = t.store.getSession("s1")!;
    assert.equal(row.state, "parked");
    assert.equal(row.failedPrompt, "p1", "the resume will send it");
    assert.deepEqual(t.sent, [{ text: "p1", on: "a" }]);
  });

  it("a hard swap whose step fails parks, keeping the prompt owed", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", failAt: "respawn", target: "b" });
    const r = await t.swaps.swap(req({ hard: true }));
    assert.ok(!r.ok && r.outcome === "parked", JSON.stringify(r));
    const row = t.store.getSession("s1")!;
    assert.equal(row.state, "parked");
    assert.equal(row.failedPrompt, "p1");
    assert.equal(t.store.getSwap(r.swapId!)!.outcome, "parked");
    assert.deepEqual(t.sent, [], "nothing sent: the account that refused it is not used again");
  });
});

describe("SwapService: ending the old CLI", () => {
  it("an idle CLI is ended with SIGTERM, no /exit typed", async () => {
    const child = sleeper();
    try {
      const t = setup({ state: "idle", child });
      const { r, signal } = await swapEnding(t, child, req());
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(signal, "SIGTERM");
      assert.ok(!t.calls.includes("command /exit"), t.calls.join(", "));
      assert.equal(t.store.getSwap(r.swapId)!.steps.find((s) => s.step === "exited")!.note, "SIGTERM");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a busy CLI is interrupted and /exit-ed, not sent SIGTERM", async () => {
    const child = sleeper();
    try {
      const t = setup({ state: "busy", child });
      const { r, signal } = await swapEnding(t, child, req({ urgent: true }));
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(signal, "SIGHUP", "ended by the fake /exit, not by a SIGTERM");
      assert.deepEqual(t.calls.slice(0, 3), ["capture", "key Escape", "command /exit"]);
      assert.equal(t.store.getSwap(r.swapId)!.steps.find((s) => s.step === "exited")!.note, undefined);
      assert.equal(t.store.getSwap(r.swapId)!.steps.find((s) => s.step === "turn_ended")!.note, "turn cut short");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a busy CLI whose turn ends while the swap waits is then idle: SIGTERM", async () => {
    const child = sleeper();
    try {
      const t = setup({ state: "busy", child, turnDone: true });
      const { r, signal } = await swapEnding(t, child, req());
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(signal, "SIGTERM");
      assert.ok(!t.calls.includes("key Escape"));
      assert.ok(!t.calls.includes("command /exit"));
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("SwapService: moves planned with other boxes (issue 19 MoveGate)", () => {
  it("reserves the chosen target before the swap and keeps the reservation once the session moved", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", full: [], ranking: ["b", "c"] });
    const r = await t.swaps.swap(req({ hard: true, urgent: true, reason: "rate_limit" }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.to, "b");
    assert.deepEqual(t.reservations, [
      { op: "reserve", account: "b" },
      { op: "end", id: "r-b", moved: true },
    ]);
  });

  it("passes over a target other boxes' reservations filled and moves to the next best", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", full: ["b"], ranking: ["b", "c"] });
    const r = await t.swaps.swap(req({ hard: true, urgent: true, reason: "rate_limit" }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.to, "c");
    assert.equal(t.store.getSession("s1")!.account, "c");
    assert.deepEqual(t.reservations, [
      { op: "reserve", account: "b" },
      { op: "reserve", account: "c" },
      { op: "end", id: "r-c", moved: true },
    ]);
    const full = t.events.find((e) => e.kind === "swap.target_full");
    assert.deepEqual(full?.data, { to: "b", reason: "b is full" });
  });

  it("parks a hard-limited session when every target is full, naming why; nothing left reserved", async () => {
    const t = setup({ state: "limited", failedPrompt: "p1", full: ["b", "c"], ranking: ["b", "c"] });
    const r = await t.swaps.swap(req({ hard: true, urgent: true, reason: "rate_limit" }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.outcome, "parked");
    assert.equal(!r.ok && r.reason, "b is full; c is full; no account has room");
    assert.deepEqual(t.calls, ["park"]);
    assert.equal(t.store.getSession("s1")!.parkedUntil, RESUME_AT);
    assert.deepEqual(
      t.reservations.map((x) => x.op),
      ["reserve", "reserve"],
    );
  });

  it("releases the reservation when the swap rolls back", async () => {
    const t = setup({ state: "idle", full: [], ranking: ["b"], failAt: "respawn" });
    const r = await t.swaps.swap(req({ reason: "manual" }));
    assert.equal(r.ok, false);
    assert.deepEqual(t.reservations.at(-1), { op: "end", id: "r-b", moved: false });
  });

  it("does not reserve for a swap told its target (the quota monitor reserved it already)", async () => {
    const t = setup({ state: "idle", full: ["b"], ranking: ["b"] });
    const r = await t.swaps.swap(req({ to: "b", reason: "quota_threshold" }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(t.reservations, []);
  });
});

describe("SwapService.settled (what Daemon.stop waits for)", () => {
  it("resolves true once the running swap ends, holding one timer and no poll; at once with none running", async () => {
    let open: () => void = () => {};
    const t = setup({ captureGate: new Promise<void>((r) => (open = r)) });
    assert.equal(await t.swaps.settled(30_000), true, "none running");
    const swap = t.swaps.swap(req());
    let settled: boolean | undefined;
    void t.swaps.settled(30_000).then((v) => (settled = v));
    await t.clock.advanceAsync(29_000);
    assert.equal(settled, undefined, "still running");
    assert.equal(t.clock.pending(), 1, "only its deadline: nothing polls");
    open();
    await t.clock.advanceUntil(() => settled !== undefined, 1000, "settled");
    assert.equal(settled, true);
    assert.ok((await swap).ok);
    assert.equal(t.clock.pending(), 0, "its deadline cancelled");
  });

  it("resolves false after its limit of clock time with a swap still running", async () => {
    const t = setup({ captureGate: new Promise<void>(() => {}) });
    void t.swaps.swap(req());
    const t0 = t.clock.now();
    let settled: boolean | undefined;
    void t.swaps.settled(30_000).then((v) => (settled = v));
    await t.clock.advanceUntil(() => settled !== undefined, 60_000, "settled");
    assert.equal(settled, false);
    assert.equal(t.clock.now() - t0, 30_000);
  });
});
