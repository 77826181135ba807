import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join, sep } from "node:path";
import { seedClaudeJson, type HomeReport } from "../accounts/homes.js";
import type { Config } from "../config/types.js";
import type { EnqueueInput } from "./enqueue-input.js";
import type { Store } from "../store/store.js";
import type { Pane } from "../tmux/pane.js";
import type { Clock } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { SharedQueue } from "./shared-queue.js";
import type { SharedStore } from "../store/shared/shared-types.js";
import { dispatchSettings } from "../config/params.js";
import { Dispatcher, type DispatchSettings } from "./dispatcher.js";
import { Intake } from "./intake.js";
import { pathsFor } from "../config/paths.js";
import { Pool, type SessionLayer } from "../pool/pool.js";
import { PoolStore } from "../pool/pool-store.js";
import { validateTask, type Parsed, type TaskFields, type ValidateContext } from "./task-file.js";
import { TaskStore } from "./task-store.js";
import { refusedProject, taskValidation } from "./task-validation.js";
import { taskDetail, taskView, type TaskDraft } from "./task-types.js";
import { removeWorktree, worktreeDirs } from "./worktree.js";

export interface InboxDeps {
  store: Store;
  sessions: SessionLayer;
  /** the sessions' panes (the pool's interrupt and /clear, a task's permission dialog) */
  pane: Pick<Pane, "capture" | "sendKeys" | "sendLiteral">;
  clock: Clock;
  log: Logger;
  /** the daemon user's home (never an allowed project); default os.homedir() */
  home?: () => string;
  /** fault injection for crash tests: called once a task is marked running (Dispatcher) */
  onDispatched?: (taskId: string) => void;
  /**
   * store.backend postgres: tasks go through the shared queue (inbox/shared-queue.ts) and the dispatcher
   * runs only those this box claims; `store` is the open shared store or null while it is not (BoxSync.store).
   * Absent (sqlite): the local queue alone, as on one box.
   */
  shared?: { box: string; store: () => SharedStore | null } | null;
}

/** The control plane's view of the inbox (ControlPlugins.tasks). */
export interface TasksPlugin {
  list(): unknown[];
  get(idOrName: string): unknown;
  enqueue(i: EnqueueInput): unknown;
  scale(i: { min?: number; max?: number }): unknown;
  /** a queued task is cancelled at once; a running one is interrupted, then marked cancelled */
  cancel(idOrName: string): Promise<unknown>;
  /** answers the permission dialog a waiting task's turn stopped at (task-waits.ts) */
  answer(idOrName: string, answer: "yes" | "no", since?: number): Promise<unknown>;
}

/**
 * The inbox and the autonomous pool, wired: intake (files → queued tasks), the pool (sessions), the
 * dispatcher (tasks → sessions, hook signals → task states) and the control-plane plugin.
 * Lifecycle: attach() before the spool replays, start() once sessions are reconciled, stop().
 */
export class InboxService {
  readonly tasks: TaskStore;
  readonly pool: Pool;
  readonly dispatcher: Dispatcher;
  readonly intake: Intake;
  readonly outboxDir: string;
  /** `<state_dir>/worktrees`: one folder per worktree task, named after its id */
  readonly worktreeDir: string;
  private config: Config;
  /** the shared task queue (store.backend postgres: deps.shared); null: the local queue alone */
  readonly sharedQueue: SharedQueue | null;

  constructor(
    private readonly deps: InboxDeps,
    config: Config,
  ) {
    this.config = config;
    this.tasks = new TaskStore(deps.store.db);
    this.outboxDir = pathsFor(config).outboxDir;
    this.worktreeDir = pathsFor(config).worktreeDir;
    this.pool = new Pool(
      {
        layer: deps.sessions,
        pane: deps.pane,
        store: new PoolStore(deps.store.db),
        clock: deps.clock,
        log: deps.log.child({ component: "pool" }),
        trust: (p) => this.trust(p),
      },
      {
        prefix: config.pool.prefix,
        permissionMode: config.pool.permission_mode ?? null,
        worktreeRoot: this.worktreeDir,
      },
    );
    this.dispatcher = new Dispatcher(
      {
        tasks: this.tasks,
        pool: this.pool,
        layer: deps.sessions,
        pane: deps.pane,
        clock: deps.clock,
        log: deps.log.child({ component: "dispatcher" }),
        onDispatched: deps.onDispatched,
      },
      this.settings(config),
    );
    const shared = deps.shared;
    this.sharedQueue = shared
      ? new SharedQueue({
          box: shared.box,
          shared: shared.store,
          tasks: this.tasks,
          dispatcher: this.dispatcher,
          outboxDir: this.outboxDir,
          refused: (p) => this.refused(p),
          event: (kind, data) => deps.store.appendEvent(deps.clock.now(), kind, null, null, data),
          clock: deps.clock,
          log: deps.log.child({ component: "shared-queue" }),
        })
      : null;
    this.dispatcher.gate = this.sharedQueue; // the gate needs the dispatcher (kick, interrupt) and the dispatcher the gate
    this.intake = new Intake(
      {
        tasks: this.tasks,
        clock: deps.clock,
        log: deps.log.child({ component: "inbox" }),
        validation: () => this.validation(),
        event: (kind, data) => deps.store.appendEvent(deps.clock.now(), kind, null, null, data),
        queued: () => {
          this.dispatcher.kick();
          this.sharedQueue?.kick();
        },
      },
      { dir: config.inbox.dir, maxBytes: config.inbox.max_file_bytes, stableMs: config.inbox.stable_time },
    );
  }

  attach(): void {
    this.dispatcher.attach();
  }

  async start(): Promise<void> {
    this.failRefusedQueued();
    await this.removeLeftoverWorktrees();
    await this.pool.adopt();
    await this.dispatcher.start();
    this.sharedQueue?.start();
    await this.intake.start();
  }

  async stop(): Promise<void> {
    await this.sharedQueue?.stop();
    await this.dispatcher.stop();
    await this.intake.stop();
  }

  /** A reloaded config: new limits, default project and retry policy apply from the next tick. */
  configure(config: Config): void {
    this.config = config;
    this.failRefusedQueued();
    this.pool.setPrefix(config.pool.prefix);
    this.pool.setPermissionMode(config.pool.permission_mode ?? null);
    this.dispatcher.configure(this.settings(config));
  }

  plugin(): TasksPlugin {
    return {
      list: () => this.tasks.list().map((t) => this.withBox(t.id, taskView(t, this.dispatcher.waits.get(t.id)))),
      get: (idOrName) => {
        const t = this.tasks.find(idOrName);
        if (!t) throw new CfError("no_such_task", `no task ${idOrName}`);
        return this.withBox(t.id, taskDetail(t, this.dispatcher.waits.get(t.id)));
      },
      enqueue: (i) => this.enqueue(i),
      cancel: async (idOrName) => {
        const t = this.tasks.find(idOrName);
        const q = this.sharedQueue;
        if (!t && q) {
          // Not on this box: a task of the shared queue (queued anywhere, or running on another box).
          const r = await q.cancelShared(idOrName, `cancelled by the operator on box ${this.config.box.name}`);
          if (!r.task) throw new CfError("no_such_task", `no task ${idOrName}`);
          if (!r.cancelled)
            throw new CfError(
              "conflict",
              `task ${idOrName} is already ${r.task.state}: only a queued or running task can be cancelled`,
            );
          return { ok: true, id: r.task.id, state: "cancelled", was: "shared", runsOn: r.task.box };
        }
        if (!t) throw new CfError("no_such_task", `no task ${idOrName}`);
        if (t.state !== "queued" && t.state !== "running")
          throw new CfError(
            "conflict",
            `task ${t.id} is already ${t.state}: only a queued or running task can be cancelled`,
          );
        if (q && !q.holds(t.id)) {
          // Queued here but not claimed by this box: cancelled in the shared queue first, so no box claims it
          // (a box running it interrupts it); then the local row.
          const r = await q.cancelShared(
            t.id,
            `cancelled by the operator on box ${this.config.box.name} while ${t.state}`,
          );
          if (r.task && !r.cancelled)
            throw new CfError("conflict", `task ${t.id} ended (${r.task.state}) before it could be cancelled`);
        }
        const after = await this.dispatcher.interrupt(t.id, "cancelled", `cancelled by the operator while ${t.state}`);
        const now = this.tasks.get(t.id)!;
        if (!after && now.state !== "cancelled")
          throw new CfError("conflict", `task ${t.id} ended (${now.state}) before it could be cancelled`);
        return { ok: true, ...taskView(now), was: t.state };
      },
      answer: async (idOrName, answer, since) => {
        const r = await this.dispatcher.waits.answer(idOrName, answer, since);
        const t = this.tasks.get(r.id)!;
        return {
          ok: true,
          ...taskView(t, this.dispatcher.waits.get(t.id)),
          answered: r.answer,
          option: r.option,
          question: r.question,
        };
      },
      scale: (i) => {
        const cur = this.dispatcher.limits();
        const min = i.min ?? cur.min;
        const max = i.max ?? cur.max;
        if (min > max) throw new CfError("invalid_input", `min (${min}) must not be above max (${max})`);
        this.dispatcher.configure({ min, max });
        this.deps.store.appendEvent(this.deps.clock.now(), "pool.limits", null, null, { min, max, before: cur });
        return { ok: true, min, max };
      },
    };
  }

  /**
   * With the shared queue, a view gets `runsOn`: the box running the task when it is another one (the
   * task is `queued` in this box's record meanwhile), else null. Without it (sqlite) the view is unchanged.
   */
  private withBox<V extends object>(id: string, view: V): V | (V & { runsOn: string | null }) {
    return this.sharedQueue ? { ...view, runsOn: this.sharedQueue.runsOn(id) } : view;
  }

  /** A task from the control plane (HTTP, MCP, the CLI's `enqueue`): validated like a file. */
  private enqueue(i: EnqueueInput) {
    const bytes = Buffer.byteLength(i.prompt);
    if (bytes > this.config.inbox.max_file_bytes) {
      throw new CfError(
        "invalid_input",
        `prompt too large: ${bytes} bytes, inbox.max_file_bytes is ${this.config.inbox.max_file_bytes}`,
      );
    }
    const r = validateTask(
      {
        prompt: i.prompt,
        project: i.project,
        priority: i.priority,
        account: i.account,
        model: i.model,
        id: i.id,
        worktree: i.worktree,
        base: i.base,
        timeout: i.timeout,
        box: i.box,
      },
      this.validation(),
    );
    if (!r.ok) throw new CfError("invalid_input", r.reason);
    const existing = r.value.id ? this.tasks.get(r.value.id) : undefined;
    if (existing) return { ...taskView(existing), duplicate: true };
    const hash = createHash("sha256").update(i.prompt).digest("hex");
    const row = this.tasks.insert(
      r.value,
      { source: "api", contentHash: hash, intakeFile: null },
      this.deps.clock.now(),
    );
    this.deps.store.appendEvent(this.deps.clock.now(), "task.queued", null, null, {
      id: row.id,
      source: row.source,
      priority: row.priority,
      project: row.project,
    });
    this.dispatcher.kick();
    this.sharedQueue?.kick();
    return { ...taskView(row), duplicate: false };
  }

  /**
   * Task projects need not be configured ones, but must lie inside inbox.allowed_roots: seed trust for them
   * in managed account homes (as the daemon does for configured projects at start). Unmanaged homes are the
   * user's own and left alone.
   */
  private trust(project: string): void {
    // Checked again at start: inbox.allowed_roots may have shrunk (reload) since the task was queued. A
    // worktree under the state dir is allowed only because (and while) its task's project is.
    const refused = this.refusedOrWorktree(project);
    if (refused) {
      this.deps.store.appendEvent(this.deps.clock.now(), "account.project_not_trusted", null, null, {
        project,
        reason: refused,
      });
      return;
    }
    for (const a of this.config.accounts) {
      if (!a.managed) continue;
      const report: HomeReport = { account: a.name, actions: [], warnings: [] };
      try {
        seedClaudeJson(join(a.home, ".claude.json"), [project], report);
      } catch (e) {
        this.deps.log.warn({ account: a.name, project, err: errorMessage(e) }, "could not mark the project trusted");
      }
      if (report.actions.length)
        this.deps.store.appendEvent(this.deps.clock.now(), "account.project_trusted", null, a.name, { project });
      for (const w of report.warnings) {
        this.deps.log.warn({ account: a.name, project }, w);
        this.deps.store.appendEvent(this.deps.clock.now(), "account.claude_json", null, a.name, {
          project,
          warning: w,
        });
      }
    }
  }

  /** A task's fields checked as an enqueue request's are (a schedule's runs: schedules/schedule-service.ts). */
  validateFields(f: TaskFields): Parsed<TaskDraft> {
    return validateTask(f, this.validation());
  }

  private validation(): ValidateContext {
    return taskValidation(this.config, this.deps.home?.() ?? homedir());
  }

  /**
   * Queued tasks whose project inbox.allowed_roots no longer allows (the config was reloaded, or the daemon
   * restarted with a new one), and queued tasks without a worktree once the pool runs bypassPermissions, fail
   * with the reason: never started untrusted or unasked, never waiting for ever.
   */
  private failRefusedQueued(): void {
    const now = this.deps.clock.now();
    const bypass = this.config.pool.permission_mode === "bypassPermissions";
    for (const t of this.tasks.list(0)) {
      if (t.state !== "queued") continue;
      // Queued before a reload (or restart) into bypassPermissions: it would run without asking in the project's own tree.
      const why =
        this.refused(t.project) ??
        (bypass && !t.worktree
          ? "worktree: false is refused: pool.permission_mode is now bypassPermissions, so pool tasks run only in a git worktree of their own"
          : null);
      if (why && this.tasks.fail(t.id, why, now)) {
        this.deps.store.appendEvent(now, "task.failed", null, null, { id: t.id, reason: why });
        this.sharedQueue?.endedHere(t.id, why); // no other box runs what this box's config now refuses
      }
    }
  }

  /** refused() for a project, or for a worktree folder: its task's project is what must be allowed. */
  private refusedOrWorktree(project: string): string | null {
    if (!project.startsWith(this.worktreeDir + sep)) return this.refused(project);
    const t = this.tasks.byWorkdir(project);
    if (!t) return `project: ${project} is not the worktree of any task`;
    return this.refused(t.project);
  }

  /**
   * Worktree folders a crash left behind: those no task holds any more (not queued or running, or no task
   * at all) are removed (git worktree remove --force; branches stay). A queued or running task keeps (adopts)
   * its folder; an ended one whose worktree was not yet summarized is finished by the dispatcher.
   */
  private async removeLeftoverWorktrees(): Promise<void> {
    for (const dir of worktreeDirs(this.worktreeDir)) {
      const t = this.tasks.byWorkdir(dir);
      if (t && (t.state === "queued" || t.state === "running" || !t.worktreeInfo || this.config.pool.keep_worktrees))
        continue;
      try {
        await removeWorktree(dir);
        this.deps.store.appendEvent(this.deps.clock.now(), "task.worktree_removed", null, null, {
          path: dir,
          task: t?.id ?? null,
          why: "left by an earlier run",
        });
      } catch (e) {
        this.deps.log.warn({ path: dir, err: errorMessage(e) }, "could not remove a leftover worktree");
      }
    }
  }

  /** Why `project` may not be a task's project (outside inbox.allowed_roots, `/`, the home), or null. */
  private refused(project: string): string | null {
    return refusedProject(this.config, this.deps.home?.() ?? homedir(), project);
  }

  /** The dispatcher's settings: the one mapping in config/params.ts. */
  private settings(c: Config): DispatchSettings {
    return dispatchSettings(c);
  }
}
