import type { AddressInfo } from "node:net";
import { homedir } from "node:os";
import { rmSync } from "node:fs";
import { AccountService } from "./accounts/account-service.js";
import { LoginLedger } from "./accounts/login-ledger.js";
import { parseListen } from "./config/fields.js";
import type { Config } from "./config/types.js";
import {
  accountLimits,
  checkpointParams,
  httpLimits,
  leaseParams,
  limitParams,
  pollParams,
  policyParams,
  sessionTuning,
  sharedEventsRetention,
  swapTuning,
} from "./config/params.js";
import { readToken } from "./control/auth.js";
import { ControlApi } from "./control/control-api.js";
import { HttpServer } from "./control/http-server.js";
import { buildRoutes } from "./control/routes.js";
import { createMcpHandler } from "./control/mcp-server.js";
import { ControlMetrics } from "./control/metrics.js";
import { CheckpointService } from "./checkpoint/checkpoint-service.js";
import { LimitReactor } from "./quota/limit-reactor.js";
import { InboxService } from "./inbox/inbox-service.js";
import { ScheduleService } from "./schedules/schedule-service.js";
import { QuotaService } from "./quota/quota-service.js";
import { forcedMoveGate } from "./quota/move-gate.js";
import { QuotaChooser, type ChooserOptions } from "./quota/account-chooser.js";
import { httpUsageSource } from "./quota/usage-client.js";
import { UsageClientIdentity } from "./quota/cli-version.js";
import { UsagePoller } from "./quota/usage-poller.js";
import { feedIsFresh } from "./quota/poll-schedule.js";
import { SwapService, type SwapStepName } from "./sessions/swap.js";
import { pathsFor, type Paths } from "./config/paths.js";
import { applyReload } from "./reload.js";
import { continueAfterRecreate, TurnContinuation } from "./sessions/continue-turn.js";
import { ParkResume } from "./sessions/park-resume.js";
import type { ConfigDiff } from "./config/diff.js";
import { writeHookFiles } from "./sessions/hook-script.js";
import { bypassWarning } from "./ops/doctor-pool.js";
import { secretEnvNames } from "./ops/secret-env.js";
import type { LaunchContext } from "./sessions/launch.js";
import { LaunchEnvFiles } from "./sessions/launch-env.js";
import { InstanceLock } from "./ops/instance-lock.js";
import { WriteFailureWatch } from "./ops/write-failures.js";
import { SessionService, supervisedRows } from "./sessions/session-service.js";
import { CLI_MISSING, resolveCli } from "./ops/cli-binary.js";
import { endSessionsOnOldServer, recordedSocket, recordSocket } from "./ops/socket-change.js";
import { Spool } from "./sessions/spool.js";
import { StatusFeed } from "./quota/status-feed.js";
import { type StatusLineFiles, writeStatusLineFiles } from "./claude/status-line-files.js";
import type { SessionSpec } from "./sessions/types.js";
import { openDb } from "./store/db.js";
import { openSharedStore } from "./store/shared/open-shared-store.js";
import { BoxSync } from "./boxes/box-sync.js";
import { SharedEventsMirror, localEventsOfBox } from "./boxes/shared-events.js";
import { RetentionService } from "./store/retention.js";
import { Store } from "./store/store.js";
import { realExec, type Exec } from "./tmux/exec.js";
import { Tmux } from "./tmux/tmux.js";
import { tmuxPane, type Pane } from "./tmux/pane.js";
import { systemClock, type Clock } from "./util/clock.js";
import { CfError, errorMessage } from "./util/errors.js";
import { ensurePrivateDir } from "./util/fs-atomic.js";
import type { Logger } from "./util/log.js";
import { NotifyService } from "./notify/notify-service.js";
import { realDeliver } from "./notify/deliver.js";
import { notifyChildEnv } from "./notify/child-env.js";
import { Dashboard } from "./ui/ui-server.js";

export interface DaemonOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  log: Logger;
  realHome?: string;
  clock?: Clock;
  exec?: Exec;
  /** how often one `tmux list-panes -a` checks for dead or missing panes */
  sweepMs?: number;
}

/** The composition root: the only place that builds real adapters and wires services together. */
export class Daemon {
  readonly paths: Paths;
  readonly store: Store;
  /** failed durable writes (a full disk): an event each, the latest in status */
  readonly writeFailures: WriteFailureWatch;
  readonly tmux: Tmux;
  /** the sessions' panes over `tmux` (tmux/pane.ts): what every service but the sessions' lifecycle gets */
  readonly pane: Pane;
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  readonly spool: Spool;
  readonly checkpoints: CheckpointService;
  readonly swaps: SwapService;
  readonly limits: LimitReactor;
  readonly inbox: InboxService;
  /** schedules: (schedules/): recurring pool tasks */
  readonly schedules: ScheduleService;
  readonly retention: RetentionService;
  readonly poller: UsagePoller;
  /** The User-Agent of the usage client: claude-code/<version of claude.binary>, re-read on reload. */
  readonly usageIdentity: UsageClientIdentity;
  /** When each account's login happened, as far as watching its credentials file tells (logins.json). */
  readonly logins: LoginLedger;
  /** account choice (quota/account-chooser.ts): built before every service that picks an account */
  readonly chooser: QuotaChooser;
  readonly quota: QuotaService;
  readonly api: ControlApi;
  readonly http: HttpServer;
  readonly metrics: ControlMetrics;
  readonly local: HttpServer;
  /** notifications (notify/): fed by every event the store records */
  readonly notify: NotifyService;
  /** Store.onEvent subscriptions (notify, dashboard), ended at stop */
  private readonly eventFeeds: (() => void)[] = [];
  /** the web dashboard at /ui (ui/): pushed on every recorded event */
  readonly dashboard: Dashboard;
  /** this box in the shared store (boxes/box-sync.ts): only with store.backend postgres; null with sqlite */
  readonly boxSync: BoxSync | null;
  /** this box's events mirrored into the shared store with its name (boxes/shared-events.ts); postgres only */
  readonly sharedEvents: SharedEventsMirror | null;
  address: AddressInfo | null = null;
  /** aborted by stop(): the sweep and the usage poller's timers end with it */
  private readonly stopping = new AbortController();
  private config: Config;
  private readonly clock: Clock;
  private readonly log: Logger;

  /**
   * Wiring only, in one pass and in dependency order (docs/architecture.md "Wiring"): no I/O here, and no
   * field or callback of a service is set after it is built. Daemon.start opens what is needed first.
   */
  private readonly lock: InstanceLock;

  private constructor(opened: DaemonDeps, opts: DaemonOptions) {
    const token = opened.token;
    this.lock = opened.lock;
    this.config = opts.config;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    const c = opts.config;
    this.env = opts.env;
    this.realHome = opened.realHome;
    this.paths = opened.paths;
    this.store = opened.store;
    this.writeFailures = opened.writeFailures;
    this.statusFiles = opened.statusFiles;
    this.hookSettings = opened.hookSettings;
    this.launchFiles = opened.launchFiles;
    this.logins = opened.logins;
    this.tmux = new Tmux(opts.exec ?? realExec(), c.tmux.socket);
    this.pane = tmuxPane(this.tmux);
    this.accounts = new AccountService({
      store: this.store,
      clock: this.clock,
      log: this.log.child({ component: "accounts" }),
    });
    const boxLog = this.log.child({ component: "box" });
    this.boxSync =
      c.store.backend === "postgres"
        ? new BoxSync({
            box: c.box.name,
            store: this.store,
            accounts: this.accounts,
            clock: this.clock,
            log: boxLog,
            open: () =>
              openSharedStore({
                config: c,
                env: opts.env,
                db: this.store.db,
                onIdleError: (m) => boxLog.warn({ err: m }, "shared store connection lost"),
              }),
            info: () => ({ pid: process.pid, version: "0.1.0", accounts: this.accounts.names() }),
            reservationKeepMs: () => this.config.quota.min_dwell,
            ...leaseParams(c),
            localUsage: (name) => this.poller.snapshot(name).figures, // called once running
            onTasksChanged: () => this.inbox.sharedQueue?.kick(), // another box's notice; called once running
          })
        : null;
    this.sharedEvents = this.boxSync
      ? new SharedEventsMirror({
          box: c.box.name,
          store: () => this.boxSync?.store ?? null,
          events: this.store,
          clock: this.clock,
          log: boxLog,
          retention: () => sharedEventsRetention(this.config), // reloadable
        })
      : null;
    // Account choice first: accounts, figures and the policy only, so every service that picks an account gets it built.
    this.usageIdentity = new UsageClientIdentity(opts.env);
    this.poller = new UsagePoller(
      {
        store: this.store,
        accounts: this.accounts,
        clock: this.clock,
        log: this.log.child({ component: "usage" }),
        feedFresh: (name) => feedIsFresh(this.store.getUsage(name), this.clock.now(), this.config.quota.feed_fresh_for),
      },
      { source: this.usageSource(c), params: pollParams(c) },
    );
    const specs = new Map<string, SessionSpec>(); // the supervised sessions: SessionService keeps it, the chooser reads it
    this.chooser = new QuotaChooser(
      {
        store: this.store,
        accounts: this.accounts,
        figures: this.boxSync ? this.boxSync.withSharedUsage(this.poller) : this.poller, // any box's newest reading
        sessionRows: () => supervisedRows(this.store, specs),
        clock: this.clock,
        reservations: this.boxSync ? () => this.boxSync!.reservations.fromOtherBoxes() : undefined,
      },
      chooserOptions(c),
    );
    this.sessions = new SessionService(
      {
        store: this.store,
        tmux: this.tmux,
        pane: this.pane,
        accounts: this.accounts,
        chooser: this.chooser,
        clock: this.clock,
        log: this.log.child({ component: "sessions" }),
        specs,
      },
      {
        launch: opened.launch,
        tuning: sessionTuning(c),
        cliProblem: opened.cliProblem,
        // Called only once the daemon runs (ensure, sweep): the checkpoints are built by then.
        restoreSource: (name) => this.checkpoints.latest(name)?.session ?? null,
        afterRecreate: (_name, before, sessions) =>
          void continueAfterRecreate(sessions, this.store, before, this.config.swap, this.log, this.clock).catch(
            () => {},
          ),
      },
    );
    this.spool = new Spool(
      {
        handle: (ev) => this.sessions.handleHookEvent(ev),
        log: this.log.child({ component: "spool" }),
        clock: this.clock,
        onResumed: (info) => this.store.appendEvent(this.clock.now(), "spool.apply_deferred", null, null, info),
      },
      { dir: this.paths.spoolDir },
    );
    const cp = checkpointParams(c);
    this.checkpoints = new CheckpointService(
      { sessions: this.sessions, pane: this.pane, clock: this.clock, log: this.log.child({ component: "checkpoint" }) },
      { dir: c.checkpoint.dir, keep: cp.keep, scrollbackLines: cp.scrollbackLines },
    );
    const faultStep = opts.env.CLAUDE_FAILOVER_FAULT_KILL_AT_STEP;
    this.swaps = new SwapService(
      {
        sessions: this.sessions,
        pane: this.pane,
        store: this.store,
        accounts: this.accounts,
        chooser: this.chooser,
        checkpoints: this.checkpoints,
        clock: this.clock,
        log: this.log.child({ component: "swap" }),
        moves: this.boxSync ? forcedMoveGate(this.boxSync.reservations, this.chooser) : null, // planned with other boxes
      },
      {
        tuning: swapTuning(c),
        // Fault injection for the crash-safety tests: die like SIGKILL at a swap step boundary.
        onStep: faultStep
          ? (step: SwapStepName) => {
              if (step === faultStep) process.kill(process.pid, "SIGKILL");
            }
          : undefined,
      },
    );
    const limitsLog = this.log.child({ component: "limits" });
    // Park and resume: the limit reactor's tick resumes parked sessions through it.
    const parked = new ParkResume({
      sessions: this.sessions,
      pane: this.pane,
      chooser: this.chooser,
      swaps: this.swaps,
      clock: this.clock,
      log: limitsLog,
    });
    this.limits = new LimitReactor(
      {
        sessions: this.sessions,
        pane: this.pane,
        accounts: this.accounts,
        swaps: this.swaps,
        parked,
        clock: this.clock,
        log: limitsLog,
      },
      limitParams(c),
    );
    this.quota = new QuotaService({
      store: this.store,
      accounts: this.accounts,
      sessions: this.sessions,
      swaps: this.swaps,
      poller: this.poller,
      chooser: this.chooser,
      clock: this.clock,
      log: this.log.child({ component: "quota" }),
      reservations: this.boxSync?.reservations ?? null, // planned moves shared with other boxes (postgres)
    });
    // Usage from the CLIs' own status lines: the primary source; each new reading plans at once.
    this.feed = new StatusFeed({
      files: this.statusFiles,
      store: this.store,
      clock: this.clock,
      log: this.log.child({ component: "feed" }),
      onFigures: () => this.kickQuota(),
    });
    this.inbox = new InboxService(
      {
        store: this.store,
        sessions: this.sessions,
        pane: this.pane,
        clock: this.clock,
        log: this.log,
        // The same for the pool: die after a task is marked running, before its prompt is typed.
        onDispatched: opts.env.CLAUDE_FAILOVER_FAULT_KILL_AT_DISPATCH
          ? () => process.kill(process.pid, "SIGKILL")
          : undefined,
        shared: c.store.backend === "postgres" ? { box: c.box.name, store: () => this.boxSync?.store ?? null } : null, // the shared task queue
      },
      c,
    );
    this.schedules = new ScheduleService(
      {
        db: this.store.db,
        tasks: this.inbox.tasks,
        clock: this.clock,
        log: this.log.child({ component: "schedules" }),
        validate: (f) => this.inbox.validateFields(f),
        maxPromptBytes: () => this.config.inbox.max_file_bytes,
        event: (kind, data) => this.store.appendEvent(this.clock.now(), kind, null, null, data),
        queued: () => this.inbox.dispatcher.kick(),
      },
      c.schedules,
    );
    this.retention = new RetentionService(
      { store: this.store, clock: this.clock, log: this.log.child({ component: "retention" }) },
      {
        dirs: {
          spoolBad: this.paths.spoolBadDir,
          processed: this.paths.inboxProcessedDir,
          rejected: this.paths.inboxRejectedDir,
          outbox: this.paths.outboxDir,
        },
        params: c.retention,
      },
    );
    this.notify = new NotifyService(
      {
        clock: this.clock,
        log: this.log.child({ component: "notify" }),
        // Commands and notify-send run without what sessions are kept from, nor the notify config's own ${VAR}s.
        deliver: realDeliver({
          timeoutMs: 10_000,
          env: () => notifyChildEnv(opts.env, this.config.notify, secretEnvNames(this.config)),
        }),
        record: (kind, session, account, data) =>
          this.store.appendEvent(this.clock.now(), kind, session, account, data),
        sessions: () => this.sessions.list(),
        forecasts: () => this.accounts.names().map((account) => ({ account, view: this.quota.view(account).forecast })),
      },
      c.notify,
    );
    this.eventFeeds.push(this.store.onEvent((e) => this.notify.onEvent(e)));
    this.api = new ControlApi({
      store: this.store,
      sessions: this.sessions,
      pane: this.pane,
      accounts: this.accounts,
      clock: this.clock,
      plugins: {
        notify: this.notify,
        tasks: this.inbox.plugin(),
        schedules: () => this.schedules.list(),
        writeFailures: () => this.writeFailures.status(),
        ...(this.boxSync ? { boxes: () => this.boxSync!.boxesStatus(this.clock.now()) } : {}),
        eventsAllBoxes: async (q) => this.sharedEvents?.read(q) ?? localEventsOfBox(this.store, c.box.name, q),
        usage: (name) => this.quota.view(name),
        login: (name) => {
          const a = this.config.accounts.find((x) => x.name === name);
          return a ? this.logins.view(name, a.home, this.clock.now()) : null;
        },
        account: (name, action) => this.setAccountEnabled(name, action === "enable"),
        swap: async (i) => {
          const r = await this.swaps.swap({
            session: i.session,
            to: i.to,
            reason: i.reason ?? "manual",
            urgent: i.urgent ?? false,
            hard: false,
          });
          if (!r.ok && r.outcome === "refused") throw new CfError("conflict", r.reason);
          return r;
        },
        checkpoint: async (name) => {
          const r = await this.checkpoints.take(name, "on demand");
          return { ok: true, path: r.path, takenAt: r.checkpoint.takenAt };
        },
      },
    });
    const listen = parseListen(c.mcp_http.listen);
    if (!listen) throw new CfError("bad_listen", `mcp_http.listen: cannot parse ${c.mcp_http.listen}`);
    const httpOpts = { host: listen.host, port: listen.port, token, ...httpLimits(c) };
    // The metrics read the facade, so they come after it; /metrics gets them through the routes.
    this.metrics = new ControlMetrics({
      api: this.api,
      spool: () => ({ applied: this.spool.applied, rejected: this.spool.rejected }),
    });
    const routes = buildRoutes(this.api, { metrics: () => this.metrics.render(), log: this.log });
    // /mcp only on the TCP listener: its Host/Origin checks are about a port, not the unix socket.
    const mcp = createMcpHandler(this.api, {
      listenHost: listen.host,
      maxBody: () => this.config.mcp_http.max_body,
      triggersEnabled: () => this.http.triggersEnabled,
      token: () => token,
      log: this.log.child({ component: "mcp" }),
      version: "0.1.0",
      onCall: (t, o) => this.metrics.observeToolCall(t, o),
    });
    this.dashboard = new Dashboard({
      api: this.api,
      store: this.store,
      clock: this.clock,
      log: this.log.child({ component: "dashboard" }),
      token: () => token,
      triggers: () => this.http.triggersEnabled,
      thresholds: (name) => {
        const a = this.config.accounts.find((x) => x.name === name);
        return {
          fiveHour: a?.window_5h_threshold ?? this.config.quota.window_5h_threshold,
          week: a?.window_week_threshold ?? this.config.quota.window_week_threshold,
        };
      },
    });
    this.eventFeeds.push(this.store.onEvent((e) => this.dashboard.onEvent(e)));
    this.http = new HttpServer(
      {
        routes: { ...routes, raw: { ...routes.raw, "/mcp": mcp }, ui: this.dashboard.handle },
        log: this.log.child({ component: "http" }),
        clock: this.clock,
      },
      httpOpts,
    );
    // The operator's CLI talks over a 0600 unix socket in the state dir: the file mode locks reads;
    // Mutating routes need the token there too unless enable_trigger is on (an agent in a pane runs as this user).
    this.local = new HttpServer(
      { routes, log: this.log.child({ component: "local" }), clock: this.clock },
      { ...httpOpts, socketPath: this.paths.controlSocket },
    );
  }
  private readonly hookSettings: string;
  private readonly statusFiles: StatusLineFiles;
  readonly feed: StatusFeed;
  /** the daemon user's home (DaemonOptions.realHome, else os.homedir()) */
  private readonly realHome: string;

  static async start(opts: DaemonOptions): Promise<Daemon> {
    // First of all: a second daemon on this state dir stops here (InstanceLockedError), before it drains
    // the spool, touches a session or a task, or removes the running one's control.sock.
    ensurePrivateDir(opts.config.state_dir);
    const lock = InstanceLock.acquire(pathsFor(opts.config));
    const tok = readToken(opts.env, opts.config.mcp_http.bearer_token_env);
    let d: Daemon;
    let opened: Opened | null = null;
    try {
      if (!tok.ok) throw new CfError("no_token", tok.message);
      opened = Daemon.open(opts);
      d = new Daemon({ ...opened, lock, token: tok.token }, opts);
    } catch (e) {
      opened?.writeFailures.stop();
      opened?.store.close();
      lock.release();
      throw e;
    }
    try {
      await d.boot(opts);
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  /**
   * The I/O the services need before they are built (the constructor does none): private dirs, the state
   * db, the write-failure watch (so the files written next count), the hook and status-line files, the
   * login ledger, and the first launch context (which CLI runs; its env files).
   */
  private static open(opts: DaemonOptions): Opened {
    const c = opts.config;
    const paths = pathsFor(c);
    ensurePrivateDir(paths.stateDir);
    ensurePrivateDir(paths.spoolDir);
    ensurePrivateDir(paths.checkpointDir);
    const store = new Store(openDb(paths.stateDir));
    const clock = opts.clock ?? systemClock;
    const writeFailures = new WriteFailureWatch({
      event: (kind, data) => store.appendEvent(clock.now(), kind, null, null, data),
      clock,
      log: opts.log.child({ component: "disk" }),
    });
    try {
      writeFailures.start();
      const statusFiles = writeStatusLineFiles(paths.statusLineDir);
      const hookFiles = writeHookFiles(paths.hookFiles, statusFiles.script, {
        acceptBypass: c.pool.permission_mode === "bypassPermissions",
      });
      const realHome = opts.realHome ?? homedir();
      const launchFiles = new LaunchEnvFiles(paths.launchDir);
      const bin = resolveBinary(c, opts.env, opts.log, undefined);
      const launch = launchContext(c, {
        binary: bin.path,
        settingsFile: hookFiles.settings,
        paths,
        statusFiles,
        launchFiles,
        userHome: realHome,
      });
      const logins = new LoginLedger(paths.loginLedger);
      return {
        paths,
        store,
        writeFailures,
        statusFiles,
        hookSettings: hookFiles.settings,
        launchFiles,
        launch,
        cliProblem: bin.problem,
        logins,
        realHome,
      };
    } catch (e) {
      writeFailures.stop();
      store.close();
      throw e;
    }
  }

  private async boot(opts: DaemonOptions): Promise<void> {
    const c = this.config;
    const bypass = bypassWarning(c);
    if (bypass) this.log.warn({ key: "pool.permission_mode" }, bypass);
    this.accounts.configure(c.accounts);
    await this.boxSync?.connect(); // a bad store config stops the start here; an unreachable database does not
    this.sharedEvents?.start(); // from here on each event is also sent to the shared store (buffered, batched)
    this.prepareHomes(this.realHome);
    // Events spooled while we were down describe the sessions we are about to adopt: apply them first, to
    // rows that exist by then (a lost row is restored from its checkpoint before, not after: a turn that
    // ended meanwhile must not be dropped as an orphan and answered again).
    this.restoreRows();
    this.inbox.attach(); // task states follow the hook events replayed from the spool
    await this.spool.start();
    await this.feed.start();
    const recovery = new TurnContinuation(
      {
        store: this.store,
        sessions: this.sessions,
        pane: this.pane,
        clock: this.clock,
        log: this.log.child({ component: "recovery" }),
      },
      { swapConfig: () => this.config.swap },
    );
    const pending = recovery.collect();
    await this.leaveOldTmuxServer(opts);
    await this.reconcile();
    recordSocket(this.paths.tmuxSocketRecord, c.tmux.socket);
    this.retryCliFailed();
    await this.inbox.start();
    this.schedules.start(); // runs missed while down first (catch_up), then the timer
    for (const p of pending) void recovery.finish(p);
    this.limits.attach();
    this.limits.recoverLimited();
    this.checkpoints.start(checkpointParams(c).intervalMs);
    this.retention.start();
    this.notify.start();
    await this.refreshUsageIdentity(c);
    this.poller.start(undefined, this.stopping.signal);
    // A prompt changes the soft-cap counts: plan again soon, not only on the next tick.
    this.sessions.onSignal((s) => {
      if (s.signal.kind === "prompt_submitted" || s.signal.kind === "turn_done") this.kickQuota();
    });
    this.address = await this.http.listen();
    await this.local.listen();
    const sweepMs = opts.sweepMs ?? 2000;
    this.clock.every(
      sweepMs,
      () => void this.tick().catch((e) => this.log.error({ err: errorMessage(e) }, "sweep failed")),
      this.stopping.signal,
    );
    this.boxSync?.start();
    this.store.appendEvent(this.clock.now(), "daemon.started", null, null, {
      pid: process.pid,
      listen: `${this.address.address}:${this.address.port}`,
    });
    this.log.info({ listen: this.address, sessions: this.sessions.specs.size }, "daemon ready");
  }

  /** Account homes for the current config: the dedicated sessions' and the pool's projects are trusted in each. */
  private prepareHomes(realHome: string): void {
    const projects = this.config.dedicated.map((d) => d.project);
    if (this.config.pool.project) projects.push(this.config.pool.project);
    this.accounts.prepareHomes({ sharedProjectsDir: this.config.sessions.shared_projects_dir, projects, realHome });
  }

  loadedConfig(): Config {
    return this.config;
  }

  /** SIGHUP: apply a valid new config live (see reload.ts). */
  async reload(next: Config): Promise<ConfigDiff> {
    return applyReload(
      {
        current: () => this.config,
        adopt: (c) => {
          this.config = c;
          this.accounts.configure(c.accounts);
        },
        prepareHomes: () => this.prepareHomes(this.realHome),
        applyTunables: (c) => this.applyTunables(c),
        sessions: this.sessions,
        specFor: (name) => this.dedicatedSpecs().find((s) => s.name === name),
        event: (kind, data) => this.store.appendEvent(this.clock.now(), kind, null, null, data),
        log: this.log,
      },
      next,
    );
  }

  /** A reloaded config into the running services: each gets the config/params.ts mapping it was built with. */
  private applyTunables(c: Config): void {
    writeHookFiles(this.paths.hookFiles, this.statusFiles.script, {
      acceptBypass: c.pool.permission_mode === "bypassPermissions",
    });
    const bypass = bypassWarning(c);
    if (bypass) this.log.warn({ key: "pool.permission_mode" }, bypass);
    const bin = resolveBinary(c, this.env, this.log, this.sessions.cliProblem);
    this.sessions.updateLaunch({
      launch: launchContext(c, {
        binary: bin.path,
        settingsFile: this.hookSettings,
        paths: this.paths,
        statusFiles: this.statusFiles,
        launchFiles: this.launchFiles,
        userHome: this.realHome,
      }),
      tuning: sessionTuning(c),
      cliProblem: bin.problem,
    });
    this.retryCliFailed();
    this.swaps.configure({ tuning: swapTuning(c) });
    this.limits.configure(limitParams(c));
    this.chooser.configure(chooserOptions(c));
    this.poller.configure({ source: this.usageSource(c), params: pollParams(c) });
    void this.refreshUsageIdentity(c);
    const cp = checkpointParams(c);
    this.checkpoints.configure(cp.keep, cp.scrollbackLines);
    this.checkpoints.start(cp.intervalMs);
    this.retention.configure(c.retention);
    const limits = httpLimits(c);
    this.http.update(limits);
    this.local.update({ maxBody: limits.maxBody, enableTrigger: limits.enableTrigger });
    this.inbox.configure(c);
    this.schedules.configure(c.schedules);
    this.notify.configure(c.notify);
    this.kickQuota();
  }

  dedicatedSpecs(): SessionSpec[] {
    return this.config.dedicated.map((d) => ({
      name: d.name,
      kind: "dedicated",
      project: d.project,
      account: d.account ?? null,
      args: d.args,
    }));
  }

  /** Each dedicated session's store row, restored from its checkpoint if lost (no panes touched). */
  private restoreRows(): void {
    for (const spec of this.dedicatedSpecs()) {
      try {
        this.sessions.ensureRow(spec);
      } catch (e) {
        // reconcile() tries again; the spool's events for it are then orphans, as before
        this.log.error({ session: spec.name, err: errorMessage(e) }, "could not restore the session's row");
      }
    }
  }

  async reconcile(): Promise<void> {
    const panes = await this.tmux.listPanes();
    for (const spec of this.dedicatedSpecs()) {
      try {
        await this.sessions.ensure(spec, panes);
      } catch (e) {
        this.log.error({ session: spec.name, err: errorMessage(e) }, "could not start session");
        this.store.appendEvent(this.clock.now(), "session.start_failed", spec.name, null, { error: errorMessage(e) });
      }
    }
  }

  private async tick(): Promise<void> {
    this.accounts.expireStates(this.config.quota.reactivate_cooldown);
    this.accounts.refreshCredentials();
    this.observeLogins();
    await this.sessions.sweep();
    await this.limits.tick();
    await this.quota.tick();
  }

  private quotaKick: NodeJS.Immediate | null = null;
  private kickQuota(): void {
    if (this.quotaKick || this.stopping.signal.aborted) return;
    this.quotaKick = setImmediate(() => {
      this.quotaKick = null;
      this.quota.tick().catch((e) => this.log.error({ err: errorMessage(e) }, "quota tick failed"));
    });
  }

  private loginWarned = new Set<string>();
  /** Records logins as they appear (logins.json) and warns once per login ahead of its likely end. */
  private observeLogins(): void {
    const now = this.clock.now();
    for (const name of this.logins.observe(this.config.accounts, now)) {
      const r = this.logins.record(name);
      this.store.appendEvent(now, "account.login_seen", null, name, {
        loginAt: r?.loginAt ?? null,
        firstSeenAt: r?.firstSeenAt ?? null,
      });
      this.loginWarned.delete(name);
    }
    for (const a of this.config.accounts) {
      const w = this.logins.view(a.name, a.home, now).warning;
      if (!w || this.loginWarned.has(a.name)) continue;
      this.loginWarned.add(a.name);
      this.log.warn({ account: a.name }, `${w}: log in again with \`claude-failover login ${a.name}\``);
      this.store.appendEvent(now, "account.login_ending", null, a.name, { warning: w });
    }
  }

  private usageSource(c: Config) {
    return httpUsageSource(
      c.quota.usage_api_base,
      c.quota.request_timeout,
      () => this.clock.now(),
      () => this.usageIdentity.userAgent(),
    );
  }

  /** `claude --version` → the usage client's User-Agent; a binary that can't tell gets the fallback, logged. */
  private async refreshUsageIdentity(c: Config): Promise<void> {
    // The CLI the sessions run (claude.binary, else the packaged one), so the version is the one we present.
    const cli = resolveCli(c.claude.binary, this.env.PATH);
    const changed = await this.usageIdentity.refresh(cli.ok ? cli.path : c.claude.binary, c.claude.env);
    if (!changed) return;
    if (changed.fallback)
      this.log.warn(
        { userAgent: changed.userAgent, why: changed.fallback },
        "usage client: CLI version unknown, using the fallback",
      );
    else this.log.info({ userAgent: changed.userAgent }, "usage client identity");
  }

  /** Operator enable/disable (AccountService.setEnabled); a disabled account's sessions are moved off it by the next quota tick. */
  setAccountEnabled(name: string, enable: boolean): { ok: true; account: string; state: string } {
    const r = this.accounts.setEnabled(name, enable);
    this.kickQuota();
    return r;
  }

  /** tmux.socket changed since the last run: end our sessions on the old server first (ops/socket-change.ts). */
  private async leaveOldTmuxServer(opts: DaemonOptions): Promise<void> {
    const was = recordedSocket(this.paths.tmuxSocketRecord);
    if (was === null || was === this.config.tmux.socket) return;
    const ended = await endSessionsOnOldServer({
      old: new Tmux(opts.exec ?? realExec(), was),
      ours: new Set(this.store.listSessions().map((s) => s.name)),
      busy: (name) => this.store.getSession(name)?.state === "busy",
      turnTimeoutMs: this.config.swap.graceful_timeout,
      event: (kind, session, data) =>
        this.store.appendEvent(this.clock.now(), kind, session, null, {
          ...data,
          from: was,
          to: this.config.tmux.socket,
        }),
    });
    if (ended.length)
      this.log.warn(
        { from: was || "(default)", to: this.config.tmux.socket || "(default)", sessions: ended },
        "tmux.socket changed: ended our sessions on the old tmux server; they continue on the new one",
      );
  }

  /** Sessions failed only because the CLI was missing start again once it is found (config reload, restart). */
  private retryCliFailed(): void {
    if (this.sessions.cliProblem) return;
    for (const s of this.sessions.list()) {
      if (s.state !== "failed" || !s.stateReason?.startsWith(CLI_MISSING)) continue;
      void this.sessions
        .restart(s.name, "the Claude Code CLI is found now")
        .catch((e) => this.log.error({ session: s.name, err: errorMessage(e) }, "restart failed"));
    }
  }
  private env: NodeJS.ProcessEnv = process.env;

  private readonly launchFiles: LaunchEnvFiles;

  /** Stops loops and servers and closes the store; tmux sessions keep running. */
  async stop(): Promise<void> {
    this.stopping.abort(); // the sweep and the poller stop; no quota kick after this
    await this.sharedEvents?.stop().catch(() => {}); // a last flush (bounded) before the store closes
    await this.boxSync?.stop().catch(() => {}); // rounds end, the lease is dropped (a clean stop)
    // A swap in flight is allowed to finish (bounded); one still running is recovered at the next start.
    await this.swaps.settled(30_000);
    this.schedules?.stop();
    this.checkpoints?.stop();
    this.retention?.stop();
    this.poller?.stop();
    if (this.quotaKick) clearImmediate(this.quotaKick);
    this.sessions.shutdown();
    await this.inbox?.stop().catch(() => {});
    await this.spool.stop().catch(() => {});
    await this.feed.stop().catch(() => {});
    await this.http.close().catch(() => {});
    await this.local.close().catch(() => {});
    rmSync(this.paths.controlSocket, { force: true });
    try {
      this.store.appendEvent(this.clock.now(), "daemon.stopped", null, null, { pid: process.pid });
    } catch {
      /* store may be closed */
    }
    this.writeFailures.stop();
    for (const stopFeed of this.eventFeeds) stopFeed();
    this.notify.stop();
    this.dashboard.stop();
    this.store.close();
    this.lock.release();
  }
}

/** What Daemon.start opens and writes before the constructor wires the services (Daemon.open). */
interface Opened {
  paths: Paths;
  store: Store;
  writeFailures: WriteFailureWatch;
  statusFiles: StatusLineFiles;
  /** the hooks' --settings file */
  hookSettings: string;
  launchFiles: LaunchEnvFiles;
  /** the first launch context; a reload makes the next one */
  launch: LaunchContext;
  /** no CLI found: why, with the fix (sessions fail with it) */
  cliProblem: string | null;
  logins: LoginLedger;
  realHome: string;
}

/** The Daemon constructor's first argument: what Daemon.start acquired, read and opened before it. */
interface DaemonDeps extends Opened {
  /** the state dir's instance lock (ops/instance-lock.ts), released by stop() */
  lock: InstanceLock;
  /** the control plane's bearer token (mcp_http.bearer_token_env) */
  token: string;
}

/** config/params.ts policyParams and accountLimits, for account choice. */
function chooserOptions(c: Config): ChooserOptions {
  return { params: policyParams(c), limits: accountLimits(c) };
}

/**
 * The CLI the sessions run (see ops/cli-binary.ts): its path, else the configured name with the problem.
 * A missing one is logged once (`current`: the problem already known; undefined at start).
 */
function resolveBinary(
  c: Config,
  env: NodeJS.ProcessEnv,
  log: Logger,
  current: string | null | undefined,
): { path: string; problem: string | null } {
  const r = resolveCli(c.claude.binary, env.PATH);
  const problem = r.ok ? null : `${r.problem}; fix: ${r.fix}`;
  if (problem && problem !== current) log.error({ binary: c.claude.binary }, problem);
  if (r.ok && r.source === "package" && current !== null)
    log.info({ path: r.path }, "`claude` is not on PATH: running the CLI installed with claude-failover");
  return { path: r.ok ? r.path : c.claude.binary, problem };
}

/** How sessions launch the CLI (sessions/launch.ts); writes the env files of claude.env (launch-env.ts). */
function launchContext(
  c: Config,
  x: {
    binary: string;
    settingsFile: string;
    paths: Paths;
    statusFiles: StatusLineFiles;
    launchFiles: LaunchEnvFiles;
    userHome: string;
  },
): LaunchContext {
  return {
    binary: x.binary,
    args: [...(c.claude.permission_mode ? ["--permission-mode", c.claude.permission_mode] : []), ...c.claude.args],
    env: c.claude.env,
    settingsFile: x.settingsFile,
    spoolDir: x.paths.spoolDir,
    sharedProjectsDir: c.sessions.shared_projects_dir,
    scrub: secretEnvNames(c),
    launch: x.launchFiles.prepare(c.claude.env),
    statusLine: x.statusFiles,
    userHome: x.userHome,
  };
}
