import type { AccountService } from "../accounts/account-service.js";
import { classifyPane } from "../sessions/pane-classify.js";
import type { SessionService } from "../sessions/session-service.js";
import type { SwapService } from "../sessions/swap.js";
import type { AccountChooser } from "../sessions/types.js";
import type { Clock } from "../util/clock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { parseLimitMessage } from "./reset-time.js";
import { pollUntil } from "../util/wait.js";

/** How long a busy session may stay silent before its pane is read once for a limit message. */
const SILENT_BUSY_MS = 20_000;

/**
 * Reacts to the hard signal: a StopFailure with error rate_limit (or, as a debounced fallback, the
 * limit text in a silent pane) marks the account exhausted until its reset and swaps the session at
 * once; with nowhere to go it parks, and parked sessions are resumed (prompt resent) when an account
 * becomes usable again.
 */
export class LimitReactor {
  private lastPaneCheck = new Map<string, number>();
  private inFlight = new Set<string>();
  private pending = new Map<string, { account: string | null; message: string; prompt: string | null; source: string }>();

  constructor(
    private readonly sessions: SessionService,
    private readonly accounts: AccountService,
    private readonly swaps: SwapService,
    private chooser: AccountChooser,
    private readonly clock: Clock,
    private readonly log: Logger,
    private cooldownMs: number,
  ) {}

  setChooser(c: AccountChooser): void {
    this.chooser = c;
  }
  setCooldown(ms: number): void {
    this.cooldownMs = ms;
  }

  attach(): () => void {
    return this.sessions.onSignal((s) => {
      if (s.signal.kind === "turn_failed" && s.signal.error === "rate_limit") {
        void this.onLimit(s.session, s.signal.message ?? "", s.signal.prompt, "StopFailure rate_limit");
      }
    });
  }

  async onLimit(session: string, message: string, prompt: string | null, source: string): Promise<void> {
    if (this.inFlight.has(session)) {
      // Refused again while the last refusal is still being handled (the resent prompt refused on the
      // new account too): the running swap would end by clearing it. Handle it once that swap is over.
      this.pending.set(session, { account: this.sessions.get(session)?.account ?? null, message, prompt, source });
      return;
    }
    const row = this.sessions.get(session);
    if (!row?.account) return;
    this.inFlight.add(session);
    try {
      const now = this.clock.now();
      const parsed = parseLimitMessage(message, now);
      const until = parsed?.resetAt ?? now + this.cooldownMs;
      this.accounts.setState(row.account, "exhausted", until, `${source}: ${message || "limit hit"}`);
      this.sessions.event("quota.hard_limit", session, row.account, { message, until, parsed: !!parsed?.resetAt, source });
      const resend = prompt ?? row.failedPrompt ?? row.lastPrompt;
      const out = await this.swaps.swap({ session, reason: "rate_limit", urgent: true, hard: true, resend });
      if (!out.ok) this.log.warn({ session, outcome: out.outcome, reason: out.reason }, "no swap after hard limit");
      // Another operation held the session (a swap of the quota monitor, a resume, a send): it may end by
      // clearing the refusal. Try again once it lets go (tick).
      if (!out.ok && out.outcome === "refused" && this.sessions.lockedBy(session)) this.pending.set(session, { account: row.account, message, prompt: resend, source });
    } catch (e) {
      this.log.error({ session, err: errorMessage(e) }, "hard-limit reaction failed");
    } finally {
      this.inFlight.delete(session);
      this.replayPending(session);
    }
  }

  private replayPending(session: string): void {
    const p = this.pending.get(session);
    if (!p || this.sessions.lockedBy(session)) return;
    this.pending.delete(session);
    const row = this.sessions.get(session);
    if (!row || row.account !== p.account) return; // it has moved on since: nothing refused where it is now
    this.sessions.updateRow(session, { state: "limited", failedPrompt: p.prompt ?? row.failedPrompt });
    void this.onLimit(session, p.message, p.prompt, p.source);
  }

  /**
   * A limit reported while the daemon was down was replayed from the spool before the sessions were
   * known: react to it now (call after reconcile).
   */
  recoverLimited(): void {
    for (const s of this.sessions.list()) {
      if (s.state !== "limited" || this.sessions.lockedBy(s.name)) continue;
      const message = (s.stateReason ?? "").replace(/^rate_limit:\s*/, "");
      void this.onLimit(s.name, message, s.failedPrompt ?? s.lastPrompt, "StopFailure rate_limit (while the daemon was down)");
    }
  }

  /** Called from the daemon's tick: expire states, resume parked sessions, read silent busy panes. */
  async tick(): Promise<void> {
    const now = this.clock.now();
    for (const name of [...this.pending.keys()]) if (!this.inFlight.has(name)) this.replayPending(name);
    for (const s of this.sessions.list()) {
      if (s.state === "parked" && !this.sessions.lockedBy(s.name)) await this.tryResume(s.name);
      else if (s.state === "busy" && s.lastActivity !== null && now - s.lastActivity > SILENT_BUSY_MS) await this.checkPane(s.name);
    }
  }

  private async tryResume(name: string): Promise<void> {
    const row = this.sessions.get(name)!;
    const now = this.clock.now();
    if (row.parkedUntil !== null && row.parkedUntil > now) return;
    const choice = this.chooser.choose({ preferred: row.account, session: name });
    if (!choice.ok) {
      if (choice.resumeAt !== row.parkedUntil) this.sessions.park(name, choice.resumeAt, choice.reason);
      return;
    }
    try {
      this.sessions.lock(name, "resume");
    } catch {
      return;
    }
    try {
      const prompt = row.failedPrompt;
      this.sessions.event("session.resume", name, choice.account, { from: row.account, prompt: !!prompt });
      const pane = (await this.sessions.tmux.listPanes()).find((p) => p.session === name);
      if (pane && !pane.dead && choice.account === row.account) {
        const cls = classifyPane(await this.sessions.tmux.capture(name), now);
        if (cls.dialog) {
          await this.sessions.tmux.sendKeys(name, "Escape");
          await pollUntil(async () => !classifyPane(await this.sessions.tmux.capture(name), now).dialog, { timeoutMs: 2000, intervalMs: 50 });
        }
        this.sessions.updateRow(name, { state: "idle", stateReason: "resumed after reset", parkedUntil: null });
      } else {
        this.sessions.updateRow(name, { state: "starting", parkedUntil: null });
        await this.sessions.start(name, pane ? "respawn" : "create", "resume after park", choice.account);
        if (!(await this.sessions.waitReady(name))) throw new Error("CLI did not start");
      }
      if (prompt) {
        const r = await this.sessions.prompts.send(name, prompt, { confirmTimeoutMs: 60_000 });
        if (!r.ok) throw new Error(r.reason);
      }
      // Its UserPromptSubmit already cleared failedPrompt; clearing it here would erase a refusal that
      // came right after (the account refused the resent prompt at once).
    } catch (e) {
      this.log.warn({ session: name, err: errorMessage(e) }, "resume after park failed; will retry");
      this.sessions.park(name, this.clock.now() + 30_000, `resume failed: ${errorMessage(e)}`);
    } finally {
      this.sessions.unlock(name);
    }
  }

  private async checkPane(name: string): Promise<void> {
    const now = this.clock.now();
    if (now - (this.lastPaneCheck.get(name) ?? 0) < SILENT_BUSY_MS) return;
    this.lastPaneCheck.set(name, now);
    try {
      const row = this.sessions.get(name)!;
      // Only what the CLI printed after the current prompt counts: an old limit message further up
      // must not trigger a second swap (and a second copy of the prompt).
      const text = await this.sessions.tmux.capture(name);
      const key = (row.lastPrompt ?? "").split("\n")[0]!.slice(0, 40).trim();
      const at = key ? text.lastIndexOf(key) : -1;
      if (at < 0) return;
      const cls = classifyPane(text.slice(at + key.length), now);
      if (cls.limit && cls.limitText && !cls.busy) {
        this.sessions.updateRow(name, { state: "limited", failedPrompt: row.lastPrompt });
        await this.onLimit(name, cls.limitText, row.lastPrompt, "pane text");
      }
    } catch {
      /* pane gone: the sweep deals with it */
    }
  }
}
