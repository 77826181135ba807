// What a daemon that died in the middle of a swap does next (TurnContinuation.collect/finish), on a real
// SQLite store: a swap whose CLI was already respawned (the step not yet written) is not respawned again,
// and a continue note carried at launch counts as the resend.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { continueAfterRecreate, TurnContinuation } from "../../src/sessions/continue-turn.js";
import { stateChange, type RowPatch, type StateOp } from "../../src/sessions/session-states.js";
import { SessionLocks } from "../../src/sessions/session-locks.js";
import { ManualClock } from "../../src/util/clock.js";

const dir = mkdtempSync(join(tmpdir(), "cf-swaprec-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOTE = "Continue where you left off.";

function setup(step: string, launchedAfter: boolean, o: { sendFails?: boolean } = {}) {
  const store = new Store(openDb(mkdtempSync(join(dir, "s-"))));
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 18, 27, 40));
  store.insertSession(
    { name: "s32", kind: "dedicated", project: "/p", account: "e", claudeSessionId: "c1", state: "swapping" },
    clock.now(),
  );
  const started = clock.now();
  const id = store.insertSwap(
    { session: "s32", from: "b", to: "e", reason: "quota_hard", urgent: false, resend: "soak-p000132" },
    started,
  );
  for (const s of ["locked", "checkpointed", "turn_ended", "exited", "respawned"]) {
    store.recordSwapStep(id, { step: s, at: started, ms: 0 });
    if (s === step) break;
  }
  clock.advance(9000);
  if (launchedAfter) store.updateSession("s32", { launchId: "0b1a142851ca", launchedAt: clock.now() }, clock.now());
  const sent: string[] = [];
  const locks = new SessionLocks();
  const parked: string[] = [];
  const sessions = {
    restart: async () => sent.push("restart"),
    waitReady: async () => true,
    tryLock: (n: string, op: "continue") => locks.tryLock(n, op),
    lockedBy: (n: string) => locks.lockedBy(n),
    park: (n: string, _at: number, reason: string) => {
      parked.push(reason);
      store.updateSession(n, { state: "parked", stateReason: reason }, clock.now());
    },
    event: (kind: string, s: string | null, a: string | null, data: Record<string, unknown>) =>
      store.appendEvent(clock.now(), kind, s, a, data),
    get: (n: string) => store.getSession(n),
    updateRow: (n: string, patch: object) => store.updateSession(n, patch, clock.now()),
    setState: (n: string, op: StateOp, patch: RowPatch = {}) =>
      store.updateSession(n, stateChange(store.getSession(n)!.state, op, patch).change, clock.now()),
    prompts: {
      send: async (_n: string, t: string) => {
        sent.push(t);
        return o.sendFails ? { ok: false, reason: "no UserPromptSubmit" } : { ok: true };
      },
    },
  };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const rec = new TurnContinuation(
    {
      store,
      sessions: sessions as never,
      pane: { status: async (n: string) => (n === "s32" ? { dead: false, pid: 1 } : null) },
      clock,
      log: log as never,
    },
    { swapConfig: () => ({ continue_note: NOTE, confirm_timeout: 1000 }) as never },
  );
  return { store, clock, rec, sent, locks, parked };
}

describe("TurnContinuation after a crash", () => {
  it("at `exited` with the swap's own launch already in the pane: no second respawn", async () => {
    const t = setup("exited", true);
    const [p] = t.rec.collect();
    assert.equal(p!.respawn, false);
    // The note carried at launch was submitted (and answered) before the crash: nothing resent.
    t.store.updateSession(
      "s32",
      { lastPrompt: NOTE, lastPromptAt: t.clock.now(), lastPromptAnswered: true },
      t.clock.now(),
    );
    await t.rec.finish(p!);
    assert.deepEqual(t.sent, []);
  });
  it("at `exited` with no launch since the swap started: respawned, and the prompt resent", async () => {
    const t = setup("exited", false);
    const [p] = t.rec.collect();
    assert.equal(p!.respawn, true);
    await t.rec.finish(p!);
    assert.deepEqual(t.sent, ["restart", "soak-p000132"]);
  });
  it("a prompt submitted since the swap started (a pool session's next task after its /clear): nothing resent", async () => {
    // chaos seed 271828 (2026-12-01): the carried note was answered and the task done; the pool cleared the
    // session and ran its next task while finish waited for the hold; finish then typed the done task again.
    const t = setup("exited", true);
    const [p] = t.rec.collect();
    t.store.updateSession("s32", { lastPrompt: "soak-t000057", lastPromptAt: t.clock.now() }, t.clock.now());
    await t.rec.finish(p!);
    assert.deepEqual(t.sent, []);
  });
  it("before `exited`, but the pane relaunched by this daemon's start since the swap began: not respawned again", async () => {
    // chaos seed 271828 (2026-12-01): the start relaunched s32's dead pane and continued its turn; finish then
    // respawned that CLI, cutting the answer, whose Stop came from a launch no longer current.
    const t = setup("locked", true);
    const [p] = t.rec.collect();
    assert.equal(p!.respawn, true, "the old CLI may still be there, as far as the swap row says");
    t.store.updateSession("s32", { lastPrompt: NOTE, lastPromptAt: t.clock.now() }, t.clock.now());
    await t.rec.finish(p!);
    assert.deepEqual(t.sent, [], "neither respawned nor resent");
  });
  it("holds the session from the call on, so the quota monitor's swap can't type into it meanwhile", async () => {
    // chaos seed 424242 (2026-12-01): the monitor's first tick swapped s36 while this respawned it; the
    // swap's /exit and the continue note were submitted as one prompt, and the prompt was resent again.
    const t = setup("exited", false);
    const [p] = t.rec.collect();
    const done = t.rec.finish(p!); // not awaited, as the daemon's start calls it
    assert.equal(t.locks.lockedBy("s32"), "continue", "held before the first await");
    const swap = t.locks.tryLock("s32", "swap");
    assert.equal(swap.ok, false);
    await done;
    assert.deepEqual(t.sent, ["restart", "soak-p000132"]);
    assert.equal(t.locks.lockedBy("s32"), undefined, "let go when done");
  });
  it("a resend that is not confirmed is not dropped: parked with the prompt owed, after letting go", async () => {
    const t = setup("exited", false, { sendFails: true });
    const [p] = t.rec.collect();
    t.store.updateSession("s32", { state: "idle" }, t.clock.now()); // the new CLI's SessionStart
    await t.clock.drive(t.rec.finish(p!), 600_000);
    assert.deepEqual(t.sent, ["restart", "soak-p000132"]);
    assert.equal(t.parked.length, 1);
    assert.equal(t.store.getSession("s32")!.failedPrompt, "soak-p000132");
    assert.equal(t.locks.lockedBy("s32"), undefined);
  });
  it("before `exited` (the old CLI still runs): respawned whatever the row says", () => {
    const t = setup("checkpointed", true);
    assert.equal(t.rec.collect()[0]!.respawn, true);
  });
});

describe("continueAfterRecreate: what a cut turn gets after its CLI came back", () => {
  const transcript = (lines: object[]) => {
    const p = join(mkdtempSync(join(dir, "t-")), "c1.jsonl");
    writeFileSync(p, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    return p;
  };
  async function run(
    transcriptPath: string,
    o: { heldBy?: string; releaseAfterMs?: number; sendFails?: boolean; answeredBySwap?: boolean } = {},
  ) {
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 10, 41, 53));
    const store = new Store(openDb(mkdtempSync(join(dir, "s-"))));
    store.insertSession(
      { name: "s13", kind: "dedicated", project: "/p", account: "c", claudeSessionId: "c1", state: "idle" },
      1,
    );
    const row = store.updateSession(
      "s13",
      { lastPrompt: "soak-p000017", lastPromptAt: 1, lastPromptAnswered: false, started: true, transcriptPath },
      1,
    )!;
    const sent: string[] = [];
    let held: string | undefined = o.heldBy;
    if (held && o.releaseAfterMs !== undefined)
      clock.after(o.releaseAfterMs, () => {
        held = undefined;
        // the holder (a swap) sent the continue itself and it was answered
        if (o.answeredBySwap) store.updateSession("s13", { lastPromptAnswered: true }, clock.now());
      });
    const parked: Array<{ until: number | null; reason: string }> = [];
    const sessions = {
      waitReady: async () => true,
      get: (n: string) => store.getSession(n),
      lockedBy: () => held,
      tryLock: (_n: string, op: string) => {
        if (held) return { ok: false, heldBy: held };
        held = op;
        return { ok: true, release: () => (held = undefined) };
      },
      updateRow: (n: string, patch: object) => store.updateSession(n, patch, 2),
      setState: (n: string, op: StateOp, patch: RowPatch = {}) =>
        store.updateSession(n, stateChange(store.getSession(n)!.state, op, patch).change, 2),
      park: (n: string, until: number | null, reason: string) => {
        parked.push({ until, reason });
        store.updateSession(n, { state: "parked", parkedUntil: until, stateReason: reason }, clock.now());
      },
      event: (kind: string, s: string | null, a: string | null, data: Record<string, unknown>) =>
        store.appendEvent(2, kind, s, a, data),
      prompts: {
        send: async (_n: string, t: string) => {
          sent.push(t);
          return o.sendFails ? { ok: false, reason: "no UserPromptSubmit" } : { ok: true };
        },
      },
    };
    const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    await clock.drive(
      continueAfterRecreate(
        sessions as never,
        store,
        row,
        { continue_note: NOTE, confirm_timeout: 1000 } as never,
        log as never,
        clock,
      ),
      600_000,
    );
    return { sent, parked, row: store.getSession("s13")!, clock };
  }
  it("the conversation holds the prompt, unanswered: the continue note", async () => {
    const p = transcript([
      { type: "user", message: { role: "user", content: "earlier" } },
      { type: "assistant", message: { role: "assistant", content: [{ type: "text", text: "ok" }] } },
      { type: "user", message: { role: "user", content: "soak-p000017" } },
    ]);
    assert.deepEqual((await run(p)).sent, [NOTE]);
  });
  it("the same conversation id but the prompt never reached its transcript (a fresh one, or lost with the CLI): the prompt itself", async () => {
    const p = transcript([
      { type: "user", message: { role: "user", content: "earlier" } },
      { type: "assistant", message: { role: "assistant", content: [{ type: "text", text: "ok" }] } },
    ]);
    assert.deepEqual((await run(p)).sent, ["soak-p000017"]);
  });
  const holding = () =>
    transcript([
      { type: "user", message: { role: "user", content: "earlier" } },
      { type: "assistant", message: { role: "assistant", content: [{ type: "text", text: "ok" }] } },
      { type: "user", message: { role: "user", content: "soak-p000017" } },
    ]);
  it("the CLI answered (the continue note standing for the prompt) and died before its Stop: nothing is sent again", async () => {
    const p = transcript([
      { type: "user", message: { role: "user", content: "soak-p000017" } },
      {
        type: "assistant",
        message: { model: "<synthetic>", content: [{ type: "text", text: "limit" }] },
        isApiErrorMessage: true,
      },
      { type: "user", message: { role: "user", content: NOTE } },
      { type: "assistant", message: { role: "assistant", content: [{ type: "text", text: "ANSWER: soak-p000017" }] } },
    ]);
    const r = await run(p);
    assert.deepEqual(r.sent, [], "not typed again (soak seed 271828: answered twice)");
    assert.equal(r.row.lastPromptAnswered, true);
    assert.deepEqual(r.parked, []);
  });

  it("another operation holds the session: waits for it to let go, then continues (it was dropped)", async () => {
    const r = await run(holding(), { heldBy: "swap", releaseAfterMs: 20_000 });
    assert.deepEqual(r.sent, [NOTE]);
    assert.deepEqual(r.parked, []);
  });
  it("the holder answered the turn meanwhile: nothing more is sent", async () => {
    const r = await run(holding(), { heldBy: "swap", releaseAfterMs: 20_000, answeredBySwap: true });
    assert.deepEqual(r.sent, []);
    assert.deepEqual(r.parked, []);
  });
  it("the continue is not confirmed: parked with the prompt owed, resumed at once (never dropped)", async () => {
    const r = await run(holding(), { sendFails: true });
    assert.deepEqual(r.sent, [NOTE]);
    assert.equal(r.parked.length, 1);
    assert.match(r.parked[0]!.reason, /continue after restart not sent \(not confirmed: no UserPromptSubmit\)/);
    assert.equal(r.row.state, "parked");
    assert.equal(r.row.failedPrompt, "soak-p000017");
    assert.equal(r.row.parkedUntil, r.parked[0]!.until, "due now: the next resume tick sends it");
  });
  it("held past the wait: parked with the prompt owed once the holder lets go", async () => {
    const r = await run(holding(), { heldBy: "send", releaseAfterMs: 150_000 });
    assert.deepEqual(r.sent, []);
    assert.equal(r.row.state, "parked");
    assert.equal(r.row.failedPrompt, "soak-p000017");
  });
});
