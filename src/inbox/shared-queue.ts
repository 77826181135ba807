// The shared task queue wired into the autonomous pool (issue 19 point 4; store.backend: postgres only).
// The local task table stays this box's record of what it runs (states, results, worktrees); the shared
// queue decides who runs a task, once. Every round (default 500 ms, and on a kick):
// 1. requeues the running tasks of boxes whose lease lapsed (SharedStore.requeueLapsed: exactly once
//    however many boxes call it);
// 2. for each claim this box holds: a local row that ended is recorded in the shared queue (done/failed,
//    timed_out as failed with a `timed_out: ` prefix, cancelled); a claim that was voided (cancelled on
//    another box, or requeued because this box's lease lapsed) ends the local run (`cancelled`);
// 3. each local queued task that came from this box (inbox file, MCP/CLI/trigger, schedule) is put in the
//    shared queue (idempotent on its id, so a restart or an outage just puts it again), and one that ran
//    elsewhere is mirrored: when it ends, its local row takes the end and, done, its result is written to
//    this box's outbox (the box the user dropped it on);
// 4. claims new tasks up to the pool's free room (max less running and claimed-not-started), inserting a
//    local row (source `box:<origin>:<source>`) for a task from another box; a task whose project this box
//    may not run (outside its inbox.allowed_roots, or missing here) is released for 10 s.
// The dispatcher runs only the queued rows this box holds a claim on (TaskGate.runnable). The database
// being away never stops the box: tasks enqueued meanwhile stay queued locally and are put in the shared
// queue when it returns; nothing already claimed runs twice (claims carry a token).

import { existsSync } from "node:fs";
import type { TaskGate } from "./dispatcher.js";
import { writeResult } from "./outbox.js";
import type { TaskStore } from "./task-store.js";
import type { TaskRow } from "./task-types.js";
import type { SharedStore, SharedTask, TaskClaim } from "../store/shared/shared-types.js";
import type { Clock, Timer } from "../util/clock.js";
import { CfError, errorMessage, isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { claimBudget, fromShared, localEnd, originOf, sharedEnd, toSharedDraft } from "./shared-task-map.js";

/** How long a task this box may not run (its project) is kept from every box before it is offered again. */
export const REFUSED_RETRY_MS = 10_000;

export interface SharedQueueOptions {
  /** box.name */
  box: string;
  /** the open shared store, or null while it could not be opened yet (BoxSync.store) */
  shared: () => SharedStore | null;
  tasks: TaskStore;
  dispatcher: {
    kick(): void;
    limits(): { max: number };
    interrupt(id: string, state: "cancelled", reason: string): Promise<unknown>;
  };
  outboxDir: string;
  /** why this box may not run a task in `project` (inbox.allowed_roots), or null */
  refused: (project: string) => string | null;
  event: (kind: string, data: Record<string, unknown>) => void;
  clock: Clock;
  log: Logger;
  /** ms between rounds; default 500 */
  tickMs?: number;
}

export class SharedQueue implements TaskGate {
  /** task id → the claim token this box holds on it */
  private readonly claims = new Map<string, number>();
  /** local open tasks already put in the shared queue since this daemon started */
  private readonly pushed = new Set<string>();
  /** `<id>:<attempt>` of remote runs of local open tasks already reported (task.claimed_elsewhere) */
  private readonly announced = new Set<string>();
  /** tasks of this box's record that another box runs now (as of the last round): the box's name */
  private readonly elsewhere = new Map<string, string>();
  /** tasks ended here without a claim, to cancel in the shared queue (endedHere) */
  private readonly toCancel = new Map<string, string>();
  private loaded = false;
  private timer: Timer | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private down = false;
  /** the last round found no live lease of this box (logged once until a round gets through) */
  private noLease = false;

  constructor(private readonly o: SharedQueueOptions) {}

  // ---- TaskGate (the dispatcher)
  runnable(t: TaskRow): boolean {
    return this.claims.has(t.id);
  }
  writesOutbox(t: TaskRow): boolean {
    return originOf(t, this.o.box) === this.o.box;
  }
  /** The box running a task of this box's record when that is another box (as of the last round), else null. */
  runsOn(id: string): string | null {
    return this.elsewhere.get(id) ?? null;
  }
  /**
   * A task of this box's record that it ended without running it (failed at a reload: its project is no
   * longer allowed here): cancelled in the shared queue at the next round, so no other box runs it. A task
   * this box holds a claim on needs no call (its end is recorded with the claim).
   */
  endedHere(id: string, reason: string): void {
    if (!this.claims.has(id)) this.toCancel.set(id, reason);
    this.kick();
  }
  /** whether this box holds the claim on a task */
  holds(id: string): boolean {
    return this.claims.has(id);
  }
  /** How many entries each per-task memo holds now (for tests: they empty once the tasks end). */
  tracked(): { claims: number; pushed: number; announced: number; elsewhere: number; toCancel: number } {
    return {
      claims: this.claims.size,
      pushed: this.pushed.size,
      announced: this.announced.size,
      elsewhere: this.elsewhere.size,
      toCancel: this.toCancel.size,
    };
  }

  start(): void {
    this.stopped = false;
    this.timer?.cancel();
    this.timer = this.o.clock.every(this.o.tickMs ?? 500, () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** A round now (once started); a kick during a round runs one more after it. */
  kick(): void {
    if (this.timer) this.spin();
  }

  private spin(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** One round (or waits for the one under way); never rejects. For tests and the kick. */
  async syncOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      await this.running;
      return;
    }
    this.spin();
    // spin() has just set it (TypeScript narrowed it to null above, before the call)
    await (this.running as Promise<void> | null);
  }

  /**
   * Cancels a task in the shared queue that this box does not run (queued anywhere, or running on another
   * box, whose runner then interrupts it). `cancelled` false: the task already ended there (`task` says how),
   * or the shared queue has no such task (`task` undefined: not put there yet). Rejects with CfError
   * `shared_store_unavailable` when the store is away (nothing cancelled).
   */
  async cancelShared(id: string, reason: string): Promise<{ cancelled: boolean; task: SharedTask | undefined }> {
    const s = this.o.shared();
    if (!s)
      throw new CfError(
        "shared_store_unavailable",
        "the shared store (PostgreSQL) is not reachable: a task in the shared queue cannot be cancelled now; try again",
      );
    const cancelled = await s.cancelTask(id, reason, this.o.clock.now());
    return { cancelled, task: await s.getTask(id) };
  }

  private async round(): Promise<void> {
    const s = this.o.shared();
    if (!s || this.stopped) return;
    try {
      if (!this.loaded) {
        // After a restart: the claims this box held are the shared queue's running tasks under its name.
        for (const t of await s.listTasks(["running"])) if (t.box === this.o.box) this.claims.set(t.id, t.attempts);
        this.loaded = true;
      }
      for (const r of await s.requeueLapsed(this.o.clock.now())) {
        this.o.event("task.requeued", {
          id: r.id,
          reason: `box ${r.box}'s lease lapsed`,
          lapsedBox: r.box,
          box: this.o.box,
        });
        this.o.log.warn({ task: r.id, lapsedBox: r.box }, "requeued a task of a box whose lease lapsed");
      }
      for (const [id, reason] of [...this.toCancel]) {
        if (await s.cancelTask(id, reason, this.o.clock.now()))
          this.o.event("task.shared_end", { id, state: "cancelled", recorded: true, reason, box: this.o.box });
        this.toCancel.delete(id);
      }
      for (const [id, claim] of [...this.claims]) await this.checkClaim(s, id, claim);
      const local = [...this.o.tasks.inState("queued"), ...this.o.tasks.inState("running")];
      const open = local.filter((t) => !this.claims.has(t.id));
      // Only open tasks are remembered: an ended one is never pushed nor announced again (kept, the two
      // sets grew by a task each for the daemon's life; enqueueTask of a known id is a no-op anyway).
      const openIds = new Set(local.map((t) => t.id));
      for (const id of this.pushed) if (!openIds.has(id)) this.pushed.delete(id);
      for (const k of this.announced) if (!openIds.has(k.slice(0, k.lastIndexOf(":")))) this.announced.delete(k);
      // Tasks enqueued here and not put in the shared queue yet (since this daemon started) go in first.
      for (const t of open) {
        if (this.pushed.has(t.id) || originOf(t, this.o.box) !== this.o.box) continue;
        await s.enqueueTask(toSharedDraft(t), t.createdAt);
        this.pushed.add(t.id);
      }
      const byId = new Map((await s.getTasks(open.map((t) => t.id))).map((x) => [x.id, x]));
      this.elsewhere.clear();
      for (const x of byId.values())
        if (x.state === "running" && x.box && x.box !== this.o.box) this.elsewhere.set(x.id, x.box);
      for (const t of open) {
        const sh = byId.get(t.id);
        if (sh) await this.mirror(t, sh);
      }
      await this.claimMore(s);
      if (this.down) this.o.log.info({ box: this.o.box }, "shared task queue reachable again");
      this.down = false;
      this.noLease = false;
    } catch (e) {
      if (isCfError(e, "shared_store_unavailable")) {
        if (!this.down)
          this.o.log.error(
            { box: this.o.box, err: errorMessage(e) },
            "shared task queue unreachable: tasks enqueued here wait locally until it returns",
          );
        this.down = true;
      } else if (isCfError(e, "lease_lapsed")) {
        // At start the first heartbeat may come after the first round; after an outage the next one renews it.
        if (!this.noLease) this.o.log.info({ box: this.o.box }, "no live lease: claims wait for the next heartbeat");
        this.noLease = true;
        return;
      } else this.o.log.error({ box: this.o.box, err: errorMessage(e) }, "shared task queue round failed");
    }
  }

  /** A claim this box holds: record a local end, or notice that the claim was voided. */
  private async checkClaim(s: SharedStore, id: string, claim: number): Promise<void> {
    const now = this.o.clock.now();
    const local = this.o.tasks.get(id);
    const end = local ? sharedEnd(local) : null;
    if (local && end) {
      const ok =
        end.kind === "complete"
          ? await s.completeTask(id, claim, end.outcome, now)
          : await s.cancelTask(id, end.reason, now);
      this.claims.delete(id);
      this.o.event("task.shared_end", {
        id,
        state: local.state,
        recorded: ok,
        origin: originOf(local, this.o.box),
        box: this.o.box,
      });
      if (!ok)
        this.o.log.warn(
          { task: id, claim },
          "the shared queue did not take this box's end of the task: its claim was voided meanwhile (cancelled, or requeued after this box's lease lapsed)",
        );
      return;
    }
    const sh = await s.getTask(id);
    if (sh && sh.state === "running" && sh.box === this.o.box && sh.attempts === claim) return;
    this.claims.delete(id);
    if (!local) return;
    // A task from this box whose claim was voided while it still waited here goes back to being a mirror.
    if (local.state === "queued" && originOf(local, this.o.box) === this.o.box && sh?.state !== "cancelled") return;
    const why =
      sh?.state === "cancelled"
        ? `cancelled in the shared queue${sh.error ? `: ${sh.error}` : ""}`
        : `this box's claim was voided (its lease lapsed and the task was requeued for any box)`;
    this.o.event("task.claim_lost", { id, claim, sharedState: sh?.state ?? null, box: this.o.box });
    await this.o.dispatcher.interrupt(id, "cancelled", why);
  }

  /** A local open task this box holds no claim on, and its shared state: note where it runs, or take the end it reached elsewhere. */
  private async mirror(t: TaskRow, sh: SharedTask): Promise<void> {
    const me = this.o.box;
    const origin = originOf(t, me);
    const now = this.o.clock.now();
    if (sh.state === "running" && sh.box === me) {
      this.claims.set(t.id, sh.attempts); // claimed by this box before a restart
      this.o.dispatcher.kick();
      return;
    }
    if (sh.state === "running" && sh.box && !this.announced.has(`${t.id}:${sh.attempts}`)) {
      this.announced.add(`${t.id}:${sh.attempts}`);
      this.o.event("task.claimed_elsewhere", {
        id: t.id,
        runsOn: sh.box,
        attempt: sh.attempts,
        waitedMs: (sh.claimedAt ?? now) - sh.createdAt,
        box: me,
      });
    }
    const end = localEnd(sh);
    if (!end) {
      // A run here whose claim is gone (requeued or taken elsewhere after this box's lease lapsed): stop it.
      if (t.state === "running")
        await this.o.dispatcher.interrupt(
          t.id,
          "cancelled",
          `this box holds no claim on it in the shared queue (now ${sh.state}${sh.box ? ` on box ${sh.box}` : ""})`,
        );
      return;
    }
    let path: string | null = null;
    if (origin === me && end.state === "done") {
      try {
        path = writeResult(this.o.outboxDir, t.id, end.result ?? "");
      } catch (e) {
        this.o.log.error(
          { task: t.id, err: errorMessage(e) },
          "could not write the outbox file; the result stays in the task row",
        );
      }
    }
    if (this.o.tasks.settleRemote(t.id, end.state, end.result, path, end.error, now)) {
      this.o.event(`task.${end.state}`, {
        id: t.id,
        ranOn: sh.box,
        attempts: sh.attempts,
        resultPath: path,
        remote: true,
        reason: end.error,
        box: me,
      });
    }
  }

  /** Claims tasks up to the pool's free room. */
  private async claimMore(s: SharedStore): Promise<void> {
    const running = this.o.tasks.inState("running").filter((t) => this.claims.has(t.id)).length;
    const claimedQueued = this.o.tasks.inState("queued").filter((t) => this.claims.has(t.id)).length;
    let budget = claimBudget(this.o.dispatcher.limits().max, running, claimedQueued);
    while (budget > 0 && !this.stopped) {
      const c = await s.claimTask(this.o.clock.now());
      if (!c) return;
      if (await this.take(s, c)) budget--;
    }
  }

  /** A fresh claim: run it here (inserting the local row of a task from another box), or give it back. */
  private async take(s: SharedStore, c: TaskClaim): Promise<boolean> {
    const me = this.o.box;
    const t = c.task;
    const now = this.o.clock.now();
    const local = this.o.tasks.get(t.id);
    if (local?.state === "running") {
      this.claims.set(t.id, c.claim); // running here already (a stale row after a crash): the dispatcher decides it
      return true;
    }
    if (local?.state === "done") {
      // This box finished it under a claim that was voided meanwhile (its lease lapsed): the result stands.
      const ok = await s.completeTask(t.id, c.claim, { state: "done", result: local.result ?? "" }, now);
      this.o.event("task.shared_end", {
        id: t.id,
        state: "done",
        recorded: ok,
        origin: t.originBox,
        box: me,
        again: true,
      });
      return false;
    }
    const why =
      this.o.refused(t.project) ?? (existsSync(t.project) ? null : `project ${t.project} does not exist on this box`);
    if (why) {
      await s.releaseTask(t.id, c.claim, now + REFUSED_RETRY_MS, `box ${me} cannot run it: ${why}`, now);
      this.o.event("task.claim_refused", { id: t.id, origin: t.originBox, reason: why, box: me });
      return false;
    }
    if (local && local.state !== "queued") this.o.tasks.reopen(t.id, now); // its earlier run here was voided
    if (!local) {
      const f = fromShared(t, me);
      try {
        this.o.tasks.insert(f.draft, { source: f.source, contentHash: f.contentHash, intakeFile: null }, now, {
          durable: true,
        });
      } catch (e) {
        await s.releaseTask(t.id, c.claim, null, `box ${me} could not record it: ${errorMessage(e)}`, now);
        throw e;
      }
    }
    this.claims.set(t.id, c.claim);
    this.o.event("task.claimed", {
      id: t.id,
      origin: t.originBox,
      attempt: c.claim,
      waitedMs: now - t.createdAt,
      box: me,
    });
    this.o.dispatcher.kick();
    return true;
  }
}
