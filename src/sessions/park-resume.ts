import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { pollUntil } from "../util/wait.js";
import { classifyPane } from "./pane-classify.js";
import { owedPrompt, resendFor, transcriptHoldsRefused } from "./refused-prompt.js";
import type { SessionService } from "./session-service.js";
import type { SwapService } from "./swap.js";
import type { AccountChooser } from "./types.js";

/**
 * How long a resume in the pane that refused a prompt waits for its transcript to show that prompt: the CLI
 * writes the transcript lazily, seconds after a turn on a loaded box (docs/swap.md, 2.1.197).
 */
const TRANSCRIPT_FLUSH_MS = 10_000;
/** How long after a failed resume the next one is tried (ms). */
const RETRY_AFTER_FAILURE_MS = 30_000;

/** What the resume works with. */
export interface ParkResumeDeps {
  sessions: SessionService;
  /** a parked session's pane: whether its CLI still runs, a dialog to close (Escape) */
  pane: Pick<Pane, "status" | "capture" | "sendKeys">;
  /** where a parked session can resume */
  chooser: AccountChooser;
  /** swap.continue_note (`continueNote`, read at each resume: a reload changes it) */
  swaps: Pick<SwapService, "continueNote">;
  clock: Clock;
  log: Logger;
}

/**
 * Park and resume: a session with no usable account is parked (state `parked`, `parkedUntil` the earliest
 * reset: the swap, or a continue that could not be sent, parks it through the session service). `resume`
 * ends the park once an account is usable: in place when its CLI still runs on that account, else the CLI
 * is started again there; the prompt owed (refused, or never answered) is sent, or the continue note when
 * the conversation still holds it. The limit reactor's tick calls it for each parked session.
 */
export class ParkResume {
  constructor(private readonly deps: ParkResumeDeps) {}

  /**
   * Resumes `name` when it is parked, its park is over and an account is usable; parks it again until the
   * chooser's next resume time when none is, and 30 s later when the resume fails. Never rejects.
   */
  async resume(name: string): Promise<void> {
    const { sessions, pane, clock, log } = this.deps;
    // The tick's list is a snapshot, and resuming the sessions before this one can take seconds: by now a
    // swap may have moved this session and resent its prompt (soak seed 685418: resumed after that swap,
    // the prompt was answered twice). Only a session that is parked now, and stays so once locked, is resumed.
    let row = sessions.get(name);
    if (row?.state !== "parked") return;
    const now = clock.now();
    if (row.parkedUntil !== null && row.parkedUntil > now) return;
    const choice = this.deps.chooser.choose({ preferred: row.account, session: name });
    if (!choice.ok) {
      if (choice.resumeAt !== row.parkedUntil) sessions.park(name, choice.resumeAt, choice.reason);
      return;
    }
    const lock = sessions.tryLock(name, "resume");
    if (!lock.ok) return;
    row = sessions.get(name);
    if (row?.state !== "parked") {
      lock.release();
      return;
    }
    try {
      // What is owed: the refused prompt, or a last prompt never answered (a resume before this one sent it
      // and then lost its turn: chaos seed 210046, tmux killed mid-resume; its UserPromptSubmit had
      // cleared failedPrompt). A refused note stands for the prompt it continued (owedPrompt).
      const prompt = owedPrompt(
        row.failedPrompt ?? (row.lastPrompt && !row.lastPromptAnswered ? row.lastPrompt : null),
        this.deps.swaps.continueNote,
        row.lastPrompt,
      );
      sessions.event("session.resume", name, choice.account, { from: row.account, prompt: !!prompt });
      const status = await pane.status(name);
      const inPlace = !!status && !status.dead && choice.account === row.account;
      if (inPlace) {
        const cls = classifyPane(await pane.capture(name), now);
        if (cls.dialog) {
          await pane.sendKeys(name, "Escape");
          await pollUntil(async () => !classifyPane(await pane.capture(name), now).dialog, {
            clock,
            timeoutMs: 2000,
            intervalMs: 50,
          });
        }
        sessions.setState(name, "resume_in_place", { stateReason: "resumed after reset", parkedUntil: null });
      } else {
        sessions.setState(name, "resume_relaunch", { parkedUntil: null });
        await sessions.start(name, status ? "respawn" : "create", "resume after park", choice.account);
        if (!(await sessions.waitReady(name))) throw new Error("CLI did not start");
      }
      if (prompt) {
        // The refused prompt is still in the conversation, unanswered: the model reads it once when the
        // continue note follows it (issue 13 point 10); the session still works on the prompt.
        // The CLI that refused it may still run here. When it took the prompt itself (submitted after its
        // launch), it holds it in memory: the note, whatever its transcript shows yet. Otherwise the
        // transcript decides; it is written lazily (seconds after the turn, docs/swap.md): read too soon it
        // lacked the prompt, which was typed again into a conversation that held it, and the model read it
        // twice (CI, under load). So it is waited for, up to TRANSCRIPT_FLUSH_MS.
        const cur = sessions.get(name)!;
        const heldByThisCli =
          inPlace &&
          row.failedPrompt !== null &&
          cur.lastPrompt === prompt &&
          cur.lastPromptAt !== null &&
          cur.launchedAt !== null &&
          cur.lastPromptAt >= cur.launchedAt;
        const path = cur.transcriptPath;
        if (!heldByThisCli && inPlace && row.failedPrompt !== null && path) {
          const shown = await pollUntil(() => transcriptHoldsRefused(path, prompt), {
            clock,
            timeoutMs: TRANSCRIPT_FLUSH_MS,
            intervalMs: 100,
          });
          if (!shown)
            sessions.event("session.resume_transcript_late", name, choice.account, {
              waitedMs: TRANSCRIPT_FLUSH_MS,
            });
        }
        const note = this.deps.swaps.continueNote;
        const { text, asNote } = heldByThisCli ? { text: note, asNote: true } : resendFor(path, prompt, note);
        const r = await sessions.prompts.send(name, text, { confirmTimeoutMs: 60_000 });
        if (!r.ok) throw new Error(r.reason);
        if (asNote) sessions.updateRow(name, { lastPrompt: prompt });
      }
      // Its UserPromptSubmit already cleared failedPrompt; clearing it here would erase a refusal that
      // came right after (the account refused the resent prompt at once).
    } catch (e) {
      log.warn({ session: name, err: errorMessage(e) }, "resume after park failed; will retry");
      sessions.park(name, clock.now() + RETRY_AFTER_FAILURE_MS, `resume failed: ${errorMessage(e)}`);
    } finally {
      lock.release();
    }
  }
}
