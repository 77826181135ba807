// /metrics: Prometheus text from a private prom-client Registry. Nothing is global and nothing runs at
// import time: the composition root builds one ControlMetrics, and every figure is read at scrape time
// from the ControlApi facade (and the hook spool's counters), so the numbers cannot drift from what
// /status and the MCP tools say.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AccountState, SessionState } from "../store/types.js";
import type { ControlApi } from "./control-api.js";

export interface MetricsSources {
  api: ControlApi;
  /** The hook spool's lifetime counters. */
  spool?: () => { applied: number; rejected: number };
}

const P = "claude_failover_";
const SESSION_STATES = [
  "starting",
  "idle",
  "busy",
  "waiting",
  "limited",
  "exited",
  "failed",
  "parked",
  "swapping",
  "stopped",
] as const satisfies readonly SessionState[];
const ACCOUNT_STATES = [
  "active",
  "cooldown",
  "exhausted",
  "revoked",
  "disabled",
] as const satisfies readonly AccountState[];
// Swap reasons the daemon itself uses; anything an operator typed counts as "manual" (bounded labels).
const SWAP_REASONS = new Set(["rate_limit", "quota_hard", "quota_threshold", "manual"]);
const POLL_ERROR_EVENT = "quota.poll_error";

type Window = { utilization?: unknown } | null | undefined;
interface UsageView {
  fiveHour?: Window;
  sevenDay?: Window;
  perModelWeekly?: Record<string, Window> | null;
  ageMs?: unknown;
}

export class ControlMetrics {
  readonly registry = new Registry();
  private readonly toolCalls: Counter<"tool" | "outcome">;
  private pollCursor = 0;

  constructor(private readonly src: MetricsSources) {
    const registers = [this.registry];
    const api = src.api;
    new Gauge({
      name: `${P}sessions`,
      help: "Supervised sessions by state.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const s of SESSION_STATES) this.set({ state: s }, 0);
        for (const s of api.sessionsList()) this.inc({ state: s.state });
      },
    });
    new Gauge({
      name: `${P}accounts`,
      help: "Accounts by state.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const s of ACCOUNT_STATES) this.set({ state: s }, 0);
        for (const a of api.accountsList()) this.inc({ state: a.state });
      },
    });
    this.usageMetrics(registers);
    this.swapMetrics(registers);
    new Gauge({
      name: `${P}tasks`,
      help: "Tasks by state.",
      labelNames: ["state"],
      registers,
      collect() {
        this.reset();
        for (const t of api.tasksList()) {
          const st = (t as { state?: unknown }).state;
          this.inc({ state: typeof st === "string" && /^[a-z_]{1,32}$/.test(st) ? st : "unknown" });
        }
      },
    });
    const spool = src.spool;
    new Counter({
      name: `${P}hook_events_applied_total`,
      help: "Hook events applied from the spool.",
      registers,
      collect() {
        this.reset();
        this.inc(spool?.().applied ?? 0);
      },
    });
    new Counter({
      name: `${P}hook_events_rejected_total`,
      help: "Spool files rejected (unreadable or malformed).",
      registers,
      collect() {
        this.reset();
        this.inc(spool?.().rejected ?? 0);
      },
    });
    const countPollErrors = (c: Counter<"account" | "kind">): void => this.countPollErrors(c);
    new Counter({
      name: `${P}usage_poll_errors_total`,
      help: "Failed polls of the usage endpoint, by account and kind.",
      labelNames: ["account", "kind"],
      registers,
      collect() {
        countPollErrors(this);
      },
    });
    this.toolCalls = new Counter({
      name: `${P}mcp_tool_calls_total`,
      help: "MCP tool calls by tool and outcome.",
      labelNames: ["tool", "outcome"],
      registers,
    });
    new Gauge({
      name: `${P}start_time_seconds`,
      help: "When the daemon started (unix time).",
      registers,
      collect() {
        this.set(api.startedAt / 1000);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  observeToolCall(tool: string, outcome: "ok" | "error"): void {
    this.toolCalls.inc({ tool, outcome });
  }

  private usageMetrics(registers: Registry[]): void {
    const api = this.src.api;
    new Gauge({
      name: `${P}account_usage_ratio`,
      help: "Subscription usage of a window (0..1) as last read from the usage endpoint.",
      labelNames: ["account", "window"],
      registers,
      collect() {
        this.reset();
        for (const a of api.accountsList()) {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: `{} | null` (from `unknown ?? null`) to an all-optional shape; the rule takes it for a no-op, tsc does not
          const u = a.usage as UsageView | null;
          if (!u) continue;
          const put = (window: string, w: Window) =>
            typeof w?.utilization === "number" && this.set({ account: a.name, window }, w.utilization);
          put("five_hour", u.fiveHour);
          put("seven_day", u.sevenDay);
          for (const [model, w] of Object.entries(u.perModelWeekly ?? {}))
            if (/^[a-z0-9_.-]{1,40}$/i.test(model)) put(`seven_day_${model}`, w);
        }
      },
    });
    new Gauge({
      name: `${P}account_usage_age_seconds`,
      help: "Age of the last usage reading.",
      labelNames: ["account"],
      registers,
      collect() {
        this.reset();
        for (const a of api.accountsList()) {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: `{} | null` (from `unknown ?? null`) to an all-optional shape; the rule takes it for a no-op, tsc does not
          const age = (a.usage as UsageView | null)?.ageMs;
          if (typeof age === "number") this.set({ account: a.name }, age / 1000);
        }
      },
    });
    new Gauge({
      name: `${P}account_prompts`,
      help: "Prompts counted locally per account in the last hour / week.",
      labelNames: ["account", "window"],
      registers,
      collect() {
        this.reset();
        for (const a of api.accountsList()) {
          this.set({ account: a.name, window: "hour" }, a.promptsLastHour);
          this.set({ account: a.name, window: "week" }, a.promptsLastWeek);
        }
      },
    });
  }

  /** Read from the store's swaps table (through the facade): the history survives daemon restarts. */
  private swapMetrics(registers: Registry[]): void {
    const api = this.src.api;
    const finished = () => api.swapsRecent(100_000).filter((s) => s.outcome !== null);
    new Counter({
      name: `${P}swaps_total`,
      help: "Finished swaps by reason and outcome.",
      labelNames: ["reason", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const s of finished())
          this.inc({ reason: SWAP_REASONS.has(s.reason) ? s.reason : "manual", outcome: s.outcome! });
      },
    });
    new Histogram({
      name: `${P}swap_duration_seconds`,
      help: "How long finished swaps took, by outcome.",
      labelNames: ["outcome"],
      registers,
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      collect() {
        this.reset();
        for (const s of finished())
          if (s.durationMs !== null) this.observe({ outcome: s.outcome! }, s.durationMs / 1000);
      },
    });
  }

  /** Counted incrementally from the event log (quota.poll_error events), from the first event on. */
  private countPollErrors(c: Counter<"account" | "kind">): void {
    for (;;) {
      const batch = this.src.api.eventsAfter(this.pollCursor, 1000, { kindPrefix: POLL_ERROR_EVENT });
      for (const e of batch) {
        this.pollCursor = e.id;
        if (e.kind !== POLL_ERROR_EVENT) continue;
        const kind = typeof e.data.kind === "string" && /^[a-z_]{1,32}$/.test(e.data.kind) ? e.data.kind : "error";
        c.inc({ account: e.account ?? "none", kind });
      }
      if (batch.length < 1000) return;
    }
  }
}
