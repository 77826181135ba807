import type { AccountService } from "../accounts/account-service.js";
import type { ParkResume } from "../sessions/park-resume.js";
import { owedPrompt, resendFor, transcriptRecordsRefusal } from "../sessions/refused-prompt.js";
import { classifyPane } from "../sessions/pane-classify.js";
import type { SessionService } from "../sessions/session-service.js";
import type { SwapService } from "../sessions/swap.js";
import type { SessionSignal } from "../sessions/signals.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { classifyRateLimit, THROTTLE_REASON } from "../claude/limit-text.js";
import { parseLimitMessage } from "../claude/reset-time.js";
import { pollUntil } from "../util/wait.js";

/** How long a busy session may stay silent before its pane is read once for a limit message. */
const SILENT_BUSY_MS = 20_000;
/**
 * Retries of a prompt refused by a server throttle, on the same account: seconds, then minutes. The CLI
 * has already retried the request itself before reporting it (2.1.332: 11 attempts over about 3 min).
 */
export const THROTTLE_BACKOFF_MS = [10_000, 30_000, 60_000, 120_000, 300_000, 600_000];
/** A StopFailure followed this soon by the same turn's Stop (or a new prompt) was not the turn's failure. */
const OWN_FAILURE_GRACE_MS = 300;
/** How long a pane still busy after a StopFailure is given to end its turn with a Stop before the refusal is acted on. */
const BUSY_PANE_MS = 30_000;
/** A second rejected token on the same account within this long revokes the account. */
const AUTH_RETRY_WINDOW_MS = 15 * 60_000;

/**
 * Pure: the pane shows `prompt`'s turn refused: the limit message after the prompt's echo (its first line's
 * first 40 characters, the last occurrence) and no turn running. An older limit message further up does
 * not count.
 */
export function paneShowsRefusal(pane: string, prompt: string, now: number): boolean {
  const key = prompt.split("\n")[0]!.slice(0, 40).trim();
  const at = key ? pane.lastIndexOf(key) : -1;
  if (at < 0) return false;
  const cls = classifyPane(pane.slice(at + key.length), now);
  return cls.limit !== null && !cls.busy && !classifyPane(pane, now).busy;
}

/** The delay before throttle retry `attempt` (1-based), in ms. */
export function throttleDelay(attempt: number): number {
  return THROTTLE_BACKOFF_MS[Math.min(Math.max(attempt, 1), THROTTLE_BACKOFF_MS.length) - 1]!;
}

/** What the limit reactor works with. */
export interface LimitDeps {
  sessions: SessionService;
  /** the sessions' panes: what a refused turn shows */
  pane: Pick<Pane, "capture">;
  accounts: AccountService;
  swaps: SwapService;
  /** resumes a parked session once its park is over and an account is usable (sessions/park-resume.ts) */
  parked: Pick<ParkResume, "resume">;
  clock: Clock;
  log: Logger;
}

/** config/params.ts limitParams */
export interface LimitOptions {
  /** quota.reactivate_cooldown (ms) */
  cooldownMs: number;
}

/**
 * Reacts to the hard signal: a StopFailure with error rate_limit (or, as a debounced fallback, the
 * limit text in a silent pane) marks the account exhausted until its reset and swaps the session at
 * once; with nowhere to go it parks, and its tick has parked sessions resumed (prompt resent) when an
 * account becomes usable again (sessions/park-resume.ts).
 */
export class LimitReactor {
  private lastPaneCheck = new Map<string, number>();
  private inFlight = new Set<string>();
  /** refusals that came while another operation held the session, replayed once it lets go; `at`: when queued (ms) */
  private pending = new Map<
    string,
    { account: string | null; message: string; prompt: string | null; source: string; at: number }
  >();
  /** sessions whose prompt a server throttle refused: retried on the same account at `retryAt` */
  private throttled = new Map<string, { attempt: number; retryAt: number; prompt: string | null; account: string }>();
  /**
   * rejected tokens that came while another operation held the session (chaos seed 888087: a resume's
   * prompt rejected, the restart refused, the prompt never sent again): acted on once it lets go, unless a
   * prompt was submitted since. `move`: the account is revoked already, only the move is left.
   */
  private pendingAuth = new Map<string, { move: boolean; message: string | null; prompt: string | null; at: number }>();
  /** the last rejected token per session, for "restart once, then revoke" */
  private authFailures = new Map<string, { account: string; at: number }>();

  private readonly sessions: SessionService;
  private readonly pane: Pick<Pane, "capture">;
  private readonly accounts: AccountService;
  private readonly swaps: SwapService;
  private readonly parked: Pick<ParkResume, "resume">;
  private readonly clock: Clock;
  private readonly log: Logger;
  private cooldownMs: number;

  constructor(deps: LimitDeps, opts: LimitOptions) {
    this.sessions = deps.sessions;
    this.pane = deps.pane;
    this.accounts = deps.accounts;
    this.swaps = deps.swaps;
    this.parked = deps.parked;
    this.clock = deps.clock;
    this.log = deps.log;
    this.cooldownMs = opts.cooldownMs;
  }

  /** A reloaded config (config/params.ts limitParams). */
  configure(opts: LimitOptions): void {
    this.cooldownMs = opts.cooldownMs;
  }

  attach(): () => void {
    return this.sessions.onSignal((s) => {
      const sig = s.signal;
      if (sig.kind === "turn_done") {
        this.throttled.delete(s.session);
        this.authFailures.delete(s.session);
      }
      if (sig.kind !== "turn_failed") return;
      if (sig.error === "rate_limit") void this.onRateLimit(s.session, sig.message, sig.prompt, sig.account);
      else if (sig.error === "authentication_failed") void this.onTokenRejected(s.session, sig.message, sig.prompt);
    });
  }

  /** throttle → retry here later; otherwise, once it is known to be the turn's own failure, the hard limit. */
  async onRateLimit(session: string, message: string | null, prompt: string | null, account?: string): Promise<void> {
    if (classifyRateLimit(message) === "throttle") {
      this.onThrottle(session, message ?? "", prompt);
      return;
    }
    if (!(await this.ownFailure(session, "rate_limit"))) return;
    await this.onLimit(session, message ?? "", prompt, "StopFailure rate_limit", account);
  }

  /**
   * Whether a StopFailure of the running prompt ended the turn: no Stop (or new prompt) within a short
   * grace, and the pane no longer busy. A helper query or background subagent failing while the turn goes
   * on is recorded and left alone (the row goes back to busy). The session is held meanwhile, so the
   * quota monitor does not move it on the momentary `limited` state.
   */
  private async ownFailure(session: string, error: string): Promise<boolean> {
    if (this.inFlight.has(session) || this.sessions.lockedBy(session)) return true; // handled by onLimit's own queueing
    const lock = this.sessions.tryLock(session, "limit_check");
    if (!lock.ok) return true;
    try {
      let next: SessionSignal | null = null;
      let waited = false; // the wait for a Stop ended (a signal, or BUSY_PANE_MS without one)
      const followed = this.sessions
        .waitForSignal(
          session,
          (x) => x.signal.kind === "turn_done" || x.signal.kind === "prompt_submitted",
          BUSY_PANE_MS,
        )
        .then((s) => {
          waited = true;
          return (next = s);
        });
      // Settled early by what the CLI shows of the turn's own refusal: the synthetic error answer after the
      // turn's prompt in the transcript, or the limit message under that prompt in an idle pane. A helper's
      // failure does neither (it writes nothing to the main chain and prints nothing).
      const row = this.sessions.get(session);
      const prompt = row?.lastPrompt ?? null;
      const abort = new AbortController();
      const shown = async () => {
        if (next !== null || !prompt) return false;
        try {
          // 64 KiB: the refused turn's last lines (a longer turn is left to the pane and the grace), read every 20 ms.
          if (transcriptRecordsRefusal(this.sessions.get(session)?.transcriptPath ?? null, prompt, 64 * 1024))
            return true;
          return paneShowsRefusal(await this.pane.capture(session), prompt, this.clock.now());
        } catch {
          return false; // the pane or the store is gone (daemon stopping): the grace decides
        }
      };
      const recorded = pollUntil(shown, {
        clock: this.clock,
        timeoutMs: OWN_FAILURE_GRACE_MS,
        intervalMs: 20,
        signal: abort.signal,
      });
      const early = await Promise.race([followed.then(() => false), recorded]);
      abort.abort();
      if (early === true && next === null) return true;
      // A pane still busy means the turn may go on (a helper's failure): wait for its Stop. But the hook can
      // fire before the CLI redraws, and a stale frame must never cost the prompt: the refusal is acted on
      // as soon as the pane is idle, and after BUSY_PANE_MS whatever the pane shows.
      const until = this.clock.now() + BUSY_PANE_MS;
      while (!waited && this.clock.now() < until) {
        const text = await this.pane.capture(session).catch(() => "");
        if (!text || !classifyPane(text, this.clock.now()).busy) break;
        const pause = new AbortController();
        await Promise.race([followed, this.clock.sleep(100, pause.signal)]);
        pause.abort(); // the sleep's timer goes with it when the Stop came first
      }
      const sig = next as SessionSignal | null;
      const why: string | null = sig
        ? `a ${sig.signal.kind === "turn_done" ? "Stop" : "new prompt"} followed: the turn went on`
        : null;
      if (!why) return true;
      this.sessions.event("quota.stop_failure_ignored", session, this.sessions.get(session)?.account ?? null, {
        error,
        why: `StopFailure from a helper ignored: ${why}`,
      });
      this.log.info({ session, error, why }, "StopFailure from a helper ignored");
      return false;
    } finally {
      lock.release();
    }
  }

  /**
   * A server throttle (not the account's quota): no account state change, no swap, never a park. The
   * refused prompt is sent again on the same account after a backoff (THROTTLE_BACKOFF_MS); repeated
   * throttles are visible as the session's state reason and `quota.throttle` events.
   */
  private onThrottle(session: string, message: string, prompt: string | null): void {
    const row = this.sessions.get(session);
    if (!row?.account) return;
    const prev = this.throttled.get(session);
    const attempt = prev && prev.account === row.account ? prev.attempt + 1 : 1;
    const now = this.clock.now();
    const retryAt = now + throttleDelay(attempt);
    this.throttled.set(session, {
      attempt,
      retryAt,
      prompt: this.owed(session, prompt ?? row.failedPrompt ?? row.lastPrompt),
      account: row.account,
    });
    const reason = `${THROTTLE_REASON}: retry ${attempt} at ${new Date(retryAt).toISOString()}`;
    this.sessions.updateRow(session, { stateReason: reason });
    this.sessions.event("quota.throttle", session, row.account, { attempt, retryAt, message });
    this.log.warn(
      { session, account: row.account, attempt, retryAt },
      "server throttle: prompt retried on the same account later",
    );
  }

  private async retryThrottled(session: string): Promise<void> {
    const t = this.throttled.get(session);
    if (!t || t.retryAt > this.clock.now() || this.sessions.lockedBy(session)) return;
    const row = this.sessions.get(session);
    // Answered, or sent again by someone else since (a swap's resend, the continue after a crash, a pool
    // retry, the user: each UserPromptSubmit clears failedPrompt): nothing left to retry.
    if (!row || row.lastPromptAnswered || row.failedPrompt === null || !t.prompt) {
      this.throttled.delete(session);
      return;
    }
    // Restarting, busy with something else, parked: wait (wherever it runs now, the prompt is still owed).
    if (row.state !== "idle") return;
    const lock = this.sessions.tryLock(session, "throttle_retry");
    if (!lock.ok) return;
    try {
      t.retryAt = Number.POSITIVE_INFINITY; // until this send resolves; a new throttle reschedules it
      // The CLI still holds the refused prompt (in memory and in its transcript) and merges the next prompt
      // into that user message: the continue note makes the model read the prompt once (issue 13 point 10).
      const { text, asNote } = resendFor(row.transcriptPath, t.prompt, this.swaps.continueNote);
      this.sessions.event("quota.throttle_retry", session, t.account, { attempt: t.attempt, asNote });
      const r = await this.sessions.prompts.send(session, text, { confirmTimeoutMs: 60_000 });
      // The session still works on the refused prompt: a refusal of the note owes the prompt (owed()).
      if (r.ok && asNote) this.sessions.updateRow(session, { lastPrompt: t.prompt });
      if (!r.ok) t.retryAt = this.clock.now() + throttleDelay(t.attempt);
    } catch (e) {
      t.retryAt = this.clock.now() + throttleDelay(t.attempt);
      this.log.warn({ session, err: errorMessage(e) }, "throttle retry failed");
    } finally {
      lock.release();
    }
  }

  /** A hard move of `session` with its prompt after a rejected token: elsewhere, or parked owing it. */
  private async moveAfterRejectedToken(session: string, resend: string | null) {
    const out = await this.swaps.swap({ session, reason: "token_rejected", urgent: true, hard: true, resend });
    if (!out.ok) this.log.warn({ session, outcome: out.outcome, reason: out.reason }, "no move after a rejected token");
    return out;
  }

  /**
   * `StopFailure authentication_failed` ("OAuth token has expired" while the file still holds one): a
   * fresh CLI refreshes its token, so the first time the session's CLI is restarted on the same account
   * (graceful exit, --resume, the prompt resent); a second time on that account within
   * AUTH_RETRY_WINDOW_MS the account is revoked ("needs login: token rejected") and the session moves
   * with its prompt. Other sessions on it move on the next quota tick (a revoked account is a hard move).
   */
  async onTokenRejected(session: string, message: string | null, prompt: string | null): Promise<void> {
    const row = this.sessions.get(session);
    if (!row?.account) return;
    const account = row.account;
    const now = this.clock.now();
    const prev = this.authFailures.get(session);
    const resend = this.owed(session, prompt ?? row.failedPrompt ?? row.lastPrompt);
    try {
      if (!prev || prev.account !== account || now - prev.at > AUTH_RETRY_WINDOW_MS) {
        this.authFailures.set(session, { account, at: now });
        this.sessions.event("account.token_rejected", session, account, {
          message,
          action: "restart the CLI on the same account",
        });
        const out = await this.swaps.swap({
          session,
          to: account,
          sameAccount: true,
          reason: "token_rejected",
          urgent: true,
          hard: false,
          resend,
        });
        if (!out.ok)
          this.log.warn({ session, outcome: out.outcome, reason: out.reason }, "restart after a rejected token failed");
        if (!out.ok && out.outcome === "refused" && this.sessions.lockedBy(session)) {
          // Another operation held it (a resume's or a send's own prompt was the rejected one): once it lets go.
          this.authFailures.delete(session);
          this.pendingAuth.set(session, { move: false, message, prompt: resend, at: now });
        } else if (!out.ok && out.outcome === "refused") {
          // The account can't take the restart (spent by now: chaos seed 424242, a 401 as the window ran out):
          // the session moves with its prompt as after any refusal, or parks until an account is usable. Left,
          // nothing would ever send the prompt again.
          await this.moveAfterRejectedToken(session, resend);
        }
        return;
      }
      this.authFailures.delete(session);
      this.accounts.setState(account, "revoked", null, "needs login: token rejected");
      this.sessions.event("account.token_rejected", session, account, {
        message,
        action: "account revoked: needs login",
      });
      this.log.error({ account }, "token rejected twice: account revoked until it is logged in again");
      const out = await this.moveAfterRejectedToken(session, resend);
      if (!out.ok && out.outcome === "refused" && this.sessions.lockedBy(session))
        this.pendingAuth.set(session, { move: true, message, prompt: resend, at: now });
    } catch (e) {
      this.log.error({ session, err: errorMessage(e) }, "reaction to a rejected token failed");
    }
  }

  /** The prompt a refusal is owed for (owedPrompt: a refused continue note stands for the prompt it continued). */
  private owed(session: string, prompt: string | null): string | null {
    return owedPrompt(prompt, this.swaps.continueNote, this.sessions.get(session)?.lastPrompt ?? null);
  }

  /**
   * A hard limit: the account that refused is marked exhausted and the session swapped off it with the
   * prompt owed (parked when no account has room). `refusedOn` is the account of the CLI that refused (its
   * hook event's); when a swap has moved the session off it since, that account is marked but the session,
   * elsewhere now, is left alone (its swap carried the prompt).
   */
  async onLimit(
    session: string,
    message: string,
    promptIn: string | null,
    source: string,
    refusedOn?: string,
  ): Promise<void> {
    const prompt = this.owed(session, promptIn);
    if (this.inFlight.has(session)) {
      // Refused again while the last refusal is still being handled (the resent prompt refused on the
      // new account too): the running swap would end by clearing it. Handle it once that swap is over.
      this.pending.set(session, {
        account: refusedOn ?? this.sessions.get(session)?.account ?? null,
        message,
        prompt,
        source,
        at: this.clock.now(),
      });
      return;
    }
    const row = this.sessions.get(session);
    if (!row?.account) return;
    if (refusedOn && refusedOn !== row.account && this.accounts.config(refusedOn)) {
      const now = this.clock.now();
      const until = parseLimitMessage(message, now)?.resetAt ?? now + this.cooldownMs;
      this.accounts.setState(refusedOn, "exhausted", until, `${source}: ${message || "limit hit"}`);
      this.sessions.event("quota.hard_limit", session, refusedOn, {
        message,
        until,
        source,
        left: `the session is on ${row.account} now: not moved again`,
      });
      return;
    }
    this.inFlight.add(session);
    try {
      const now = this.clock.now();
      const parsed = parseLimitMessage(message, now);
      const until = parsed?.resetAt ?? now + this.cooldownMs;
      this.accounts.setState(row.account, "exhausted", until, `${source}: ${message || "limit hit"}`);
      this.sessions.event("quota.hard_limit", session, row.account, {
        message,
        until,
        parsed: !!parsed?.resetAt,
        source,
      });
      const resend = this.owed(session, prompt ?? row.failedPrompt ?? row.lastPrompt);
      const out = await this.swaps.swap({ session, reason: "rate_limit", urgent: true, hard: true, resend });
      if (!out.ok) this.log.warn({ session, outcome: out.outcome, reason: out.reason }, "no swap after hard limit");
      // Another operation held the session (a swap of the quota monitor, a resume, a send): it may end by
      // clearing the refusal. Try again once it lets go (tick).
      if (!out.ok && out.outcome === "refused" && this.sessions.lockedBy(session))
        this.pending.set(session, { account: row.account, message, prompt: resend, source, at: this.clock.now() });
    } catch (e) {
      this.log.error({ session, err: errorMessage(e) }, "hard-limit reaction failed");
    } finally {
      this.inFlight.delete(session);
      this.replayPending(session);
    }
  }

  private replayTokenRejected(session: string): void {
    const p = this.pendingAuth.get(session);
    if (!p || this.sessions.lockedBy(session) || this.inFlight.has(session)) return;
    this.pendingAuth.delete(session);
    const row = this.sessions.get(session);
    if (!row) return;
    if ((row.lastPromptAt ?? 0) > p.at) {
      this.sessions.event("quota.refusal_superseded", session, row.account, {
        prompt: p.prompt?.slice(0, 80) ?? null,
        queuedAt: p.at,
        promptAt: row.lastPromptAt,
      });
      return;
    }
    if (!p.move) {
      void this.onTokenRejected(session, p.message, p.prompt);
      return;
    }
    void this.swaps
      .swap({ session, reason: "token_rejected", urgent: true, hard: true, resend: p.prompt })
      .then((out) => {
        if (!out.ok)
          this.log.warn({ session, outcome: out.outcome, reason: out.reason }, "no move after a rejected token");
      })
      .catch((e: unknown) => this.log.error({ session, err: errorMessage(e) }, "move after a rejected token failed"));
  }

  private replayPending(session: string): void {
    const p = this.pending.get(session);
    if (!p || this.sessions.lockedBy(session)) return;
    this.pending.delete(session);
    const row = this.sessions.get(session);
    if (!row || row.account !== p.account) return; // it has moved on since: nothing refused where it is now
    // A prompt submitted since the refusal was queued (the holder resent it, or the user sent another):
    // that submission ends in its own Stop or StopFailure; acting on the old refusal would send it twice.
    if ((row.lastPromptAt ?? 0) > p.at) {
      this.sessions.event("quota.refusal_superseded", session, row.account, {
        prompt: p.prompt?.slice(0, 80) ?? null,
        queuedAt: p.at,
        promptAt: row.lastPromptAt,
      });
      return;
    }
    const owed = this.owed(session, p.prompt ?? row.failedPrompt);
    this.sessions.setState(session, "limit_replay", { failedPrompt: owed });
    void this.onLimit(session, p.message, owed, p.source);
  }

  /**
   * A limit reported while the daemon was down was replayed from the spool before the sessions were
   * known: react to it now (call after reconcile). So is a throttle whose retry was pending when the
   * daemon stopped (the row keeps the refused prompt and the throttle reason).
   */
  recoverLimited(): void {
    for (const s of this.sessions.list()) {
      if (
        s.failedPrompt === null ||
        s.lastPromptAnswered ||
        !(s.stateReason ?? "").startsWith(THROTTLE_REASON) ||
        !s.account
      )
        continue;
      if (!this.throttled.has(s.name))
        this.throttled.set(s.name, {
          attempt: 1,
          retryAt: this.clock.now() + throttleDelay(1),
          prompt: s.failedPrompt,
          account: s.account,
        });
    }
    for (const s of this.sessions.list()) {
      if (s.state !== "limited" || this.sessions.lockedBy(s.name)) continue;
      const message = (s.stateReason ?? "").replace(/^rate_limit:\s*/, "");
      void this.onLimit(
        s.name,
        message,
        s.failedPrompt ?? s.lastPrompt,
        "StopFailure rate_limit (while the daemon was down)",
      );
    }
  }

  /**
   * Called from the daemon's tick: replay queued refusals, retry throttled prompts, resume parked sessions
   * (ParkResume.resume), read silent busy panes.
   */
  async tick(): Promise<void> {
    const now = this.clock.now();
    for (const name of [...this.pending.keys()]) if (!this.inFlight.has(name)) this.replayPending(name);
    for (const name of [...this.throttled.keys()]) await this.retryThrottled(name);
    for (const name of [...this.pendingAuth.keys()]) this.replayTokenRejected(name);
    for (const s of this.sessions.list()) {
      if (s.state === "parked" && !this.sessions.lockedBy(s.name)) await this.parked.resume(s.name);
      else if (s.state === "busy" && s.lastActivity !== null && now - s.lastActivity > SILENT_BUSY_MS)
        await this.checkPane(s.name);
    }
  }

  private async checkPane(name: string): Promise<void> {
    const now = this.clock.now();
    if (now - (this.lastPaneCheck.get(name) ?? 0) < SILENT_BUSY_MS) return;
    this.lastPaneCheck.set(name, now);
    try {
      const row = this.sessions.get(name)!;
      if (row.state !== "busy") return; // the tick's list is a snapshot (see ParkResume.resume)
      // Only what the CLI printed after the current prompt counts: an old limit message further up
      // must not trigger a second swap (and a second copy of the prompt).
      const text = await this.pane.capture(name);
      const key = (row.lastPrompt ?? "").split("\n")[0]!.slice(0, 40).trim();
      const at = key ? text.lastIndexOf(key) : -1;
      if (at < 0) return;
      const cls = classifyPane(text.slice(at + key.length), now);
      if (cls.limit && cls.limitText && !cls.busy) {
        this.sessions.setState(name, "limit_seen", { failedPrompt: row.lastPrompt });
        await this.onLimit(name, cls.limitText, row.lastPrompt, "pane text");
      }
    } catch {
      /* pane gone: the sweep deals with it */
    }
  }
}
