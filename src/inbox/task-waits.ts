// Tasks waiting on a person: a running task whose turn stopped at the CLI's tool-permission dialog. The
// task stays `running` in the store (its timeout keeps counting, every transition still leaves `running`);
// the wait is kept here and shown as state `waiting` with the question (task-types.ts taskView). It is
// seen from the PermissionRequest hook (at once, with the tool call) or from the pane (the sweep, a
// capture per tick of a session that looks waiting), and answered only through answer(), which presses
// the one key the open dialog gives its "Yes" or "No" option (sessions/permission-dialog.ts).
import { CfError } from "../util/errors.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/log.js";
import { pollUntil } from "../util/wait.js";
import { classifyPane } from "../sessions/pane-classify.js";
import { busyReason } from "../sessions/session-locks.js";
import {
  answerKey,
  dialogMatchesTool,
  readPermissionDialog,
  type PermissionAnswer,
  type PermissionDialog,
} from "../sessions/permission-dialog.js";
import { readInputState } from "../sessions/cli-input.js";
import type { Pane } from "../tmux/pane.js";
import type { SessionLayer } from "../pool/pool.js";
import type { TaskStore } from "./task-store.js";
import type { TaskRow } from "./task-types.js";

export interface TaskWait {
  taskId: string;
  session: string;
  /** what the dialog asks, for people (the pane's words; the tool call until the pane was read) */
  question: string;
  /** the tool call from the PermissionRequest hook (`Bash: touch /x`), when it came */
  tool: string | null;
  /** the pane's question once read (for people) */
  paneQuestion: string | null;
  /** the dialog's identity once read (PermissionDialog.key, unclipped): an answer must find this very dialog open */
  paneKey: string | null;
  since: number;
}

/** What a look at the session showed: the hook's tool call, and/or the dialog on the pane (null: none there; undefined: not looked). */
export interface WaitObservation {
  tool?: string | null;
  dialog?: PermissionDialog | null;
}

export type WaitChange = "waiting" | "updated" | "resumed" | null;

/** A wait the pane never confirmed is dropped after this long without a dialog (the hook came, the dialog went). */
export const UNSEEN_WAIT_MS = 10_000;

/**
 * Pure: the next wait of a running task from what was observed. A hook or a dialog on the pane starts one
 * (`waiting`); the pane's question refines it (`updated`); a pane without the dialog ends it (`resumed`)
 * once the pane had shown it, or UNSEEN_WAIT_MS after a hook whose dialog never showed.
 */
export function nextWait(
  prev: TaskWait | undefined,
  task: { id: string; session: string },
  obs: WaitObservation,
  now: number,
): { wait: TaskWait | undefined; change: WaitChange } {
  const d = obs.dialog;
  const start = (question: string, tool: string | null, dialog: PermissionDialog | null): TaskWait => ({
    taskId: task.id,
    session: task.session,
    question,
    tool,
    paneQuestion: dialog?.question ?? null,
    paneKey: dialog?.key ?? null,
    since: now,
  });
  if (d) {
    if (!prev) return { wait: start(d.question, obs.tool ?? null, d), change: "waiting" };
    if (prev.paneKey === d.key) return { wait: prev, change: null };
    // A wait known only from its hook is refined by its own dialog; any other dialog (the next tool call of
    // the same turn, or the hook's call answered in the pane and another asked) is a new wait.
    if (prev.paneKey === null && dialogMatchesTool(d, prev.tool) !== false) {
      return {
        wait: { ...prev, question: d.question, paneQuestion: d.question, paneKey: d.key, tool: obs.tool ?? prev.tool },
        change: "updated",
      };
    }
    return { wait: start(d.question, obs.tool ?? null, d), change: "waiting" };
  }
  if (obs.tool !== undefined && obs.tool !== null) {
    if (!prev || prev.paneKey !== null || prev.tool !== obs.tool)
      return { wait: start(obs.tool, obs.tool, null), change: "waiting" };
    return { wait: prev, change: null };
  }
  if (d === null && prev && (prev.paneKey !== null || now - prev.since >= UNSEEN_WAIT_MS))
    return { wait: undefined, change: "resumed" };
  return { wait: prev, change: null };
}

/** Sent after a "no": the CLI ends the turn at a rejected tool call (no Stop, no request; verified 2.1.197), so the model is told and finishes. */
export function deniedNote(question: string): string {
  // The question comes from a pane: no control character may reach the prompt (cli-input.ts checkPromptText).
  const q = question
    // eslint-disable-next-line no-control-regex -- the point is to find control characters
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
  return `The operator answered no to the permission request (${q}). Do not retry that call; finish the task without it and say what was left undone.`;
}

const ANSWER_CLOSE_MS = 6000;
/** how long an answer waits for the dialog of a wait known only from its PermissionRequest hook to be drawn */
const DIALOG_DRAW_MS = 3000;
/** the key is sent at most this often while the same dialog stays open (ANSWER_CLOSE_MS split between them) */
const ANSWER_ATTEMPTS = 3;

/** TaskWaits's collaborators. */
export interface TaskWaitsDeps {
  tasks: TaskStore;
  layer: SessionLayer;
  /** the sessions' panes: the dialog read, its answer key typed */
  pane: Pick<Pane, "capture" | "sendKeys" | "sendLiteral">;
  clock: Clock;
  log: Logger;
}

/** TaskWaits's parameters. */
export interface TaskWaitsOptions {
  /** dispatch.confirm_timeout in ms, read at each answer (a reload changes it) */
  confirmTimeoutMs: () => number;
}

export class TaskWaits {
  private readonly waits = new Map<string, TaskWait>();
  private readonly answering = new Set<string>();

  private readonly tasks: TaskStore;
  private readonly layer: SessionLayer;
  private readonly pane: Pick<Pane, "capture" | "sendKeys" | "sendLiteral">;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly confirmTimeoutMs: () => number;

  constructor(deps: TaskWaitsDeps, opts: TaskWaitsOptions) {
    this.tasks = deps.tasks;
    this.layer = deps.layer;
    this.pane = deps.pane;
    this.clock = deps.clock;
    this.log = deps.log;
    this.confirmTimeoutMs = opts.confirmTimeoutMs;
  }

  get(taskId: string): TaskWait | undefined {
    return this.waits.get(taskId);
  }

  /** The PermissionRequest hook of `session`'s running task. */
  onHook(t: TaskRow, tool: string | null): void {
    if (!t.session || this.answering.has(t.id)) return;
    this.apply(t, { tool: tool ?? "a tool call" });
  }

  /**
   * Once per dispatcher tick: drops waits of tasks no longer running; reads the pane of each running,
   * submitted task whose session looks waiting (hook state, the sweep's `waiting: permission dialog`) or
   * that has a wait, and moves the wait on (nextWait).
   */
  async refresh(running: TaskRow[]): Promise<void> {
    const ids = new Set(running.map((t) => t.id));
    for (const id of [...this.waits.keys()]) if (!ids.has(id)) this.waits.delete(id);
    for (const t of running) {
      if (!t.session || !t.submittedAt || this.answering.has(t.id)) continue;
      const row = this.layer.get(t.session);
      const looks = row?.state === "waiting" || /^waiting: permission dialog/.test(row?.stateReason ?? "");
      if (!looks && !this.waits.has(t.id)) continue;
      let pane: string;
      try {
        pane = await this.pane.capture(t.session);
      } catch {
        continue;
      }
      if (this.answering.has(t.id)) continue;
      this.apply(t, { dialog: readPermissionDialog(pane, this.clock.now()) });
    }
  }

  private apply(t: TaskRow, obs: WaitObservation): void {
    const session = t.session!;
    const prev = this.waits.get(t.id);
    const { wait, change } = nextWait(prev, { id: t.id, session }, obs, this.clock.now());
    if (wait) this.waits.set(t.id, wait);
    else this.waits.delete(t.id);
    const account = this.layer.get(session)?.account ?? t.accountUsed;
    if (change === "waiting" && wait) {
      this.layer.event("task.waiting", session, account, { id: t.id, question: wait.question, tool: wait.tool });
      this.log.warn({ task: t.id, session, question: wait.question }, "task waiting on a permission dialog");
    } else if (change === "resumed" && prev) {
      this.layer.event("task.resumed", session, account, {
        id: t.id,
        question: prev.question,
        waitedMs: this.clock.now() - prev.since,
        how: "the dialog closed",
      });
    }
  }

  /**
   * Answers the permission dialog task `id` waits on, and nothing else: the task must be running with a
   * recorded wait (the one the caller saw, when `since` — that wait's start, ms — is given), its session's pane must show a permission dialog now, the same one that was recorded
   * (when the pane had been read), offering a plain "Yes"/"No"; then the digit of that option is sent
   * literally (send-keys -l) under the session lock. Any other case is a CfError and no key is pressed.
   * After "no" the CLI ends the turn without a Stop, so deniedNote() is sent as the next prompt and the task
   * completes on that turn's Stop.
   */
  async answer(
    id: string,
    answer: PermissionAnswer,
    since?: number,
  ): Promise<{ id: string; answer: PermissionAnswer; question: string; option: string; session: string }> {
    const t = this.tasks.find(id);
    if (!t) throw new CfError("no_such_task", `no task ${id}`);
    if (t.state !== "running" || !t.session)
      throw new CfError(
        "conflict",
        `task ${t.id} is ${t.state}, not waiting on a permission dialog: nothing was answered`,
      );
    const session = t.session;
    const wait = this.waits.get(t.id);
    if (!wait)
      throw new CfError(
        "conflict",
        `task ${t.id} is running, not waiting on a permission dialog: nothing was answered`,
      );
    // The caller saw one wait; the task may have come to wait on another dialog since (a new question
    // after a resume): an answer meant for the first is not given to the second.
    if (since !== undefined && since !== wait.since) {
      throw new CfError(
        "conflict",
        `task ${t.id} waits on another dialog now (since ${new Date(wait.since).toISOString()}: ${wait.question}): nothing was answered; look again`,
      );
    }
    if (this.answering.has(t.id)) throw new CfError("conflict", `task ${t.id} is being answered already`);
    const lock = this.layer.tryLock(session, "answer");
    if (!lock.ok)
      throw new CfError(
        "conflict",
        `session ${session} is busy (${busyReason(session, lock.heldBy)}): nothing was answered, try again`,
      );
    this.answering.add(t.id);
    try {
      const read = async () => readPermissionDialog(await this.pane.capture(session), this.clock.now());
      // The hook fires before the CLI draws the dialog (0.3–0.5 s later on 2.1.332 under load): a wait known
      // only from the hook gets a moment for its dialog to show.
      const d =
        (await read()) ??
        (wait.paneKey === null
          ? ((await pollUntil(read, { clock: this.clock, timeoutMs: DIALOG_DRAW_MS, intervalMs: 50 })) ?? null)
          : null);
      if (!d)
        throw new CfError(
          "conflict",
          `task ${t.id}: no permission dialog is open in session ${session} now: nothing was answered`,
        );
      // Read from the pane: the very dialog (unclipped). Known only from the hook: the dialog must show the
      // hook's tool call where that can be told (a command, a path, a URL).
      if (wait.paneKey !== null ? wait.paneKey !== d.key : dialogMatchesTool(d, wait.tool) === false) {
        throw new CfError(
          "conflict",
          `task ${t.id}: the dialog in ${session} is not the one shown (now: ${d.question}): nothing was answered; look again`,
        );
      }
      const k = answerKey(d, answer);
      if (!k.ok) throw new CfError("conflict", `task ${t.id}: ${k.reason}: nothing was answered`);
      // A digit sent just as the dialog appeared was once not taken (2.1.332 under load; sent again it was): the
      // same key is sent again while this very dialog stays open. A PermissionRequest since the first key means
      // the dialog on screen is a new one (the same call asked again): ours was taken, nothing more is pressed.
      let reopened = false;
      const off = this.layer.onSignal((x) => {
        if (x.session === session && x.signal.kind === "permission_request") reopened = true;
      });
      const still = () =>
        this.pane
          .capture(session)
          .then((p) => readPermissionDialog(p, this.clock.now())?.question === d.question)
          .catch(() => false);
      let closed = false;
      let sent = 0;
      try {
        for (let attempt = 0; attempt < ANSWER_ATTEMPTS && !closed && !reopened; attempt++) {
          await this.pane.sendLiteral(session, k.key);
          sent++;
          closed = !!(await pollUntil(async () => reopened || !(await still()), {
            clock: this.clock,
            timeoutMs: ANSWER_CLOSE_MS / ANSWER_ATTEMPTS,
            intervalMs: 50,
          }));
        }
      } finally {
        off();
      }
      // A key sent again just as the dialog closed on the one before lands in the input box as text: the box
      // holding nothing but that digit is ours, and is emptied (one BSpace) before anything else is typed.
      if (sent > 1 && closed && !reopened) await this.dropStrayDigit(session, k.key);
      if (!closed && !reopened)
        throw new CfError(
          "conflict",
          `task ${t.id}: the dialog in ${session} did not close after ${k.key} (${k.option.label}); answer it in the pane (claude-failover attach ${session})`,
        );
      this.waits.delete(t.id);
      const row = this.layer.get(session);
      this.layer.event("task.answered", session, row?.account ?? t.accountUsed, {
        id: t.id,
        answer,
        option: k.option.label,
        question: wait.question,
        waitedMs: this.clock.now() - wait.since,
      });
      this.log.info({ task: t.id, session, answer }, "permission dialog answered");
      if (answer === "yes") {
        // (reopened: the CLI asks again, the session stays waiting and the next tick records the new wait)
        if (row?.state === "waiting" && !reopened)
          this.layer.setState(session, "dialog_allowed", { stateReason: null });
      } else if (!reopened) {
        await this.afterNo(t, session, wait.question);
      }
      return { id: t.id, answer, question: wait.question, option: k.option.label, session };
    } finally {
      this.answering.delete(t.id);
      lock.release();
    }
  }

  private async dropStrayDigit(session: string, key: string): Promise<void> {
    const state = async () => readInputState(await this.pane.capture(session).catch(() => ""), this.clock.now());
    const stray = await pollUntil(
      async () => {
        const s = await state();
        return s.kind === "prompt" && s.text === key ? true : null;
      },
      { clock: this.clock, timeoutMs: 500, intervalMs: 50 },
    );
    if (!stray) return;
    await this.pane.sendKeys(session, "BSpace");
    this.log.info({ session, key }, "a resent answer key reached the input box; removed");
  }

  /** The turn ended at the rejected call: once the pane is calm, the model is told (deniedNote) and finishes. */
  private async afterNo(t: TaskRow, session: string, question: string): Promise<void> {
    const calm = await pollUntil(
      async () => !classifyPane(await this.pane.capture(session).catch(() => ""), this.clock.now()).busy,
      { clock: this.clock, timeoutMs: ANSWER_CLOSE_MS, intervalMs: 100 },
    );
    // Still working: this CLI went on with the turn itself; its Stop completes the task.
    if (!calm) return;
    const cur = this.tasks.get(t.id);
    if (cur?.state !== "running" || cur.session !== session) return;
    this.layer.setState(session, "dialog_denied", { stateReason: "permission denied by the operator" });
    const r = await this.layer.prompts.send(session, deniedNote(question), {
      confirmTimeoutMs: this.confirmTimeoutMs(),
    });
    if (!r.ok)
      this.log.warn(
        { task: t.id, session, reason: r.reason },
        "could not tell the model the permission was denied; the stall check takes the task over",
      );
  }
}
