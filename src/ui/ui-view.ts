// What the dashboard shows, as one JSON snapshot: accounts with their windows and thresholds, sessions,
// tasks, the boxes sharing the store (store.backend: postgres), and the chart's series (usage_samples)
// with markers (swaps, parks, refusals). Built from the
// control facade and the store's read methods only; plain data, escaped by the page (app.js uses
// textContent throughout).
import type { BoxView } from "../boxes/box-view.js";
import type { ControlApi } from "../control/control-api.js";
import type { Store } from "../store/store.js";
import type { EventRow } from "../store/types.js";

/** How far back the chart reaches (ms). */
export const CHART_SPAN_MS = 6 * 3_600_000;

/** The chart shows at least this much (ms). */
export const MIN_SPAN_MS = 15 * 60_000;

/** Event kinds drawn as markers on the chart. */
export const MARKER_KINDS = new Set([
  "swap.done",
  "swap.rolled_back",
  "swap.parked",
  "session.parked",
  "session.resume",
  "quota.hard_limit",
  "session.input_refused",
  "quota.usage_refused",
  "quota.throttle",
]);

export interface ViewDeps {
  api: ControlApi;
  store: Pick<Store, "usageSamples" | "getSwap">;
  /** recent events of MARKER_KINDS, oldest first (the dashboard keeps them from Store.onEvent: no query per push) */
  markerEvents: () => readonly EventRow[];
  /** the account's thresholds (0..1): its own, else quota.window_5h_threshold / window_week_threshold */
  thresholds: (account: string) => { fiveHour: number; week: number };
  triggers: () => boolean;
}

type Obj = Record<string, unknown>;
interface WindowIn {
  utilization: number;
  burnPerHour: number | null;
  exhaustAt: number | null;
  resetsAt: number | null;
}

export interface Marker {
  at: number;
  kind: string;
  session: string | null;
  account: string | null;
  text: string;
}

/** One marker's words: the event, who, and the decision's reasons where the event carries them. */
export function markerText(e: EventRow, swapReason: (id: number) => string | null): string {
  const d = e.data;
  const who = e.session ? `${e.session}: ` : "";
  const str = (v: unknown) => (typeof v === "string" ? v : v === null || v === undefined ? "" : JSON.stringify(v));
  switch (e.kind) {
    case "swap.done":
      return `${who}moved ${str(d.from)} → ${str(d.to)} (${typeof d.id === "number" ? (swapReason(d.id) ?? "") : ""})`;
    case "swap.rolled_back":
      return `${who}swap to ${str(d.to)} rolled back: ${str(d.reason)}`;
    case "swap.parked":
      return `${who}swap to ${str(d.to)} failed, parked: ${str(d.reason)}`;
    case "session.parked":
      return `${who}parked: ${str(d.reason)}`;
    case "session.resume":
      return `${who}resumed on ${e.account ?? ""}`;
    case "quota.hard_limit":
      return `${who}hard limit on ${e.account ?? ""}: ${str(d.message)}`;
    case "session.input_refused":
      return `${who}input refused: ${str(d.reason)}`;
    case "quota.usage_refused":
      return `usage endpoint refused (${e.account ?? ""}): ${str(d.detail)}`;
    case "quota.throttle":
      return `${who}throttled by the service: ${str(d.message ?? d.reason)}`;
    default:
      return `${who}${e.kind}`;
  }
}

/** The snapshot the page renders. */
export function dashboardState(deps: ViewDeps, now: number) {
  const { api } = deps;
  const accounts = (api.accountsList() as Obj[]).map((a) => {
    const name = String(a.name);
    const th = deps.thresholds(name);
    const usage = a.usage as Obj | null;
    const fc = (usage?.forecast ?? null) as {
      fiveHour: WindowIn | null;
      sevenDay: WindowIn | null;
      perModelWeekly: Record<string, WindowIn>;
    } | null;
    const windows: Obj[] = [];
    const add = (label: string, w: WindowIn | null | undefined, threshold: number) => {
      if (w)
        windows.push({
          label,
          utilization: w.utilization,
          threshold,
          burnPerHour: w.burnPerHour,
          exhaustAt: w.exhaustAt,
          resetsAt: w.resetsAt,
        });
    };
    add("5-hour", fc?.fiveHour, th.fiveHour);
    add("weekly", fc?.sevenDay, th.week);
    for (const [m, w] of Object.entries(fc?.perModelWeekly ?? {})) add(`weekly ${m}`, w, th.week);
    const login = a.login as Obj | null;
    const creds = a.credentials as Obj | null;
    return {
      name,
      state: a.state,
      stateUntil: a.stateUntil,
      stateReason: a.stateReason,
      sessions: a.sessions,
      windows,
      figuresAt: usage?.fetchedAt ?? null,
      figuresStatus: usage?.status ?? null,
      loginExpiresAt: creds?.expiresAt ?? login?.accessTokenExpiresAt ?? null,
      loginEndsBy: login?.loginEndsBy ?? null,
      loginWarning: login?.warning ?? null,
    };
  });
  const sessions = (api.sessionsList() as Obj[]).map((s) => {
    const reason = typeof s.stateReason === "string" ? s.stateReason : "";
    const sw = s.lastSwap as Obj | null;
    return {
      name: s.name,
      kind: s.kind,
      project: s.project,
      account: s.account,
      state: s.state,
      stateReason: s.stateReason,
      waiting: s.state === "waiting" || reason.startsWith("waiting: "),
      lastActivity: s.lastActivity,
      lastPrompt: s.lastPrompt,
      parkedUntil: s.parkedUntil,
      lastSwap: sw
        ? { from: sw.from, to: sw.to, outcome: sw.outcome, at: sw.endedAt ?? sw.startedAt, reason: sw.reason }
        : null,
    };
  });
  const tasks = (api.tasksList() as Obj[]).slice(-200).map((t) => ({
    id: t.id,
    state: t.state,
    project: t.project,
    session: t.session,
    prompt: t.prompt,
    createdAt: t.createdAt,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    resultPath: t.resultPath,
    error: t.error,
    // a running task stopped at a permission dialog: its question (inbox/task-waits.ts)
    waiting: (t.waiting as { question: string; since: number } | null | undefined) ?? null,
    // the other box running this box's task (shared queue; the local record says queued meanwhile), else null
    runsOn: typeof t.runsOn === "string" ? t.runsOn : null,
  }));
  return {
    now,
    triggers: deps.triggers(),
    accounts,
    sessions,
    tasks,
    boxes: boxesSection(api.boxesStatus() as BoxesStatusIn | null, tasks, now),
    chart: chartData(
      deps,
      accounts.map((a) => a.name),
      now,
    ),
  };
}

/** What control-api.ts boxesStatus gives (boxes/box-sync.ts boxesStatus). */
export interface BoxesStatusIn {
  asOf: number | null;
  reachable: boolean;
  boxes: readonly BoxView[];
}

/** One row of the Boxes section. */
export interface BoxRow {
  box: string;
  /** this daemon's own box */
  self: boolean;
  lease: BoxView["lease"];
  /** its last heartbeat (epoch ms: `now` minus its age); null without a lease row */
  heartbeatAt: number | null;
  /** tasks of the shared queue running on it (any box's) */
  runningTasks: number;
  /** the ids of this box's tasks it runs (the tasks' `runsOn`); always empty for this box */
  ourTasks: string[];
}

/** The Boxes section: null with store.backend: sqlite (no box sync). */
export interface BoxesSection {
  /** false while the shared store is unreachable (or not reached yet): the rows are the last read's */
  reachable: boolean;
  /** when the last read that reached the store was made (epoch ms); null before any */
  asOf: number | null;
  boxes: BoxRow[];
}

/**
 * The Boxes section from the boxes' status (null with sqlite: null) and this box's task views (their
 * `runsOn`), at `now` (epoch ms, the clock `status.boxes[].heartbeatAgeMs` was measured on).
 */
export function boxesSection(
  status: BoxesStatusIn | null,
  tasks: readonly { id: unknown; runsOn: string | null }[],
  now: number,
): BoxesSection | null {
  if (!status) return null;
  const ours = new Map<string, string[]>();
  for (const t of tasks) if (t.runsOn !== null) ours.set(t.runsOn, [...(ours.get(t.runsOn) ?? []), String(t.id)]);
  return {
    reachable: status.reachable,
    asOf: status.asOf,
    boxes: status.boxes.map((b) => ({
      box: b.box,
      self: b.self,
      lease: b.lease,
      heartbeatAt: b.heartbeatAgeMs === null ? null : now - b.heartbeatAgeMs,
      runningTasks: b.runningTasks,
      ourTasks: b.self ? [] : (ours.get(b.box) ?? []),
    })),
  };
}

/**
 * What of the boxes' status makes the dashboard push at once when it changes (ui-server.ts): the store's
 * reachability and each box's name, lease state and running count; not the heartbeat ages nor the read's
 * time, which change every round. "" with sqlite (null).
 */
export function boxesKey(status: BoxesStatusIn | null): string {
  if (!status) return "";
  return JSON.stringify([status.reachable, status.boxes.map((b) => [b.box, b.lease, b.runningTasks])]);
}

/** uPlot's aligned data: x in seconds, one series per account (null where it has no sample), and the markers. */
export function chartData(deps: Pick<ViewDeps, "store" | "markerEvents">, accounts: string[], now: number) {
  const oldest = now - CHART_SPAN_MS;
  const per = accounts.map((a) => deps.store.usageSamples(a, "five_hour", oldest));
  const times = [...new Set(per.flatMap((s) => s.map((x) => x.at)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = per.map((samples) => {
    const ys: (number | null)[] = times.map(() => null);
    for (const s of samples) ys[index.get(s.at)!] = Math.round(s.utilization * 1000) / 10;
    return ys;
  });
  const reasons = new Map<number, string | null>();
  const swapReason = (id: number) => {
    if (!reasons.has(id)) reasons.set(id, deps.store.getSwap(id)?.reason ?? null);
    return reasons.get(id)!;
  };
  const markers: Marker[] = deps
    .markerEvents()
    .filter((e) => e.ts >= oldest && MARKER_KINDS.has(e.kind))
    .slice(-200)
    .map((e) => ({ at: e.ts, kind: e.kind, session: e.session, account: e.account, text: markerText(e, swapReason) }));
  // The x range: from the first sample or marker (a little before it), at least the last 15 minutes, at most CHART_SPAN_MS.
  const first = Math.min(times[0] ?? now, markers[0]?.at ?? now);
  const since = Math.max(oldest, Math.min(now - MIN_SPAN_MS, first - Math.max(60_000, (now - first) / 10)));
  return { accounts, t: times.map((t) => t / 1000), series, markers, since, now };
}
