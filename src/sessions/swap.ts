import type { AccountService } from "../accounts/account-service.js";
import type { Checkpoint } from "../checkpoint/checkpoint.js";
import type { CheckpointService } from "../checkpoint/checkpoint-service.js";
import type { Store } from "../store/store.js";
import type { SessionRow } from "../store/types.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { pollUntil } from "../util/wait.js";
import type { SessionService } from "./session-service.js";
import { checkPromptText } from "../claude/prompt-text.js";
import { resendFor, transcriptHoldsRefused } from "./refused-prompt.js";
import { processEnded, processStart } from "./swap-process-exit.js";
import { busyReason } from "./session-locks.js";
import type { AccountChooser } from "./types.js";

export interface SwapRequest {
  session: string;
  to?: string;
  reason: string;
  /** don't wait for a running turn to end */
  urgent: boolean;
  /** the CLI refused a request on the current account (StopFailure rate_limit): park if nowhere to go */
  hard: boolean;
  /** prompt to send again once resumed (the one that failed) */
  resend?: string | null;
  /** with `to` the session's own account: a fresh CLI on the same account (a rejected token is refreshed by a new process) */
  sameAccount?: boolean;
}

/** A prompt the session is owed should the swap fail; `cut`: a turn the swap cut short (not a refused one). */
interface Owed {
  prompt: string | null;
  cut: boolean;
}

export type SwapOutcome =
  | { ok: true; swapId: number; from: string | null; to: string; durationMs: number; resent: boolean }
  | { ok: false; swapId: number | null; outcome: "refused" | "rolled_back" | "parked" | "failed"; reason: string };

export interface SwapTuning {
  gracefulMs: number;
  exitMs: number;
  confirmMs: number;
  continueNote: string;
}

/** Step names, in order; each is timed and recorded in the swap row and as an event. */
export const SWAP_STEPS = [
  "locked",
  "checkpointed",
  "turn_ended",
  "exited",
  "respawned",
  "confirmed",
  "resent",
] as const;
export type SwapStepName = (typeof SWAP_STEPS)[number];

/**
 * The swap (design.md steps 1-9): lock, checkpoint, wait for the turn (unless urgent), dismiss dialogs,
 * /exit (escalating), respawn the same pane under the target account with --resume, confirm via
 * SessionStart, resend what was lost, confirm via UserPromptSubmit. Any failure rolls back to the
 * original account, or parks the session when that one can't be used either.
 */
/** A note that can ride on the launch argv: one plain line that no CLI reads as an option, command or mode. */
export function carryable(note: string): boolean {
  const c = checkPromptText(note);
  return c.ok && c.body === note && !/^[-!#&?]/.test(note) && !note.includes("\n") && note.length <= 1000;
}

/**
 * Planned-move reservations shared with other boxes (issue 19; store.backend: postgres), for the moves whose
 * target the swap picks itself (a refusal's urgent move, a token's move, a manual swap with no target): one
 * move of `session` onto `account` is reserved before the swap starts, so every box's moves together stay
 * within the account's threshold. quota/move-gate.ts; absent with one box.
 */
export interface MoveGate {
  /** Never rejects; `ok: false` when every box's reservations fill `account` (`reason` says so). */
  reserve(
    session: string,
    account: string,
    now: number,
  ): Promise<{ ok: true; id: string | null } | { ok: false; reason: string }>;
  /** Ends reservation `id`: kept for the dwell time when the session moved, else released. Never rejects. */
  end(id: string | null, moved: boolean, now: number): Promise<void>;
}

/** What the swap works with; the chooser is built before it (quota/account-chooser.ts). */
export interface SwapDeps {
  sessions: SessionService;
  /** the sessions' panes: keys to interrupt and end a CLI, whether its pane is there and its process */
  pane: Pane;
  store: Store;
  accounts: AccountService;
  /** picks the target when the request names none */
  chooser: AccountChooser;
  checkpoints: CheckpointService;
  clock: Clock;
  log: Logger;
  /** reservations shared with other boxes (store.backend: postgres); null or absent on one box */
  moves?: MoveGate | null;
}

export interface SwapOptions {
  /** config/params.ts swapTuning */
  tuning: SwapTuning;
  /** Fault injection for the crash-safety tests: called after each step is recorded (the daemon may die there). */
  onStep?: (step: SwapStepName, session: string) => void | Promise<void>;
}

export class SwapService {
  private readonly onStep: ((step: SwapStepName, session: string) => void | Promise<void>) | null;
  private readonly sessions: SessionService;
  private readonly pane: Pane;
  private readonly store: Store;
  private readonly accounts: AccountService;
  private readonly chooser: AccountChooser;
  private readonly checkpoints: CheckpointService;
  private readonly clock: Clock;
  /** swaps under way (settled() waits for them) */
  private readonly running = new Set<Promise<SwapOutcome>>();
  private readonly log: Logger;
  private readonly moves: MoveGate | null;
  private tuning: SwapTuning;

  constructor(deps: SwapDeps, opts: SwapOptions) {
    this.sessions = deps.sessions;
    this.pane = deps.pane;
    this.store = deps.store;
    this.accounts = deps.accounts;
    this.chooser = deps.chooser;
    this.checkpoints = deps.checkpoints;
    this.clock = deps.clock;
    this.log = deps.log;
    this.moves = deps.moves ?? null;
    this.tuning = opts.tuning;
    this.onStep = opts.onStep ?? null;
  }

  /** A reloaded config (config/params.ts swapTuning); the fault hook stays as built. */
  configure(opts: Pick<SwapOptions, "tuning">): void {
    this.tuning = opts.tuning;
  }
  /** swap.continue_note: what is sent after a refused prompt that the conversation still holds. */
  get continueNote(): string {
    return this.tuning.continueNote;
  }

  /**
   * Resolves true once no swap is running (those started meanwhile included), false after `maxMs` of the
   * clock with one still running (it is recovered at the next start: continue-turn.ts). No polling.
   */
  async settled(maxMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxMs;
    while (this.running.size > 0) {
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      const pause = new AbortController();
      await Promise.race([Promise.allSettled([...this.running]), this.clock.sleep(left, pause.signal)]);
      pause.abort();
    }
    return true;
  }

  async swap(req: SwapRequest): Promise<SwapOutcome> {
    const row = this.sessions.get(req.session);
    if (!row || !this.sessions.specs.has(req.session))
      throw new CfError("no_such_session", `no session named ${req.session}`);
    const lock = this.sessions.tryLock(req.session, "swap");
    if (!lock.ok) {
      const reason =
        lock.heldBy === "swap" ? `session ${req.session} is already swapping` : busyReason(req.session, lock.heldBy);
      return { ok: false, swapId: null, outcome: "refused", reason };
    }
    const hold: { id: string | null } = { id: null };
    let moved = false;
    const running = (async () => {
      try {
        const out = await this.run(req, row, hold);
        moved = out.ok;
        return out;
      } finally {
        lock.release();
        if (hold.id !== null) await this.moves?.end(hold.id, moved, this.clock.now());
      }
    })();
    this.running.add(running);
    try {
      return await running;
    } finally {
      this.running.delete(running);
    }
  }

  private async run(req: SwapRequest, row: SessionRow, hold: { id: string | null }): Promise<SwapOutcome> {
    const from = row.account;
    const target = await this.pickAndReserve(req, from, hold);
    if (!target.ok) {
      if (req.hard) {
        this.sessions.park(req.session, target.resumeAt, target.reason);
        return { ok: false, swapId: null, outcome: "parked", reason: target.reason };
      }
      return { ok: false, swapId: null, outcome: "refused", reason: target.reason };
    }
    const to = target.account;
    const started = this.clock.now();
    // A refused continue note still owes the prompt it continued (the row keeps it as the last prompt).
    const failed =
      row.failedPrompt !== null && row.failedPrompt === this.tuning.continueNote && row.lastPrompt
        ? row.lastPrompt
        : row.failedPrompt;
    const resendFailed = req.resend ?? (req.hard ? failed : null);
    // What the session is owed should the swap fail and roll back: the refused prompt, or a turn the swap
    // cut short (it gets the continue note, or itself in a fresh conversation). Refined as the steps learn more.
    const owed: Owed = { prompt: resendFailed, cut: false };
    const id = this.store.insertSwap(
      { session: req.session, from, to, reason: req.reason, urgent: req.urgent, resend: resendFailed },
      started,
    );
    this.sessions.event("swap.started", req.session, from, {
      id,
      from,
      to,
      reason: req.reason,
      urgent: req.urgent,
      hard: req.hard,
    });
    this.log.info({ session: req.session, from, to, reason: req.reason }, "swap started");
    let last = started;
    const step = async (name: SwapStepName, note?: string) => {
      const now = this.clock.now();
      this.store.recordSwapStep(id, { step: name, at: now, ms: now - last, note });
      this.sessions.event(`swap.${name}`, req.session, null, { id, ms: now - last, note });
      last = now;
      await this.onStep?.(name, req.session);
    };
    const turnWasRunning = row.state === "busy";
    this.sessions.setState(req.session, "swap_begin", { stateReason: `to ${to}: ${req.reason}` });
    await step("locked");
    let respawned = false;
    // Captured before the old CLI goes, written once the new one is launched (or the swap fails): the write
    // is synchronous and fsynced (5–30 ms on a loaded box), and would hold up noticing the old CLI's end.
    let captured: Checkpoint | null = null;
    const saveCheckpoint = () => {
      const cp = captured;
      captured = null;
      if (!cp) return;
      try {
        this.checkpoints.save(cp);
      } catch (e) {
        // The swap goes on (the store row is what a restart restores from); the write's own error is an event.
        this.log.warn({ session: req.session, err: errorMessage(e) }, "checkpoint before the swap not written");
      }
    };
    try {
      // An idle CLI (a refusal ended its turn, or no turn ran) is ended with SIGTERM, not /exit, while the
      // pane is captured for the checkpoint (the capture starts first): issue 13 point 11.
      const checkpoint = this.checkpoints.capture(req.session, `before swap ${id}`);
      const idleCli = !turnWasRunning && (row.state === "idle" || row.state === "limited");
      const terminating = idleCli ? this.terminateCli(req.session).catch(() => false) : Promise.resolve(false);
      try {
        captured = await checkpoint;
      } catch (e) {
        await terminating;
        throw e;
      }
      await step("checkpointed");
      const cut = await this.endTurn(req, turnWasRunning);
      if (cut && owed.prompt === null)
        Object.assign(owed, { prompt: this.sessions.get(req.session)!.lastPrompt, cut: true });
      await step("turn_ended", cut ? "turn cut short" : undefined);
      // A turn that ended while we waited (Stop, or its refusal) leaves an idle CLI too.
      const terminated = idleCli
        ? await terminating
        : !cut && turnWasRunning && (await this.terminateCli(req.session).catch(() => false));
      if (!terminated) await this.exitCli(req.session);
      // A prompt typed into the pane while the swap ran (someone attached) started a turn /exit cut short.
      const late = this.sessions.get(req.session)!;
      const cutLate = !cut && !late.lastPromptAnswered && (late.lastPromptAt ?? 0) >= started;
      if (owed.prompt === null && late.failedPrompt) Object.assign(owed, { prompt: late.failedPrompt, cut: false });
      else if (owed.prompt === null && cutLate) Object.assign(owed, { prompt: late.lastPrompt, cut: true });
      await step("exited", cutLate ? "cut a turn that started during the swap" : terminated ? "SIGTERM" : undefined);
      // The account changes in the store before the pane does: a crash from here on resumes on `to`.
      this.sessions.updateRow(req.session, { account: to, lastMoveAt: this.clock.now() });
      // What is sent after the resume, decided before the launch: the continue note can then ride on the
      // launch itself (`claude --resume <id> -- <note>`: both CLI versions submit it at start, verified).
      let plan: { resend: string | null; text: string | null; inTranscript: boolean } = {
        resend: null,
        text: null,
        inTranscript: false,
      };
      const note = this.tuning.continueNote;
      let submitted: Promise<unknown> | null = null;
      await this.launchOn(req.session, to, terminated, (fresh) => {
        // A cut turn gets a continue note; if the conversation had to start afresh, the cut prompt itself.
        const cutPrompt = fresh ? late.lastPrompt : note;
        // A turn refused while we waited for it to end (its StopFailure lands here, the limit reactor is
        // turned away by our lock) is resent on the new account like any hard-limit prompt.
        const resend = resendFailed ?? late.failedPrompt ?? (cut || cutLate ? cutPrompt : null);
        // A refused prompt is still in the resumed conversation and the CLI merges the next prompt into its
        // user message: resending it would make the model read it twice, a continue note makes it read it once.
        const inTranscript = !!resend && !fresh && transcriptHoldsRefused(late.transcriptPath, resend);
        plan = { resend, text: inTranscript ? note : resend, inTranscript };
        // Only our own note goes into argv (a user's prompt would show in `ps` to other local users).
        const carry = plan.text !== null && plan.text === note && carryable(note) ? note : null;
        if (carry)
          submitted = this.sessions.waitForSignal(
            req.session,
            (x) => x.signal.kind === "prompt_submitted",
            this.tuning.confirmMs,
          );
        return carry;
      });
      const { resend, text, inTranscript } = plan;
      // The row names what is actually sent (the note, when it replaces the prompt): a daemon restarted after
      // the launch finds it already submitted (a carried note) and does not send the prompt on top.
      if (text !== resendFailed) this.store.db.prepare("UPDATE swaps SET resend = ? WHERE id = ?").run(text, id);
      // After that record (a crash during the fsynced write must find it), before waiting on the new CLI.
      saveCheckpoint();
      respawned = true;
      await step("respawned");
      await this.confirmStart(req.session);
      await step("confirmed");
      let resent = false;
      if (resend && text) {
        if (inTranscript)
          this.sessions.event("swap.resend_as_note", req.session, to, {
            id,
            why: "the refused prompt is the conversation's last, unanswered user message",
          });
        // Set inside the launch callback, which TypeScript can't see: it narrowed `submitted` to null.
        const pending = submitted as Promise<unknown> | null;
        const carried = pending ? await pending : null;
        if (!carried) {
          const r = await this.sessions.prompts.send(req.session, text, { confirmTimeoutMs: this.tuning.confirmMs });
          if (!r.ok) throw new CfError("resend_failed", `resent prompt not confirmed: ${r.reason}`);
        }
        // The session still works on the refused prompt, not on the note: should the note be refused too,
        // the prompt (not the note) is what a park keeps and a fresh conversation would get.
        if (text !== resend) this.sessions.updateRow(req.session, { lastPrompt: resend });
        resent = true;
        await step("resent", carried ? "carried at launch" : undefined);
      }
      this.finishState(req.session, resent);
      const end = this.clock.now();
      this.store.finishSwap(id, "ok", null, end);
      this.sessions.event("swap.done", req.session, to, { id, from, to, ms: end - started, resent });
      this.log.info({ session: req.session, from, to, ms: end - started }, "swap done");
      return { ok: true, swapId: id, from, to, durationMs: end - started, resent };
    } catch (e) {
      saveCheckpoint();
      const reason = errorMessage(e);
      this.log.warn({ session: req.session, from, to, err: reason }, "swap failed; rolling back");
      return this.rollback(req, id, from, to, reason, respawned, owed);
    }
  }

  /**
   * The target (pickTarget), with one move onto it reserved when the swap chose it itself and other boxes
   * plan too (MoveGate): an account their reservations filled since the choice read them is passed over for
   * the next best, until none is left (then the same outcome as no account with room: park or refuse).
   */
  private async pickAndReserve(req: SwapRequest, from: string | null, hold: { id: string | null }) {
    let target = this.pickTarget(req, from);
    if (!this.moves || req.to || !target.ok) return target;
    const exclude = from ? [from] : [];
    const full: string[] = [];
    for (;;) {
      const r = await this.moves.reserve(req.session, target.account, this.clock.now());
      if (r.ok) {
        hold.id = r.id;
        return target;
      }
      full.push(r.reason);
      this.sessions.event("swap.target_full", req.session, from, { to: target.account, reason: r.reason });
      exclude.push(target.account);
      const next = this.chooser.choose({ exclude, session: req.session });
      if (!next.ok) return { ok: false as const, resumeAt: next.resumeAt, reason: [...full, next.reason].join("; ") };
      target = next;
    }
  }

  private pickTarget(req: SwapRequest, from: string | null) {
    if (req.to) {
      if (req.to === from && !req.sameAccount)
        return { ok: false as const, resumeAt: null, reason: `session is already on ${req.to}` };
      const r = this.accounts.row(req.to);
      if (!this.accounts.config(req.to))
        return { ok: false as const, resumeAt: null, reason: `no account named ${req.to}` };
      if (r.state !== "active")
        return { ok: false as const, resumeAt: r.stateUntil, reason: `account ${req.to} is ${r.state}` };
      return { ok: true as const, account: req.to };
    }
    return this.chooser.choose({ exclude: from ? [from] : [], session: req.session });
  }

  /** Waits for the running turn to end (Stop) unless urgent; returns true when a turn was cut short. */
  private async endTurn(req: SwapRequest, running: boolean): Promise<boolean> {
    if (!running) return false;
    if (req.urgent || req.hard) {
      await this.pane.sendKeys(req.session, "Escape"); // interrupts the turn in the CLI
      return true;
    }
    const sig = await this.sessions.waitForSignal(
      req.session,
      (s) => s.signal.kind === "turn_done" || s.signal.kind === "turn_failed",
      this.tuning.gracefulMs,
    );
    // The turn may have ended between reading the state and listening.
    if (!sig && this.sessions.get(req.session)?.lastPromptAnswered) return false;
    return !sig;
  }

  /**
   * /exit through the input module (cli-input.ts): every dialog is closed with Escape first (it cancels,
   * never approves), the command is typed into the empty box and Enter pressed once it shows, again while
   * it still shows (the rate-limit dialog can open just after the StopFailure and swallow it); then
   * interrupt; the respawn kills whatever is left.
   */
  private async exitCli(name: string): Promise<void> {
    const pane = await this.pane.status(name);
    if (!pane || pane.dead) return;
    // As in terminateCli: the process's own end (from /proc) when it can be read, tmux's pane state otherwise.
    const pid = pane.pid;
    const start = pid ? processStart(pid) : null;
    const dead = async () =>
      pid && start !== null ? processEnded(pid, start) : (await this.pane.status(name))?.dead !== false;
    await this.sessions.prompts.input.command(name, "/exit", {
      internal: true,
      dismissAny: true,
      timeoutMs: this.tuning.exitMs,
      done: dead,
    });
    if (await dead()) return;
    await this.pane.sendKeys(name, "C-c");
    await this.pane.sendKeys(name, "C-c");
    await pollUntil(dead, { clock: this.clock, timeoutMs: 3000, intervalMs: 50 });
  }

  /**
   * Ends an idle CLI with SIGTERM and waits (up to swap.exit_timeout) until its process has exited; false when
   * it has not (or its process is unknown): the caller then goes the /exit way. On SIGTERM the CLI shuts down as
   * on /exit — writes what its transcript still lacks (the refused turn's error line comes a moment after
   * the StopFailure), its own `.claude.json`, fires SessionEnd — without the input box: no rate-limit dialog
   * to close first, and no `/exit` lines in the transcript (verified on 2.1.197 and 2.1.332,
   * docs/notes/cli-input.md). Only for an idle CLI: a running turn is interrupted and /exit-ed.
   */
  private async terminateCli(name: string): Promise<boolean> {
    const pane = await this.pane.status(name);
    if (!pane || pane.dead || !pane.pid) return false;
    const pid = pane.pid;
    const start = processStart(pid);
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return false;
    }
    // The process's own end, read from /proc every 5 ms (no process spawned): tmux marks the pane dead
    // 120–170 ms later, and the respawn needs no more than the CLI gone — its transcript lines, its
    // `.claude.json` and its SessionEnd hook are all written before it exits (swap-process-exit.ts,
    // docs/notes/swap-exit.md). Without /proc, tmux's pane state.
    const dead =
      start !== null ? () => processEnded(pid, start) : async () => (await this.pane.status(name))?.dead !== false;
    return !!(await pollUntil(dead, {
      clock: this.clock,
      timeoutMs: this.tuning.exitMs,
      intervalMs: start !== null ? 5 : 15,
    }));
  }

  /** `carry(newConversation)`: a prompt to pass at launch (after `--`), or null. `live`: the pane is known to be there. */
  private async launchOn(
    name: string,
    account: string,
    live: boolean,
    carry?: (newConversation: boolean) => string | null,
  ): Promise<{ newConversation: boolean }> {
    const row = this.sessions.get(name)!;
    const { argv, newConversation } = this.sessions.prepareLaunch(row, account);
    const prompt = carry?.(newConversation) ?? null;
    if (prompt) argv.push("--", prompt);
    this.sessions.setState(name, "swap_launch");
    await this.sessions.launchIn(name, argv, live);
    this.sessions.event("session.launch", name, account, { how: "swap", resume: argv.includes("--resume") });
    return { newConversation };
  }

  private async confirmStart(name: string): Promise<void> {
    const want = this.sessions.get(name)!.claudeSessionId;
    const abort = new AbortController();
    // A CLI that dies at start (bad resume, crash) fails the step at once instead of at the deadline.
    const died = pollUntil(async () => (await this.pane.status(name))?.dead !== false, {
      clock: this.clock,
      timeoutMs: this.tuning.confirmMs,
      intervalMs: 250,
      signal: abort.signal,
    });
    const started = this.sessions.waitForSignal(
      name,
      (s) => s.signal.kind === "session_start" && s.signal.claudeSessionId === want,
      this.tuning.confirmMs,
    );
    const sig = await Promise.race([started, died.then((d) => (d ? "died" : null))]);
    abort.abort();
    if (sig === "died") throw new CfError("confirm_failed", "the CLI exited right after the respawn");
    if (!sig) {
      // the SessionStart may already have been applied before we listened
      const row = this.sessions.get(name)!;
      const seen = this.store
        .tailEvents(20, { session: name, kindPrefix: "hook.SessionStart" })
        .some((e) => e.data.session_id === want && e.ts >= (row.lastMoveAt ?? 0));
      if (!seen)
        throw new CfError("confirm_failed", "the CLI did not report SessionStart for the same conversation in time");
    }
  }

  /**
   * The row after a swap. With a resend, the resent prompt's own hooks own the state from its
   * UserPromptSubmit on: a StopFailure that came before the swap ended (the new account refused it at
   * once: chaos seed 571143) must stay, or the session is left `busy` for ever with nothing owed.
   */
  private finishState(name: string, resent: boolean): void {
    if (!resent) {
      this.sessions.setState(name, "swap_finished", { stateReason: null, failedPrompt: null });
      return;
    }
    const row = this.sessions.get(name);
    // A Stop applied while the state was still `swapping` (hook files read in one batch) left only the answered flag.
    if (row?.state === "starting" || row?.state === "swapping")
      this.sessions.setState(name, row.lastPromptAnswered ? "swap_finished" : "swap_finished_busy", {
        stateReason: null,
      });
    else if (row?.state === "busy") this.sessions.updateRow(name, { stateReason: null });
  }

  private async rollback(
    req: SwapRequest,
    id: number,
    from: string | null,
    to: string,
    reason: string,
    respawned: boolean,
    owed: Owed,
  ): Promise<SwapOutcome> {
    const resendIn = owed.prompt;
    const now = this.clock.now();
    // The resend (or the note carried in its place) may have gone in on the new CLI and been answered before
    // the step that failed (chaos seed 130738: tmux killed after the answer, the swap saw its CLI die and
    // parked with the prompt, and the resume asked the model again): then nothing is owed any more.
    const cur = this.sessions.get(req.session);
    const startedAt = this.store.getSwap(id)?.startedAt ?? now;
    const answered =
      !!cur &&
      cur.lastPromptAnswered &&
      (cur.lastPromptAt ?? 0) >= startedAt &&
      (cur.lastPrompt === resendIn || cur.lastPrompt === this.tuning.continueNote);
    const resend = answered ? null : resendIn;
    const back = from && this.accounts.row(from).state === "active" && !req.hard ? from : null;
    try {
      if (back) {
        this.sessions.updateRow(req.session, { account: back });
        const { newConversation } = await this.launchOn(req.session, back, false);
        await this.confirmStart(req.session).catch(() => {});
        if (resend) {
          // As in the swap: the model reads the prompt once (a note after it when the conversation still holds
          // it: always for a turn the swap cut, whose prompt the resumed conversation has).
          const { text, asNote } = newConversation
            ? { text: resend, asNote: false }
            : owed.cut
              ? { text: this.tuning.continueNote, asNote: true }
              : resendFor(this.sessions.get(req.session)!.transcriptPath, resend, this.tuning.continueNote);
          const r = await this.sessions.prompts.send(req.session, text, { confirmTimeoutMs: this.tuning.confirmMs });
          // Not confirmed: the prompt is still owed. Parked below with it, the resume sends it again (and
          // again 30 s later, until it is taken), rather than left idle with the prompt dropped.
          if (!r.ok) throw new CfError("resend_failed", `the prompt resent on ${back} was not confirmed: ${r.reason}`);
          if (asNote) this.sessions.updateRow(req.session, { lastPrompt: resend });
        }
        this.sessions.setState(req.session, "swap_rolled_back", { stateReason: `swap to ${to} failed: ${reason}` });
        this.store.finishSwap(id, "rolled_back", reason, this.clock.now());
        this.sessions.event("swap.rolled_back", req.session, back, { id, to, reason, respawned });
        return { ok: false, swapId: id, outcome: "rolled_back", reason };
      }
    } catch (e) {
      reason = `${reason}; rollback failed: ${errorMessage(e)}`;
    }
    const choice = this.chooser.choose({ exclude: [to], session: req.session });
    this.sessions.park(req.session, choice.ok ? null : choice.resumeAt, `swap to ${to} failed: ${reason}`);
    this.sessions.updateRow(req.session, { failedPrompt: resend });
    this.store.finishSwap(id, "parked", reason, this.clock.now());
    this.sessions.event("swap.parked", req.session, from, { id, to, reason });
    return { ok: false, swapId: id, outcome: "parked", reason };
  }
}
