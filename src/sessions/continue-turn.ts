import type { Config } from "../config/types.js";
import type { Store } from "../store/store.js";
import type { SessionRow } from "../store/types.js";
import type { Pane } from "../tmux/pane.js";
import { systemClock, type Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import { pollUntil } from "../util/wait.js";
import type { Logger } from "../util/log.js";
import type { SessionService } from "./session-service.js";
import { answeredInTranscript, readTranscriptTail, resendFor, transcriptHoldsRefused } from "./refused-prompt.js";
import { SWAP_STEPS } from "./swap.js";

export interface PendingContinuation {
  session: string;
  resend: string | null;
  startedAt: number;
  respawn: boolean;
}

/** TurnContinuation's collaborators. */
export interface ContinuationDeps {
  store: Store;
  sessions: SessionService;
  /** whether a session's pane is there and live */
  pane: Pick<Pane, "status">;
  clock: Clock;
  log: Logger;
}

/** TurnContinuation's parameters. */
export interface ContinuationOptions {
  /** the config's swap section, read when it is used (a reload changes it) */
  swapConfig: () => Config["swap"];
}

const stepIndex = (s: string) => (SWAP_STEPS as readonly string[]).indexOf(s);

/**
 * Swaps the daemon died in the middle of. The store changes the session's account before the pane is
 * respawned, so after a crash the row names the account the session must run on; before the respawn
 * step the old CLI may still be in the pane, so it is respawned. A prompt not yet resent is resent
 * once the session is up — unless the spool shows it was submitted before the crash.
 */
export class TurnContinuation {
  private readonly store: Store;
  private readonly sessions: SessionService;
  private readonly pane: Pick<Pane, "status">;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly swapConfig: () => Config["swap"];

  constructor(deps: ContinuationDeps, opts: ContinuationOptions) {
    this.store = deps.store;
    this.sessions = deps.sessions;
    this.pane = deps.pane;
    this.clock = deps.clock;
    this.log = deps.log;
    this.swapConfig = opts.swapConfig;
  }

  /** Closes every unfinished swap row and says what each session still needs. Call before reconcile. */
  collect(): PendingContinuation[] {
    const out: PendingContinuation[] = [];
    for (const sw of this.store.unfinishedSwaps()) {
      const now = this.clock.now();
      this.store.finishSwap(sw.id, "failed", `interrupted at step ${sw.step}: the daemon stopped`, now);
      this.store.appendEvent(now, "swap.interrupted", sw.session, sw.toAccount, { id: sw.id, step: sw.step });
      const row = this.store.getSession(sw.session);
      if (!row) continue;
      if (row.state === "swapping")
        this.sessions.setState(sw.session, "swap_recover", { stateReason: "recovering interrupted swap" });
      out.push({
        session: sw.session,
        resend: stepIndex(sw.step) < stepIndex("resent") ? sw.resend : null,
        startedAt: sw.startedAt,
        // Past `exited` the old CLI is gone; a launch prepared after the swap started is the swap's own
        // respawn, made just before the daemon died (its step not yet written): restarting it would cut the
        // turn it carried (chaos seed 571143).
        respawn:
          stepIndex(sw.step) < stepIndex("respawned") &&
          !(stepIndex(sw.step) >= stepIndex("exited") && (row.launchedAt ?? 0) >= sw.startedAt),
      });
    }
    return out;
  }

  /**
   * After reconcile: respawn where needed, then resend what was lost, holding the session ("continue") from
   * the call on, so nothing else drives it meanwhile. The hold is taken before the first await, so a caller
   * that does not await (the daemon's start) has it before the quota monitor's first tick: that tick once
   * swapped the session while this respawned it, the swap's `/exit` and this continue note were typed into
   * the same input box, submitted as one prompt, and the prompt was resent again after the swap (chaos
   * seed 424242, 2026-12-01: 11 prompts answered twice). Held by another operation: waits for it first.
   */
  async finish(p: PendingContinuation): Promise<void> {
    let hold = this.sessions.tryLock(p.session, "continue");
    let debt: Debt | null = null;
    try {
      if (!hold.ok) {
        await pollUntil(() => !this.sessions.lockedBy(p.session), {
          clock: this.clock,
          timeoutMs: HOLD_WAIT_MS,
          intervalMs: 200,
        });
        hold = this.sessions.tryLock(p.session, "continue");
        if (!hold.ok) {
          const row = this.sessions.get(p.session);
          if (p.resend && row)
            debt = { prompt: p.resend, lastPromptAt: row.lastPromptAt, why: `held by ${hold.heldBy}` };
          return;
        }
      }
      debt = await this.finishHeld(p);
    } catch (e) {
      this.log.error({ session: p.session, err: errorMessage(e) }, "finishing interrupted swap failed");
    } finally {
      if (hold.ok) hold.release();
      // Never dropped: parked with the prompt owed, resumed next (once the hold above is let go).
      if (debt) await deferContinue(this.sessions, p.session, debt, this.clock, this.log);
    }
  }

  /** finish's work, the session held: what is still owed when the resend could not be sent, else null. */
  private async finishHeld(p: PendingContinuation): Promise<Debt | null> {
    if (p.respawn) {
      // A CLI launched since the swap started is not the old one: this daemon's start relaunched a dead pane
      // (and may be continuing its turn). Respawning it cut that turn and dropped its Stop as a foreign
      // launch's (chaos seed 271828, 2026-12-01: a prompt answered by the model, never by the daemon's record).
      const relaunched = (this.sessions.get(p.session)?.launchedAt ?? 0) >= p.startedAt;
      const pane = await this.pane.status(p.session);
      if (!relaunched && pane && !pane.dead) await this.sessions.restart(p.session, "finish interrupted swap");
    }
    if (!p.resend) return null;
    if (!(await this.sessions.waitReady(p.session))) return null; // not started: the sweep's restart continues it
    const row = this.sessions.get(p.session);
    // A prompt submitted since the swap started means the session moved on: the resend itself, or the
    // continue note carried at launch in its place, made it before the crash (the swap had not yet written
    // its `resent` step); or another prompt came since, a pool session's next task after its /clear (chaos
    // seed 271828, 2026-12-01: the note was answered, the task done, the pool cleared the session and ran
    // the next task while this waited for its hold, then typed the done task again). A refusal of what came
    // since is the refused-prompt path's, not this one's.
    if ((row?.lastPromptAt ?? 0) >= p.startedAt) return null;
    // The model reads a refused prompt once: the continue note after it when the conversation still holds it.
    const { text, asNote } = resendFor(row?.transcriptPath ?? null, p.resend, this.swapConfig().continue_note);
    const r = await this.sessions.prompts.send(p.session, text, {
      confirmTimeoutMs: this.swapConfig().confirm_timeout,
    });
    if (!r.ok) return { prompt: p.resend, lastPromptAt: row?.lastPromptAt ?? null, why: `not confirmed: ${r.reason}` };
    if (asNote) this.sessions.updateRow(p.session, { lastPrompt: p.resend });
    this.store.appendEvent(this.clock.now(), "swap.resent_after_recovery", p.session, null, {});
    return null;
  }
}

/**
 * After a CLI was started again (it crashed, its tmux session vanished), a turn that was cut gets the
 * continue note; when the conversation had to start afresh, the cut prompt itself. Pool sessions are left
 * to the dispatcher, which retries a lost task turn itself (both would make the model answer it twice).
 */
export async function continueAfterRecreate(
  sessions: SessionService,
  store: Store,
  before: SessionRow,
  swap: Config["swap"],
  log: Logger,
  clock: Clock = systemClock,
): Promise<void> {
  let debt: Debt | null = null;
  try {
    if (before.kind !== "dedicated") return;
    if (!(await sessions.waitReady(before.name))) return; // not started: the sweep starts it again, and calls this again
    // Another operation may hold the session (a swap of the quota monitor, a send): wait for it to let go,
    // then look at the row again. It was given up before (chaos seed 424242: a cut turn's prompt lost).
    const free = await pollUntil(() => !sessions.lockedBy(before.name), {
      clock,
      timeoutMs: HOLD_WAIT_MS,
      intervalMs: 200,
    });
    // Read the turn from the row now, not from before the restart: the dead CLI's UserPromptSubmit (or
    // Stop) may have been applied only after the restart was decided; the spool applies events in order,
    // so by the new CLI's SessionStart they are all in.
    const now = sessions.get(before.name);
    if (!now?.lastPrompt || now.lastPromptAnswered || (now.state !== "idle" && now.state !== "parked")) return;
    // A CLI that answered and died before its Stop hook: the transcript shows the answer, nothing is owed.
    const tail = readTranscriptTail(now.transcriptPath);
    if (tail !== null && answeredInTranscript(tail, now.lastPrompt, swap.continue_note)) {
      sessions.updateRow(before.name, { lastPromptAnswered: true, failedPrompt: null });
      sessions.event("session.continue_not_needed", before.name, null, {
        why: "the transcript shows the prompt answered (its Stop was lost with the CLI)",
      });
      return;
    }
    debt = { prompt: now.failedPrompt ?? now.lastPrompt, lastPromptAt: now.lastPromptAt, why: "" };
    if (!free) {
      debt.why = `held by ${sessions.lockedBy(before.name) ?? "another operation"} for ${HOLD_WAIT_MS / 1000} s`;
      return;
    }
    if (now.state === "parked") {
      // No account to start on: the resume at the reset sends what it finds in failedPrompt.
      sessions.updateRow(before.name, { failedPrompt: now.failedPrompt ?? now.lastPrompt });
      sessions.event("session.continue_deferred", before.name, null, { until: now.parkedUntil });
      debt = null;
      return;
    }
    // The continue note only makes sense in a conversation that still holds the cut prompt, unanswered. A
    // new conversation (resume refused, or started by a daemon that died before continuing: chaos seeds
    // 424454, 270311), or a transcript the killed CLI never wrote the prompt to, gets the prompt itself.
    const fresh =
      now.claudeSessionId !== before.claudeSessionId || !transcriptHoldsRefused(now.transcriptPath, now.lastPrompt);
    // A refused prompt the conversation still holds gets the continue note after it (the model reads it once).
    const owed =
      now.failedPrompt && !fresh
        ? resendFor(now.transcriptPath, now.failedPrompt, swap.continue_note).text
        : now.failedPrompt;
    const text = owed ?? (fresh ? now.lastPrompt : swap.continue_note);
    // Typed keys must not interleave with a swap's /exit: a swap that got there first handles the cut turn.
    const lock = sessions.tryLock(before.name, "continue");
    if (!lock.ok) {
      debt.why = `held by ${lock.heldBy}`;
      return;
    }
    try {
      const r = await sessions.prompts.send(before.name, text, { confirmTimeoutMs: swap.confirm_timeout });
      if (!r.ok) {
        debt.why = `not confirmed: ${r.reason}`;
        return;
      }
      if (now.failedPrompt && text !== now.failedPrompt)
        sessions.updateRow(before.name, { lastPrompt: now.failedPrompt });
    } finally {
      lock.release();
    }
    debt = null;
    sessions.event("session.continued_after_restore", before.name, null, {});
  } catch (e) {
    if (debt) debt.why = errorMessage(e);
    log.warn({ session: before.name, err: errorMessage(e) }, "continue after restore failed");
  } finally {
    if (debt?.why) await deferContinue(sessions, before.name, debt, clock, log); // never rejects
  }
}

interface Debt {
  prompt: string;
  /** when the prompt owed was submitted: a later submission means someone else took over */
  lastPromptAt: number | null;
  why: string;
}

/**
 * A continue that could not be sent is never dropped: the session is parked with the prompt owed, and the
 * limit reactor's resume sends it (in place, on this CLI) at its next tick, and again 30 s later until it
 * is taken. Only an idle session still owing that very prompt is parked (a holder that let go may have
 * sent it meanwhile); one still held after another wait is reported (event `session.continue_lost`).
 */
async function deferContinue(
  sessions: SessionService,
  name: string,
  debt: Debt,
  clock: Clock,
  log: Logger,
): Promise<void> {
  try {
    await deferOnce(sessions, name, debt, clock, log);
  } catch (e) {
    log.error({ session: name, err: errorMessage(e) }, "deferring a cut turn's continue failed");
  }
}

async function deferOnce(sessions: SessionService, name: string, debt: Debt, clock: Clock, log: Logger) {
  await pollUntil(() => !sessions.lockedBy(name), { clock, timeoutMs: HOLD_WAIT_MS, intervalMs: 200 });
  const cur = sessions.get(name);
  if (!cur || cur.lastPromptAnswered || cur.lastPromptAt !== debt.lastPromptAt || cur.state !== "idle") return;
  if (sessions.lockedBy(name)) {
    sessions.event("session.continue_lost", name, cur.account, { why: debt.why, prompt: debt.prompt.slice(0, 80) });
    log.error({ session: name, why: debt.why }, "a cut turn's continue could not be sent or deferred");
    return;
  }
  sessions.updateRow(name, { failedPrompt: debt.prompt });
  sessions.park(name, clock.now(), `continue after restart not sent (${debt.why}): resumed next`);
  sessions.event("session.continue_deferred", name, null, { why: debt.why });
}

/** How long the continue after a restart waits for another operation holding the session (ms). */
export const HOLD_WAIT_MS = 120_000;
