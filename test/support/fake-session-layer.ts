// A stand-in for the session service, for dispatcher and pool tests: rows in memory, hook signals sent
// by hand, and a pane whose input box shows what was typed (so `/clear` + Enter can be confirmed).
import type { SessionLayer } from "../../src/pool/pool.js";
import { CliInput } from "../../src/sessions/cli-input.js";
import type { SendResult } from "../../src/sessions/prompt-sender.js";
import type { SessionSignal, Signal } from "../../src/sessions/signals.js";
import type { SessionSpec } from "../../src/sessions/types.js";
import type { SessionRow } from "../../src/store/types.js";
import type { Pane, PaneKey } from "../../src/tmux/pane.js";
import { applyHookEvent } from "../../src/sessions/apply-event.js";
import type { HookEvent } from "../../src/sessions/hook-event.js";
import { systemClock, type Clock } from "../../src/util/clock.js";
import { SessionLocks, type SessionOp } from "../../src/sessions/session-locks.js";
import { stateChange, type RowPatch, type StateOp } from "../../src/sessions/session-states.js";

export function sessionRow(name: string, o: Partial<SessionRow> = {}): SessionRow {
  return {
    name,
    kind: "autonomous",
    project: "/p",
    account: "a",
    claudeSessionId: "id",
    transcriptPath: null,
    state: "idle",
    stateReason: null,
    lastPrompt: null,
    lastPromptAt: null,
    lastPromptAnswered: true,
    failedPrompt: null,
    lastActivity: null,
    lastMoveAt: null,
    parkedUntil: null,
    restarts: 0,
    started: true,
    createdAt: 0,
    updatedAt: 0,
    launchId: null,
    launchedAt: null,
    ...o,
  };
}

export class FakeSessionLayer implements SessionLayer {
  readonly prompts: { input: CliInput; send: (name: string, text: string) => Promise<SendResult> };
  /** `clock`: the time its rows, signals and waits use (a test's manual clock, or the wall clock) */
  constructor(readonly clock: Clock = systemClock) {
    this.prompts = {
      // The real input module over the fake pane below: /clear is typed, checked and confirmed as in production.
      input: new CliInput({
        pane: {
          capture: (n) => this.pane.capture(n),
          sendKeys: (n, ...k) => this.pane.sendKeys(n, ...k),
          sendLiteral: (n, t) => this.pane.sendLiteral(n, t),
          paste: (n, t) => this.pane.paste(n, t),
        },
        waitSignal: (n, p, t) => this.waitForSignal(n, p, t),
        clock: this.clock,
      }),
      send: async (name: string, text: string): Promise<SendResult> => {
        this.log.push(`send:${name}:${text}`);
        if (this.autoSubmit)
          this.emit(name, { kind: "prompt_submitted", prompt: text, account: this.rows.get(name)?.account ?? "a" });
        if (this.sendThrows) throw new Error(this.sendThrows);
        return this.sendOk ? { ok: true, confirmedAt: this.clock.now() } : { ok: false, reason: this.sendFailReason };
      },
    };
  }
  readonly specs = new Map<string, SessionSpec>();
  readonly rows = new Map<string, SessionRow>();
  /** the real lock table (sessions/session-locks.ts) */
  readonly locks = new SessionLocks();
  readonly events: { kind: string; session: string | null; data: Record<string, unknown> }[] = [];
  /** what happened to sessions, in order: `send:<session>:<text>`, `clear:<session>`, `start:<session>`, `remove:<session>` */
  readonly log: string[] = [];
  /** state changes the transition table does not expect (setState) */
  readonly unexpected: string[] = [];
  private readonly listeners = new Set<(s: SessionSignal) => void>();
  private readonly typed = new Map<string, string>();
  sendOk = true;
  /** a send throws this (tmux failing mid-send) when set */
  sendThrows: string | null = null;
  /** why a send fails when sendOk is false (the input module's words) */
  sendFailReason = "the text did not show in the input box";
  /** stamps rows' updatedAt, as the store does */
  now: () => number = () => this.clock.now();
  /** the CLI reports UserPromptSubmit when a prompt is sent */
  autoSubmit = true;

  get(name: string) {
    return this.rows.get(name);
  }
  async ensure(spec: SessionSpec) {
    this.specs.set(spec.name, spec);
    const row = this.rows.get(spec.name);
    if (!row || row.state === "stopped")
      this.rows.set(spec.name, sessionRow(spec.name, { project: spec.project, account: spec.account ?? "a" }));
    else if (row.state === "starting")
      this.updateRow(spec.name, { state: "idle", project: spec.project, account: spec.account ?? row.account ?? "a" });
    else return; // adopted as it is
    this.log.push(`start:${spec.name}`);
  }
  async waitReady() {
    return true;
  }
  async remove(name: string) {
    this.specs.delete(name);
    this.updateRow(name, { state: "stopped" });
    this.log.push(`remove:${name}`);
  }
  updateRow(name: string, patch: Partial<SessionRow>) {
    const r = this.rows.get(name);
    if (r) this.rows.set(name, { ...r, ...patch, updatedAt: this.now() });
  }
  /** The real table's change (sessions/session-states.ts); an op it does not expect is noted in `unexpected`. */
  setState(name: string, op: StateOp, patch: RowPatch = {}) {
    const r = this.rows.get(name);
    if (!r) return;
    const { change, t } = stateChange(r.state, op, patch);
    if (!t.ok) this.unexpected.push(`${op} from ${r.state}`);
    this.updateRow(name, change);
  }
  tryLock(name: string, op: SessionOp) {
    return this.locks.tryLock(name, op);
  }
  lockedBy(name: string) {
    return this.locks.lockedBy(name);
  }
  onSignal(fn: (s: SessionSignal) => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
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
  event(kind: string, session: string | null, _account: string | null, data: Record<string, unknown> = {}) {
    this.events.push({ kind, session, data });
  }

  /**
   * A hook signal: made into the hook event the CLI would send, applied to the row by the real
   * applyHookEvent (sessions/apply-event.ts), and the signals it yields told to listeners.
   */
  emit(session: string, signal: Signal, ts = this.clock.now()) {
    const r = this.rows.get(session)!;
    const { patch, signals } = applyHookEvent(r, hookEventOf(session, r.account ?? "a", signal, ts));
    this.updateRow(session, patch);
    for (const s of signals) for (const l of this.listeners) l({ session, ts, signal: s });
  }

  /** the fake pane (the pool, the dispatcher and the task waits get it): its input box holds what was typed */
  readonly pane: Pane = {
    sendLiteral: async (name: string, text: string) => {
      this.typed.set(name, text);
    },
    paste: async (name: string, text: string) => {
      this.typed.set(name, text);
    },
    sendKeys: async (name: string, ...keys: PaneKey[]) => {
      if (keys[0] === "C-u") this.typed.delete(name);
      if (keys[0] === "Escape") this.log.push(`escape:${name}`);
      if (keys[0] === "Enter" && this.typed.get(name) === "/clear") {
        this.typed.delete(name);
        this.log.push(`clear:${name}`);
        setImmediate(() => this.emit(name, { kind: "session_start", source: "clear", claudeSessionId: "new" }));
      }
    },
    capture: async (name: string) => `${"─".repeat(20)}\n❯ ${this.typed.get(name) ?? ""}\n${"─".repeat(20)}\n`,
    status: async (name: string) => (this.rows.has(name) ? { dead: false, pid: null } : null),
  };
}

/** The hook event behind a signal, as the CLI's hook would spool it (for the real applyHookEvent). */
export function hookEventOf(session: string, account: string, signal: Signal, ts: number): HookEvent {
  const [event, payload]: [string, Record<string, unknown>] = (() => {
    switch (signal.kind) {
      case "session_start":
        return ["SessionStart", { session_id: signal.claudeSessionId, source: signal.source }];
      case "prompt_submitted":
        return ["UserPromptSubmit", { prompt: signal.prompt }];
      case "turn_done":
        return ["Stop", { last_assistant_message: signal.message }];
      case "turn_failed":
        return ["StopFailure", { error: signal.error, last_assistant_message: signal.message }];
      case "session_end":
        return ["SessionEnd", { reason: signal.reason }];
      case "permission_request":
        // the tool input whose summary (permission-dialog.ts toolSummary) is the signal's
        return [
          "PermissionRequest",
          {
            tool_name: signal.tool,
            tool_input:
              signal.tool && signal.summary?.startsWith(`${signal.tool}: `)
                ? { command: signal.summary.slice(signal.tool.length + 2) }
                : {},
          },
        ];
    }
  })();
  const ns = BigInt(ts) * 1_000_000n;
  return {
    file: `${ns}.1.${session}.${account}.${event}.json`,
    ts,
    order: [ns, 1],
    session,
    account: signal.kind === "prompt_submitted" ? signal.account : account,
    launch: null,
    event,
    payload,
  };
}
