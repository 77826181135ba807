import { randomBytes, randomUUID } from "node:crypto";
import type { AccountService } from "../accounts/account-service.js";
import type { Store } from "../store/store.js";
import type { SessionRow } from "../store/types.js";
import type { Pane } from "../tmux/pane.js";
import type { PaneInfo, Tmux } from "../tmux/tmux.js";
import type { Clock } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { pollUntil } from "../util/wait.js";
import { applyHookEvent, startTimeoutReason, strayStartupSessionStart } from "./apply-event.js";
import type { HookEvent } from "./hook-event.js";
import { buildLaunchArgv, decideResume, type LaunchContext, type ResumeDecision } from "./launch.js";
import { writeUserStatusLine } from "../claude/status-line-files.js";
import { PromptSender } from "./prompt-sender.js";
import { classifyPane, dialogLabel, type PaneClass, type PaneDialog } from "./pane-classify.js";
import { lostStop, lostStopDue } from "./lost-stop.js";
import { inspectTranscriptFile, lastAssistantText } from "../claude/transcript.js";
import { SessionLocks, type LockResult, type SessionOp } from "./session-locks.js";
import { promptSinceCheckpoint } from "./refused-prompt.js";
import { SessionRuntimes, type SessionRuntime } from "./session-runtime.js";
import { INITIAL_STATE, stateChange, type RowPatch, type StateOp } from "./session-states.js";
import type { SessionSignal } from "./signals.js";
import type { AccountChooser, SessionSpec, SessionTuning } from "./types.js";

type SignalListener = (s: SessionSignal) => void;

/** What the session service works with; the chooser is built before it (quota/account-chooser.ts). */
export interface SessionDeps {
  store: Store;
  /** creates, respawns and kills the sessions' tmux sessions (the lifecycle's own; other services get `pane`) */
  tmux: Tmux;
  /** what prompts and commands are typed through (tmux/pane.ts); the same one the daemon gives the other services */
  pane: Pane;
  accounts: AccountService;
  /** which account a new or respawned session runs on */
  chooser: AccountChooser;
  clock: Clock;
  log: Logger;
  /**
   * The sessions this daemon supervises, by name (default: a new map). The daemon creates it first and
   * shares it with account choice, which reads the supervised rows (supervisedRows) before this service exists.
   */
  specs?: Map<string, SessionSpec>;
}

/** The store rows of the supervised sessions (rows of removed or forgotten sessions stay in the store). */
export function supervisedRows(store: Store, specs: ReadonlyMap<string, SessionSpec>): SessionRow[] {
  return store.listSessions().filter((s) => specs.has(s.name));
}

export interface SessionOptions {
  /** how a CLI is launched (daemon: from claude.*, the hook and status-line files) */
  launch: LaunchContext;
  /** config/params.ts sessionTuning */
  tuning: SessionTuning;
  /** Where a session's identity comes from when the store has no row (state db lost): the latest checkpoint. */
  restoreSource?: (name: string) => RestoreSource | null;
  /**
   * Called after a session's CLI was started again because it had died or its tmux session vanished
   * (crash, kill-server, reboot), with this service (the daemon continues a cut turn: continue-turn.ts).
   */
  afterRecreate?: (name: string, before: SessionRow, sessions: SessionService) => void;
  /** no Claude Code CLI found at start: sessions fail with this reason (and its fix) instead of crash-looping */
  cliProblem?: string | null;
}

/** A session's last checkpoint as the restore of a lost row reads it (checkpoint.ts). */
export type RestoreSource = Partial<SessionRow> & {
  /** the transcript's length when the checkpoint was taken (bytes), or null */
  transcriptSize?: number | null;
};

/** How often waitReady looks at the pane of a CLI that has not started (ms). */
const PANE_LOOK_MS = 1000;

/**
 * Keeps every supervised session alive in tmux: creates, adopts, restarts (with backoff, ending in
 * `failed` on a crash loop) and applies hook events to its state. Swaps and the pool build on it.
 */
export class SessionService {
  readonly specs: Map<string, SessionSpec>;
  /** sessions an operation (swap, restart, stop) holds; the sweeper leaves them alone */
  private readonly locks = new SessionLocks();
  /** each session's in-memory state (session-runtime.ts): restarts, launches, the running prompt's id */
  private readonly runtimes = new SessionRuntimes();
  /** aborted by shutdown(): pending restarts and the dead-pane status wait end */
  private readonly stopping = new AbortController();
  /** Launches counted (prepareLaunch; each session's latest is in its runtime): the sweep skips sessions launched since its pane list. */
  private launchSeq = 0;
  private readonly listeners = new Set<SignalListener>();
  private sweeping = false;
  readonly prompts: PromptSender;
  stopped = false;
  /** Where a session's identity comes from when the store has no row (state db lost): the latest checkpoint. */
  private readonly restoreSource: ((name: string) => RestoreSource | null) | null;
  /** Called after a session's CLI was started again because it had died or its tmux session vanished (crash, kill-server, reboot). */
  private readonly afterRecreate: ((name: string, before: SessionRow, sessions: SessionService) => void) | null;
  private problem: string | null;
  private readonly tmux: Tmux;
  private readonly store: Store;
  private readonly accounts: AccountService;
  private readonly chooser: AccountChooser;
  private readonly clock: Clock;
  private readonly log: Logger;
  private launchCtx: LaunchContext;
  private tuning: SessionTuning;

  constructor(deps: SessionDeps, opts: SessionOptions) {
    this.store = deps.store;
    this.specs = deps.specs ?? new Map<string, SessionSpec>();
    this.tmux = deps.tmux;
    this.accounts = deps.accounts;
    this.chooser = deps.chooser;
    this.clock = deps.clock;
    this.log = deps.log;
    this.launchCtx = opts.launch;
    this.tuning = opts.tuning;
    this.restoreSource = opts.restoreSource ?? null;
    this.afterRecreate = opts.afterRecreate ?? null;
    this.problem = opts.cliProblem ?? null;
    this.prompts = new PromptSender({
      pane: deps.pane,
      waitSignal: (name, pred, t) => this.waitForSignal(name, pred, t),
      clock: this.clock,
      onDialog: (name, dialog, reason) => this.noteWaiting(name, dialog, reason),
    });
  }

  /** A reloaded config: the next launches use these (options as in the constructor). */
  updateLaunch(opts: Pick<SessionOptions, "launch" | "tuning" | "cliProblem">): void {
    this.launchCtx = opts.launch;
    this.tuning = opts.tuning;
    this.problem = opts.cliProblem ?? null;
  }

  /** No Claude Code CLI can be found: sessions fail with this reason (and its fix) instead of crash-looping; null when one is. */
  get cliProblem(): string | null {
    return this.problem;
  }

  onSignal(fn: SignalListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Resolves with the first signal of `name` that `pred` accepts, or null at the deadline (a wait still
   * open at shutdown runs to its deadline, as its caller's operation does).
   */
  waitForSignal(name: string, pred: (s: SessionSignal) => boolean, timeoutMs: number): Promise<SessionSignal | null> {
    return new Promise((resolve) => {
      const off = this.onSignal((s) => {
        if (s.session === name && pred(s)) {
          t.cancel();
          off();
          resolve(s);
        }
      });
      const t = this.clock.after(timeoutMs, () => {
        off();
        resolve(null);
      });
    });
  }

  /** Holds `name` for `op` when no other operation does (session-locks.ts); says who does otherwise. */
  tryLock(name: string, op: SessionOp): LockResult {
    return this.locks.tryLock(name, op);
  }
  /** Runs `fn` holding `name` for `op`, or says who holds it (session-locks.ts). */
  withLock<T>(name: string, op: SessionOp, fn: () => Promise<T>) {
    return this.locks.withLock(name, op, fn);
  }
  lockedBy(name: string): SessionOp | undefined {
    return this.locks.lockedBy(name);
  }

  /** What this service holds of `name` in memory only (session-runtime.ts); undefined before its first use or once removed. */
  runtime(name: string): Readonly<SessionRuntime> | undefined {
    return this.runtimes.peek(name);
  }

  /**
   * Writes fields of a session's row other than its state (which moves by an operation: setState). A
   * `state` slipped in anyway (the type forbids it) is recorded as unexpected and still written.
   */
  updateRow(name: string, patch: RowPatch): void {
    const state = (patch as Partial<SessionRow>).state;
    if (state !== undefined) this.unexpected(name, "updateRow", this.store.getSession(name)?.state ?? null, state);
    this.store.updateSession(name, patch, this.clock.now());
  }

  /**
   * Moves `name`'s state by `op` (the table in session-states.ts) and writes the rest of `patch` with it. An
   * op that leaves the current state as it is writes neither the state nor `patch.stateReason`. An op not
   * expected from the current state is recorded (event session.transition_unexpected, a warning) and its
   * state still written. Returns the row as written (undefined: no such row).
   */
  setState(name: string, op: StateOp, patch: RowPatch = {}): SessionRow | undefined {
    const row = this.store.getSession(name);
    if (!row) return undefined;
    const { change, t } = stateChange(row.state, op, patch);
    if (!t.ok) this.unexpected(name, op, row.state, t.to);
    return Object.keys(change).length ? this.store.updateSession(name, change, this.clock.now()) : row;
  }

  private unexpected(name: string, op: string, from: string | null, to: string): void {
    this.event("session.transition_unexpected", name, null, { op, from, to });
    this.log.warn({ session: name, op, from, to }, "session state change not in the transition table");
  }

  get(name: string): SessionRow | undefined {
    return this.store.getSession(name);
  }
  list(): SessionRow[] {
    return supervisedRows(this.store, this.specs);
  }

  event(kind: string, session: string | null, account: string | null, data: Record<string, unknown> = {}): void {
    this.store.appendEvent(this.clock.now(), kind, session, account, data);
  }

  /**
   * Registers a session and makes sure its store row exists, restored from its newest checkpoint when the row
   * was lost (same project) or new otherwise; touches no pane. The daemon calls it for its dedicated sessions
   * before it replays the spool, so hook events written while it was down (a turn that ended then) apply to
   * the restored row instead of being dropped as orphans. Returns the row.
   */
  ensureRow(spec: SessionSpec): SessionRow {
    this.specs.set(spec.name, spec);
    const now = this.clock.now();
    let row = this.store.getSession(spec.name);
    if (!row) {
      const cp = this.restoreSource?.(spec.name) ?? null;
      const sameProject = cp?.project === spec.project;
      row = this.store.insertSession(
        {
          name: spec.name,
          kind: spec.kind,
          project: spec.project,
          account: (sameProject && cp?.account) || null,
          claudeSessionId: (sameProject && cp?.claudeSessionId) || randomUUID(),
          state: INITIAL_STATE,
        },
        now,
      );
      if (cp && sameProject) {
        // The swaps table outlives a lost row: the last move's time keeps the anti-thrash dwell (chaos seed
        // 728169: a threshold move 26 s after a move, the row deleted in between).
        const moved = this.store.lastSwap(spec.name);
        row = this.store.updateSession(
          spec.name,
          {
            transcriptPath: cp.transcriptPath ?? null,
            lastPrompt: cp.lastPrompt ?? null,
            lastPromptAnswered: cp.lastPromptAnswered ?? true,
            failedPrompt: cp.failedPrompt ?? null,
            lastMoveAt: moved && moved.outcome === "ok" ? (moved.endedAt ?? moved.startedAt) : null,
          },
          now,
        )!;
        this.event("session.restored_from_checkpoint", spec.name, row.account, {
          claudeSessionId: row.claudeSessionId,
        });
        // The transcript may hold a prompt submitted after the checkpoint was taken (and refused, or cut):
        // the row owes it, and a refused one the adoption continues (continue-turn.ts) as a turn cut by a
        // restart.
        const since = promptSinceCheckpoint(row.transcriptPath, cp.transcriptSize ?? null, row.lastPrompt);
        if (since) {
          row = this.store.updateSession(
            spec.name,
            {
              lastPrompt: since.prompt,
              lastPromptAnswered: false,
              failedPrompt: since.refused ? since.prompt : null,
              started: true,
            },
            now,
          )!;
          // Refused: the turn is over and nothing else will send it. Unanswered without a refusal, a live CLI
          // may still be working on it (its Stop will come); a dead one is relaunched and continued anyway.
          if (since.refused) this.runtimes.of(spec.name).continueDue = true;
          this.event("session.prompt_found_in_transcript", spec.name, row.account, {
            prompt: since.prompt.slice(0, 80),
            refused: since.refused,
          });
        }
      }
    }
    return row;
  }

  /** Makes sure the store row exists and a live pane runs the CLI: adopt, restart or create. */
  async ensure(spec: SessionSpec, panes?: PaneInfo[]): Promise<void> {
    let row = this.ensureRow(spec);
    const now = this.clock.now();
    if (row.project !== spec.project) {
      // A new project is a new conversation: the old transcript belongs to the old folder.
      row = this.store.updateSession(
        spec.name,
        { project: spec.project, claudeSessionId: randomUUID(), transcriptPath: null, started: false },
        now,
      )!;
    }
    if (this.locks.lockedBy(spec.name)) return;
    const all = panes ?? (await this.tmux.listPanes());
    const pane = all.find((p) => p.session === spec.name);
    if (pane && !pane.owned) {
      this.setState(spec.name, "conflict", { stateReason: "a tmux session with this name exists and is not ours" });
      this.event("session.conflict", spec.name, null, { reason: "tmux session exists and is not ours" });
      return;
    }
    // Parked sessions come back at their reset time; failed ones when the operator says so.
    if (row.state === "parked" || row.state === "failed") return;
    if (pane && !pane.dead) {
      if (!row.account) return; // nothing sensible to adopt without knowing its account; left as is
      // A live CLI we didn't see start (starting, swapping, exited, stopped): idle; hooks will correct this
      // on its next event. Any other state is kept (the table's `adopt`).
      this.setState(spec.name, "adopt", { stateReason: "adopted" });
      this.event("session.adopted", spec.name, row.account, { pane: pane.paneId });
      this.log.info({ session: spec.name, account: row.account }, "adopted running session");
      // A prompt cut by an earlier CLI's end whose continue the last daemon did not live to send (the CLI
      // now running was launched after the prompt was submitted, and sits idle): continue it now
      // (chaos seed 708355: tmux killed mid-turn, the daemon SIGKILLed just after the restart).
      const cur = this.store.getSession(spec.name)!;
      const rt = this.runtimes.of(spec.name);
      if (
        cur.started &&
        cur.lastPrompt &&
        !cur.lastPromptAnswered &&
        cur.state === "idle" &&
        ((cur.launchedAt ?? 0) > (cur.lastPromptAt ?? Infinity) || rt.continueDue)
      ) {
        this.afterRecreate?.(spec.name, cur, this);
      }
      rt.continueDue = false;
      return;
    }
    const before = { ...row };
    await this.start(spec.name, pane ? "respawn" : "create", pane ? "pane dead at start" : "no tmux session");
    if (before.started) this.afterRecreate?.(spec.name, before, this);
  }

  /** Launches the CLI for a session on its account (or a newly chosen one). */
  async start(name: string, how: "create" | "respawn", whyIn: string, account?: string): Promise<void> {
    let why = whyIn;
    const spec = this.specs.get(name);
    const row = this.store.getSession(name);
    if (!spec || !row) throw new CfError("no_such_session", `no session named ${name}`);
    if (this.cliProblem) {
      this.setState(name, "cli_missing", { stateReason: this.cliProblem });
      this.event("session.failed", name, row.account, { reason: this.cliProblem });
      return;
    }
    let acct = account ?? row.account;
    if (!acct || !this.isUsable(acct)) {
      const choice = this.chooser.choose({ preferred: acct ?? spec.account, session: name });
      if (choice.ok) {
        acct = choice.account;
      } else {
        // Nowhere to run, but an account only lacks its login: start there anyway, so whoever attaches
        // sees the CLI's own login screen (fresh credentials then bring the account back).
        const loginable = this.accounts
          .names()
          .find((n) => this.accounts.row(n).state === "revoked" && (!spec.account || n === spec.account));
        if (!loginable) {
          this.park(name, choice.resumeAt, choice.reason);
          return;
        }
        acct = loginable;
        why = `${why}; account ${loginable} needs login: attach and log in`;
      }
    }
    const rt = this.runtimes.of(name);
    rt.launching = true;
    try {
      const { argv } = this.prepareLaunch(row, acct);
      this.setState(name, "launch", { account: acct, stateReason: why, parkedUntil: null });
      this.event("session.launch", name, acct, { how, why, resume: argv.includes("--resume") });
      this.log.info({ session: name, account: acct, how, why }, "launching CLI");
      if (how === "create") {
        await this.tmux.killSession(name); // a stale dead one, if any
        await this.tmux.newSession(name, { cwd: spec.project, argv });
      } else {
        await this.tmux.respawn(name, { cwd: spec.project, argv });
      }
    } finally {
      this.launched(rt);
    }
  }

  /**
   * A launch's tmux command returned (or failed): the pane list a sweep read before this may show the pane
   * dead or missing, so the launch counts again (launchSeq) as of now. prepareLaunch counted it before the
   * transcript check; a sweep that read its panes between the two would otherwise restart the CLI just
   * started (soak seed 161803, 2026-12-01: a swap's CLI respawned 1 s after it took the continue note, the
   * note answered twice).
   */
  private launched(rt: SessionRuntime): void {
    rt.launching = false;
    rt.launchSeq = ++this.launchSeq;
  }

  /**
   * Runs `argv` (prepareLaunch's) in session `name`'s pane, in its project: respawned when its tmux session
   * is there (`live`: known to be, no look), created when it is not. The swap's launch; rejects (tmux_failed)
   * when tmux refuses.
   */
  async launchIn(name: string, argv: string[], live: boolean): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) throw new CfError("no_such_session", `no session named ${name}`);
    const rt = this.runtimes.of(name);
    rt.launching = true;
    try {
      if (live || (await this.tmux.listPanes()).some((p) => p.session === name))
        await this.tmux.respawn(name, { cwd: spec.project, argv });
      else await this.tmux.newSession(name, { cwd: spec.project, argv });
    } finally {
      this.launched(rt);
    }
  }

  /**
   * The argv to launch a session's CLI on `account`. When the old conversation can't be resumed (it
   * never got an answer), a new conversation id is stored and `newConversation` says so: whoever
   * launches must then resend the unanswered prompt rather than a continue note.
   */
  prepareLaunch(row: SessionRow, account: string): { argv: string[]; resume: boolean; newConversation: boolean } {
    const spec = this.specs.get(row.name)!;
    const home = this.accounts.config(account)?.home;
    if (!home) throw new CfError("no_such_account", `no account named ${account}`);
    let id = row.claudeSessionId ?? randomUUID();
    const decision = decideResume(
      this.launchCtx.sharedProjectsDir,
      row.project,
      id,
      row.transcriptPath,
      this.clock.now(),
      row.lastPromptAnswered ? row.lastPrompt : null,
    );
    let check = decision.check;
    let why = "old conversation has no answered turn to resume";
    this.noteTranscript(row, account, decision);
    const rt = this.runtimes.of(row.name);
    if (check === "resume" && rt.refusedResume === id) {
      check = "fresh_new_id";
      why = "the CLI refused to resume the old conversation";
    }
    if (check === "fresh_new_id" || !row.claudeSessionId) {
      id = randomUUID();
      this.store.updateSession(row.name, { claudeSessionId: id, transcriptPath: null }, this.clock.now());
      if (check === "fresh_new_id")
        this.event("session.new_conversation", row.name, account, { old: row.claudeSessionId, new: id, why });
    }
    const resume = check === "resume";
    rt.launch = { at: this.clock.now(), started: false, resumeOf: resume ? id : null };
    if (this.launchCtx.statusLine) {
      writeUserStatusLine(this.launchCtx.statusLine, row.name, {
        project: row.project,
        accountHome: home,
        userHome: this.launchCtx.userHome ?? null,
      });
    }
    rt.launchSeq = ++this.launchSeq;
    const launchId = randomBytes(6).toString("hex");
    this.store.updateSession(row.name, { launchId, launchedAt: this.clock.now() }, this.clock.now());
    const argv = buildLaunchArgv(this.launchCtx, {
      name: row.name,
      account,
      home,
      claudeSessionId: id,
      resume,
      extraArgs: spec.args,
      launchId,
    });
    return { argv, resume, newConversation: check === "fresh_new_id" };
  }

  /**
   * Events for what the line-by-line transcript check found (claude/transcript.ts). When a torn tail was cut
   * and the unanswered prompt went with it, the prompt becomes `failedPrompt`, so it is resent (not a
   * continue note) once the CLI is up.
   */
  private noteTranscript(row: SessionRow, account: string, d: ResumeDecision): void {
    const rep = d.repair?.report;
    if (!rep) return;
    if (rep.badLines.length) {
      this.event("session.transcript_damaged", row.name, account, {
        path: d.path,
        lines: rep.badLines.map((b) => b.line),
        problems: rep.badLines.slice(0, 5).map((b) => `line ${b.line}: ${b.problem}`),
      });
    }
    if (d.repair?.answerLost) {
      // A turn ended (its Stop seen, or the CLI went on past it) but the transcript never got its answer: the
      // prompt's lines were cut so the model does not answer them again; the conversation goes on without them.
      this.event("session.transcript_answer_lost", row.name, account, {
        path: d.path,
        copy: d.repair.answerLost.copy,
        line: d.repair.answerLost.line,
        middle: d.repair.answerLost.middle,
      });
    }
    if (!rep.tornTail || !d.repair?.copy) return;
    const promptLost = !row.lastPromptAnswered && !!row.lastPrompt && rep.lastUserPrompt !== row.lastPrompt;
    this.event("session.transcript_repaired", row.name, account, {
      path: d.path,
      copy: d.repair.copy,
      line: rep.tornTail.line,
      bytesCut: rep.tornTail.bytes,
      problem: rep.tornTail.problem,
      resend: promptLost,
    });
    if (promptLost && !row.failedPrompt)
      this.store.updateSession(row.name, { failedPrompt: row.lastPrompt }, this.clock.now());
  }

  /**
   * A CLI launched with --resume that died before SessionStart saying it can't load the conversation (`why`
   * holds its last lines, deadReason): the next start is a new one.
   */
  private noteResumeRefused(name: string, why: string): void {
    const rt = this.runtimes.peek(name);
    const l = rt?.launch;
    if (!rt || !l || l.started || !l.resumeOf || rt.refusedResume === l.resumeOf || !RESUME_REFUSED.test(why)) return;
    rt.refusedResume = l.resumeOf;
    this.event("session.resume_refused", name, this.store.getSession(name)?.account ?? null, {
      id: l.resumeOf,
      said: why.slice(0, 300),
    });
  }

  isUsable(account: string): boolean {
    const r = this.accounts.row(account);
    return r.state === "active" && !!this.accounts.config(account);
  }

  park(name: string, resumeAt: number | null, reason: string): void {
    this.setState(name, "park", { stateReason: reason, parkedUntil: resumeAt });
    this.event("session.parked", name, this.store.getSession(name)?.account ?? null, { resumeAt, reason });
    this.log.warn({ session: name, resumeAt, reason }, "session parked");
  }

  /** One tmux call for all panes: restart dead CLIs, recreate sessions whose tmux session vanished. */
  async sweep(): Promise<void> {
    // Never two at once (the daemon's interval does not wait for a slow sweep): both would see one dead
    // pane and schedule two restarts, the second killing the CLI the first started.
    if (this.stopped || this.sweeping) return;
    this.sweeping = true;
    try {
      await this.sweepOnce();
    } finally {
      this.sweeping = false;
    }
  }

  private async sweepOnce(): Promise<void> {
    // The pane list is a snapshot: a session launched while it was read (a pool session created, a
    // restart) may be missing from it, or dead in it, and restarting it on that would kill the CLI just
    // started, mid-turn (soak seed 643560: a pool task's answer lost, the task run three times). Such a
    // session is left to the next sweep.
    const seq = this.launchSeq;
    const panes = await this.tmux.listPanes();
    for (const spec of this.specs.values()) {
      const rt = this.runtimes.peek(spec.name);
      if (this.locks.lockedBy(spec.name) || rt?.restartTimer || rt?.launching) continue;
      if ((rt?.launchSeq ?? 0) > seq) continue;
      const row = this.store.getSession(spec.name);
      if (!row || row.state === "parked" || row.state === "failed" || row.state === "stopped") continue;
      const pane = panes.find((p) => p.session === spec.name);
      if (pane && !pane.dead && row.state === "starting" && (await this.failIfStartOverdue(spec.name))) continue;
      if (!pane) this.scheduleRestart(spec.name, "tmux session missing", "create");
      else if (pane.dead) {
        const why = await this.deadReason(spec.name, pane);
        // Its wait (up to 2 s) is long enough for another operation to have taken or launched the session.
        const now = this.runtimes.peek(spec.name);
        if (this.locks.lockedBy(spec.name) || now?.restartTimer || now?.launching) continue;
        if ((now?.launchSeq ?? 0) > seq) continue;
        this.scheduleRestart(spec.name, why, "respawn");
      }
      // A `waiting` row (PermissionRequest or Notification hook) is read too: its reason becomes the dialog
      // seen, which is what status, the dashboard and the dialog_after notice go by.
      else if (
        row.state === "starting" ||
        row.state === "busy" ||
        row.state === "waiting" ||
        row.stateReason?.startsWith("waiting: ")
      ) {
        const seen = await this.noteDialog(spec.name, row.stateReason);
        if (row.state === "busy" && seen) this.noteLostStop(spec.name, seen);
      }
    }
  }

  /**
   * A starting CLI sends no hook while a dialog (the folder trust question) waits for a person: say so in its
   * state reason. Returns what the pane shows, or null when it could not be read.
   */
  private async noteDialog(name: string, reason: string | null): Promise<PaneClass | null> {
    const text = await this.tmux.capture(name).catch(() => null);
    if (text === null) return null;
    const seen = classifyPane(text, this.clock.now());
    const dialog = seen.dialog;
    const why = dialog ? `waiting: ${dialogLabel(dialog)} (answer it: claude-failover attach ${name})` : null;
    if (!why && reason?.startsWith("waiting: "))
      this.store.updateSession(name, { stateReason: null }, this.clock.now());
    if (!why || why === reason) return seen;
    this.store.updateSession(name, { stateReason: why }, this.clock.now());
    this.event("session.waiting", name, this.store.getSession(name)?.account ?? null, { dialog });
    return seen;
  }

  /**
   * A busy session whose CLI has sat idle at its input box, with no hook event, for LOST_STOP_MS, and whose
   * transcript answers the running prompt: its Stop was lost (the hook could not spool it). The turn is
   * ended as its Stop would have ended it (the answer read from the transcript), with an event saying so.
   */
  private noteLostStop(name: string, seen: PaneClass): void {
    const row = this.store.getSession(name);
    const rt = this.runtimes.of(name);
    const now = this.clock.now();
    const idle = !seen.busy && !seen.dialog && !seen.limit;
    rt.idleSince = idle && row?.state === "busy" ? (rt.idleSince ?? now) : null;
    if (!row) return;
    const input = {
      now,
      rowState: row.state,
      lastPrompt: row.lastPrompt,
      lastPromptAnswered: row.lastPromptAnswered,
      idleSince: rt.idleSince,
      lastHookAt: rt.lastHookAt ?? row.lastPromptAt ?? 0,
    };
    // The transcript is read only once the rest says so (the cached check reads what was appended).
    if (!lostStopDue(input)) return;
    let transcript: { lastUserPrompt: string | null; answered: boolean } | null = null;
    try {
      const r = row.transcriptPath ? inspectTranscriptFile(row.transcriptPath) : null;
      if (r) transcript = { lastUserPrompt: r.lastUserPrompt, answered: r.unansweredFrom === null };
    } catch {
      /* unreadable: not enough to go on */
    }
    if (!lostStop({ ...input, transcript })) return;
    this.event("session.stop_inferred", name, row.account, {
      why: `idle at the input box for ${Math.round((now - rt.idleSince!) / 1000)} s with no hook event, the transcript answering the prompt: its Stop was lost`,
    });
    this.log.warn({ session: name }, "turn ended without its Stop reaching the daemon: taken as ended");
    this.handleHookEvent({
      file: `inferred.${now}.${name}.Stop`,
      ts: now,
      order: [BigInt(now) * 1_000_000n, 0],
      session: name,
      account: row.account ?? "",
      launch: null,
      event: "Stop",
      payload: {
        session_id: row.claudeSessionId,
        last_assistant_message: lastAssistantText(row.transcriptPath),
        inferred: true,
      },
    });
  }

  /** A send refused at a dialog (cli-input.ts): status says what the session waits at, and an event says what was refused. */
  private noteWaiting(name: string, dialog: PaneDialog, reason: string): void {
    const row = this.store.getSession(name);
    if (!row) return;
    this.event("session.input_refused", name, row.account, { reason, dialog });
    const why = `waiting: ${dialogLabel(dialog)} (answer it: claude-failover attach ${name})`;
    if (row.stateReason !== why) this.store.updateSession(name, { stateReason: why }, this.clock.now());
  }

  /** "CLI exited (status 127); last lines: …" — the pane of a dead CLI still shows what it printed (remain-on-exit). */
  private async deadReason(name: string, pane: PaneInfo): Promise<string> {
    // tmux marks the pane dead when the pty closes and fills #{pane_dead_status} only once it has reaped
    // the process (tmux 3.3a, window_pane status flags): a sweep between the two sees no status yet. Under
    // load the reaping took over 500 ms (CI); up to 2 s is waited. A CLI killed by a signal never gets a
    // status (tmux 3.3a has no #{pane_dead_signal} value for it), so its reason waits those 2 s.
    for (let i = 0; pane.deadStatus === null && i < 40; i++) {
      await this.clock.sleep(50, this.stopping.signal);
      if (this.stopped) break;
      const again = (await this.tmux.listPanes().catch(() => [])).find((p) => p.paneId === pane.paneId);
      if (!again?.dead) break;
      pane = again;
    }
    const status =
      pane.deadStatus === null
        ? "CLI exited (no exit status: killed by a signal?)"
        : `CLI exited (status ${pane.deadStatus})`;
    const text = await this.tmux.capture(name, 50).catch(() => "");
    const lines = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !/^Pane is dead/.test(l));
    const tail = lines.slice(-3).join(" | ");
    return tail ? `${status}; last lines: ${tail.length > 300 ? `…${tail.slice(-300)}` : tail}` : status;
  }

  /** Restart with exponential backoff; too many restarts inside the window → `failed`. */
  scheduleRestart(name: string, why: string, how: "create" | "respawn"): void {
    const rt = this.runtimes.of(name);
    if (rt.restartTimer) return; // one is pending or under way: a second respawn would kill its CLI
    this.noteResumeRefused(name, why);
    const now = this.clock.now();
    const hist = rt.restartTimes.filter((t) => now - t < this.tuning.crashLoopWindowMs);
    if (hist.length >= this.tuning.crashLoopRestarts) {
      this.setState(name, "crash_loop", { stateReason: `crash loop: ${hist.length} restarts in window; last: ${why}` });
      this.event("session.failed", name, this.store.getSession(name)?.account ?? null, {
        reason: "crash loop",
        restarts: hist.length,
        last: why,
      });
      this.log.error({ session: name, why }, "crash loop: session failed");
      return;
    }
    hist.push(now);
    rt.restartTimes = hist;
    const delay = Math.min(this.tuning.restartBackoffMs * 2 ** (hist.length - 1), this.tuning.restartBackoffMaxMs);
    this.setState(name, "exit_seen", { stateReason: why });
    this.event("session.exited", name, this.store.getSession(name)?.account ?? null, { why, restartInMs: delay });
    // The entry stays until the CLI is respawned: a sweep meanwhile still sees the dead pane and must not
    // schedule a second restart (its respawn would kill this one's CLI).
    const done = () => {
      if (rt.restartTimer === t) rt.restartTimer = null;
    };
    const t = this.clock.after(
      delay,
      () => {
        if (this.stopped || this.locks.lockedBy(name)) return done();
        const row = this.store.getSession(name);
        if (row) this.store.updateSession(name, { restarts: row.restarts + 1 }, this.clock.now());
        this.start(name, how, `restart: ${why}`)
          .then(() => {
            done();
            if (row?.started) this.afterRecreate?.(name, row, this);
          })
          .catch((e) => {
            done();
            this.log.error({ session: name, err: errorMessage(e) }, "restart failed");
          });
      },
      this.stopping.signal,
    );
    rt.restartTimer = t;
  }

  /** Clears crash-loop history and brings a failed/parked session back (operator action). */
  async restart(name: string, why = "operator restart", account?: string): Promise<void> {
    if (!this.specs.has(name)) throw new CfError("no_such_session", `no session named ${name}`);
    const rt = this.runtimes.of(name);
    rt.restartTimes = [];
    rt.restartTimer?.cancel();
    rt.restartTimer = null;
    const panes = await this.tmux.listPanes();
    const pane = panes.find((p) => p.session === name);
    await this.start(name, pane ? "respawn" : "create", why, account);
  }

  /** Applies one hook event from the spool (in order) and tells listeners what it meant. */
  handleHookEvent(ev: HookEvent): void {
    const row = this.store.getSession(ev.session);
    if (!row) {
      this.event("hook.orphan", ev.session, ev.account, { event: ev.event });
      return;
    }
    const heard = this.runtimes.of(row.name);
    heard.lastHookAt = this.clock.now();
    heard.idleSince = null;
    const stray = strayStartupSessionStart(row, ev);
    if (stray) {
      this.event("hook.SessionStart.ignored", row.name, ev.account, {
        why: stray,
        session_id: ev.payload.session_id ?? null,
        kept: row.claudeSessionId,
      });
      this.log.warn({ session: row.name, ignored: ev.payload.session_id }, stray);
      return;
    }
    if (ev.event === "SessionStart") {
      const l = this.runtimes.peek(row.name)?.launch;
      if (l) l.started = true;
    }
    // A CLI we did not launch (a copy left on an old tmux server, one started by hand with our
    // environment): its events written after our current launch started are not this session's.
    if (ev.launch && row.launchId && ev.launch !== row.launchId && row.launchedAt !== null && ev.ts >= row.launchedAt) {
      this.event("hook.foreign_launch", row.name, ev.account, {
        event: ev.event,
        launch: ev.launch,
        current: row.launchId,
      });
      this.log.warn(
        { session: row.name, event: ev.event, launch: ev.launch, current: row.launchId },
        "hook event from a CLI this daemon did not launch: not applied",
      );
      return;
    }
    // StopFailure fires for a CLI's helper queries and background subagents too, with the parent's
    // session_id (anthropics/claude-code 91419, 2.1.258): one whose prompt_id is not the running
    // prompt's is not this turn's failure.
    const promptId = typeof ev.payload.prompt_id === "string" ? ev.payload.prompt_id : null;
    if (ev.event === "UserPromptSubmit") this.runtimes.of(row.name).promptId = promptId;
    if (ev.event === "StopFailure" && promptId !== null) {
      const running = this.runtimes.peek(row.name)?.promptId;
      if (running && running !== promptId) {
        this.event("hook.StopFailure.ignored", row.name, ev.account, {
          why: "StopFailure from a helper ignored: its prompt_id is not the running prompt's",
          prompt_id: promptId,
          running,
          error: ev.payload.error ?? null,
        });
        return;
      }
    }
    const { patch, signals } = applyHookEvent(row, ev);
    // All or nothing: a full disk (SQLITE_FULL) leaves none of it written, and the spool keeps the event and
    // applies it again once the store takes writes (spool.ts), so nothing is half applied or recorded twice.
    // Once only: a file applied before a crash, still in the spool at the next start, is not applied again.
    const fresh = this.store.db.transaction(() => {
      if (!this.store.markSpoolApplied(ev.file, this.clock.now())) return false;
      this.store.updateSession(row.name, patch, this.clock.now());
      this.event(`hook.${ev.event}`, row.name, ev.account, {
        ...summarize(ev.payload),
        ...(ev.launch ? { launch: ev.launch } : {}),
      });
      if (signals.some((sig) => sig.kind === "prompt_submitted")) this.store.recordPrompt(ev.ts, row.name, ev.account);
      return true;
    })();
    if (!fresh) {
      this.log.info({ session: row.name, file: ev.file }, "hook event applied before a restart: not applied again");
      return;
    }
    for (const sig of signals) {
      if (sig.kind === "session_start" && sig.source !== "startup") {
        const rt = this.runtimes.peek(row.name);
        if (rt) rt.restartTimes = [];
      }
      for (const l of this.listeners) {
        try {
          l({ session: row.name, ts: ev.ts, signal: sig });
        } catch (e) {
          this.log.error({ err: errorMessage(e) }, "signal listener failed");
        }
      }
    }
  }

  /**
   * Waits until the CLI has reported SessionStart for the current launch (state left `starting`). false when
   * it did not within `timeoutMs`, or the session failed or was stopped meanwhile, or its CLI is gone (pane
   * dead or tmux session missing at two looks PANE_LOOK_MS apart: the sweep's to restart once the caller
   * lets go); a launch older than sessions.start_timeout whose CLI still runs then becomes `failed`
   * (failIfStartOverdue).
   */
  async waitReady(name: string, timeoutMs = this.tuning.startTimeoutMs): Promise<boolean> {
    // A CLI that died before its SessionStart (its pane dead), or whose tmux session is gone (the server
    // killed), won't start: the wait ends once two looks a second apart say so, not at the start timeout.
    // Whoever waits holds the session, and the sweep, which restarts it, skips a held session: waiting the
    // whole timeout left it down that long (CI's short chaos: s40's tmux session missing for 60 s).
    let nextLook = this.clock.now() + PANE_LOOK_MS;
    let downLooks = 0;
    const r = await pollUntil(
      async () => {
        const s = this.store.getSession(name);
        if (s?.state === "failed" || s?.state === "stopped") return "no";
        if (s && s.state !== "starting" && s.state !== "exited") return "yes";
        if (this.clock.now() < nextLook) return null;
        nextLook = this.clock.now() + PANE_LOOK_MS;
        const pane = (await this.tmux.listPanes().catch(() => [])).find((p) => p.session === name);
        downLooks = !pane || pane.dead ? downLooks + 1 : 0;
        return downLooks >= 2 ? "down" : null;
      },
      { clock: this.clock, timeoutMs, intervalMs: 50 },
    );
    if (r === "yes") return true;
    if (r === "down") {
      this.log.info({ session: name }, "CLI gone before its SessionStart: not waited for further");
      return false;
    }
    if (!r) {
      // As in the sweep: only a live pane is a start that hangs. A CLI that died before its SessionStart
      // (a refused resume) is the sweep's to restart, with its crash-loop count, once no operation holds the
      // session (one waiting here, e.g. TurnContinuation.finish, holds it and the sweep skips it meanwhile).
      const pane = (await this.tmux.listPanes().catch(() => [])).find((p) => p.session === name);
      if (pane && !pane.dead) await this.failIfStartOverdue(name);
    }
    return false;
  }

  /**
   * A CLI that sent no SessionStart within sessions.start_timeout of its launch runs none of our hooks (or
   * hangs before its prompt): `failed`, with the reason, instead of `starting` for ever. A dialog on screen
   * waits for a person and is left alone (noteDialog says so). true when it failed the session.
   */
  private async failIfStartOverdue(name: string): Promise<boolean> {
    const l = this.runtimes.peek(name)?.launch;
    const row = this.store.getSession(name);
    const now = this.clock.now();
    if (!l || l.started || row?.state !== "starting" || now - l.at < this.tuning.startTimeoutMs) return false;
    if (classifyPane(await this.tmux.capture(name).catch(() => ""), now).dialog) return false;
    const reason = startTimeoutReason(this.tuning.startTimeoutMs);
    this.setState(name, "start_timeout", { stateReason: reason });
    this.event("session.failed", name, row.account, {
      reason: "no SessionStart",
      timeoutMs: this.tuning.startTimeoutMs,
    });
    this.log.error({ session: name }, reason);
    return true;
  }

  /** Stops a session for good (config removal, pool shrink): kills its tmux session and forgets it. */
  async remove(name: string, why: string): Promise<void> {
    this.runtimes.drop(name); // its pending restart cancelled, its launch and restart history forgotten
    this.specs.delete(name);
    await this.tmux.killSession(name);
    this.setState(name, "remove", { stateReason: why });
    this.event("session.removed", name, null, { why });
  }

  shutdown(): void {
    this.stopped = true;
    this.stopping.abort();
    this.runtimes.clearTimers();
  }
}

/** What a CLI prints when it can't load the conversation it was told to resume (then it exits). */
const RESUME_REFUSED =
  /No conversation found|conversation .*(could not|couldn't|cannot|failed to) (be )?(load|read|parse)|failed to (load|parse|resume)/i;

// Events keep what an operator needs, not whole payloads (prompts can be large).
function summarize(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ["session_id", "source", "error", "notification_type", "reason", "prompt_id", "inferred"])
    if (p[k] !== undefined) out[k] = p[k];
  for (const k of ["prompt", "last_assistant_message", "message"]) {
    const v = p[k];
    if (typeof v === "string") out[k] = v.length > 200 ? `${v.slice(0, 200)}…` : v;
  }
  return out;
}
