// The quota policy: which sessions move to which account this tick. Pure: no
// clock, no I/O; `now` is a parameter. The anti-thrash rules from docs/peers.md
// live here: thresholds below 100 % with hysteresis, minimum dwell, stay put when
// every account is nearly full, park when every account refuses, and all moves
// of a tick planned together with the load each adds to its target.
//
// Missing or stale figures are "unknown": such an account may take a hard move
// (a session that can't run anywhere else needs somewhere to go) but is never
// the target of an optimisation move, which must be clearly better on a fresh reading.
// Except an idle spare whose access token expired (figuresUnknown "token_expired"):
// nobody runs on it, so it is a target like a fresh one, ranked after them.
//
// Forecasts (quota/forecast.ts): a target must last `minRunwayMs` before any window
// reaches its threshold, at its own burn plus the burn of the sessions moved to it.
// A moved session's burn is its source account's burn divided by the sessions there.
// Among usable targets: priority first (a lower number is always spent first, as the
// user ranked them), then the one whose quota resets soonest (what it has left is lost
// at the reset anyway), then the most headroom.

import { reachesAt } from "./forecast.js";
import type {
  AccountPressure,
  InitialChoice,
  OtherBoxReservation,
  PolicyAccount,
  PolicyDecision,
  PolicyInput,
  PolicyParams,
  PolicySession,
  WindowFigure,
  WindowForecast,
} from "./policy-types.js";

export type * from "./policy-types.js";

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

// One constraint on an account, as a fraction of its threshold's scale.
// `cap` is the message cap for soft-cap gauges (shown as counts), null for windows.
// `burn`: the window's forecast burn (utilization per hour), null when unknown.
interface Gauge {
  label: string;
  value: number;
  threshold: number;
  perMove: number;
  resetsAt: number | null;
  cap: number | null;
  burn: number | null;
}
// `planned` counts the moves planned to this account in the current tick, plus recent arrivals (planTick);
// `plannedBurn` the burn (per gauge label, per hour) of the sessions planned to it this tick.
// `windowReset`: the soonest reset of its windows (Infinity when none known), for "spend what resets first".
// `unknownFigures`: usable although its figures are unknown (token expired): ranked after known figures.
interface Assessed {
  account: PolicyAccount;
  pressure: AccountPressure;
  gauges: Gauge[];
  nextReset: number;
  windowReset: number;
  planned: number;
  plannedBurn: Map<string, number>;
  unknownFigures: boolean;
}
/** A moved session's expected burn per gauge label (utilization per hour). */
type Load = ReadonlyMap<string, number>;
const NO_LOAD: Load = new Map();

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
const iso = (t: number): string => new Date(t).toISOString();
const show = (g: Gauge, v: number): string => (g.cap === null ? pct(v) : `${Math.round(v * g.cap)}/${g.cap} msgs`);
const mins = (ms: number): string => `${Math.max(0, Math.round(ms / 60_000))}m`;

// A window whose reset time has passed has rolled over; its old figure no longer applies.
function pushWindow(
  out: Gauge[],
  label: string,
  w: WindowFigure | null | undefined,
  threshold: number,
  perMove: number,
  now: number,
  f: WindowForecast | null | undefined,
): void {
  if (w && (w.resetsAt === null || w.resetsAt > now)) {
    out.push({
      label,
      value: w.utilization,
      threshold,
      perMove,
      resetsAt: w.resetsAt,
      cap: null,
      burn: f?.burnPerHour ?? null,
    });
  }
}

// Soft caps count prompts; a move adds one prompt. The counting window is at
// most an hour / a week long, which bounds when the cap frees up. 0 is no cap.
function pushCap(out: Gauge[], label: string, count: number, cap: number, resetsAt: number): void {
  if (cap > 0) out.push({ label, value: count / cap, threshold: 1, perMove: 1 / cap, resetsAt, cap, burn: null });
}

// The account's own thresholds win over the global ones.
function gaugesOf(a: PolicyAccount, p: PolicyParams, now: number): Gauge[] {
  const out: Gauge[] = [];
  const t5 = a.window5hThreshold ?? p.window5hThreshold;
  const tw = a.windowWeekThreshold ?? p.windowWeekThreshold;
  const fc = a.forecasts;
  pushWindow(out, "5h", a.figures.fiveHour, t5, p.loadPerSession, now, fc?.fiveHour);
  pushWindow(out, "7d", a.figures.sevenDay, tw, 0, now, fc?.sevenDay);
  for (const model of Object.keys(a.figures.perModelWeekly).sort()) {
    pushWindow(out, `7d ${model}`, a.figures.perModelWeekly[model], tw, 0, now, fc?.perModelWeekly[model]);
  }
  pushCap(out, "hourly cap", a.hourlyCount, a.limits.hourly_msgs, now + HOUR);
  pushCap(out, "weekly cap", a.weeklyCount, a.limits.weekly_msgs, now + WEEK);
  return out;
}

// Whether the account's state lets it take sessions now.
function stateAllows(a: PolicyAccount, p: PolicyParams, now: number): boolean {
  if (a.state === "active") return true;
  if (a.state === "cooldown") return a.stateUntil !== null && now >= a.stateUntil;
  // Right after a reset the figures still lag: wait a little before trusting it again.
  if (a.state === "exhausted") return a.stateUntil !== null && now >= a.stateUntil + p.reactivateCooldownMs;
  return false;
}

// Why the account's state keeps it from taking sessions, and when it may again.
function stateBlock(a: PolicyAccount, p: PolicyParams, now: number): { reason: string; until: number | null } | null {
  if (stateAllows(a, p, now)) return null;
  const reuseAt =
    a.state === "exhausted" && a.stateUntil !== null
      ? a.stateUntil + p.reactivateCooldownMs
      : a.state === "cooldown"
        ? a.stateUntil
        : null;
  const until = a.stateUntil === null ? "" : ` until ${iso(a.stateUntil)}`;
  const reuse = a.state === "exhausted" && reuseAt !== null ? `, reusable from ${iso(reuseAt)}` : "";
  return { reason: `${a.name}: ${a.state}${until}${reuse}`, until: reuseAt };
}

// Null when the figures are fresh; otherwise why they can't be trusted.
function staleness(a: PolicyAccount, p: PolicyParams, now: number): string | null {
  const { fetchedAt, source } = a.figures;
  if (source === "none" || fetchedAt === null) return `${a.name}: figures unknown`;
  if (now - fetchedAt > p.staleAfterMs)
    return `${a.name}: figures stale (${Math.round((now - fetchedAt) / 60_000)}m old)`;
  return null;
}

function minHeadroom(gauges: Gauge[], extraMoves: number): number {
  let h = Infinity;
  for (const g of gauges) h = Math.min(h, g.threshold - g.value - extraMoves * g.perMove);
  return h === Infinity ? 0 : h;
}

function assess(a: PolicyAccount, p: PolicyParams, now: number): Assessed {
  const gauges = gaugesOf(a, p, now);
  const reasons: string[] = [];
  const blockers: (number | null)[] = [];
  const block = stateBlock(a, p, now);
  if (block) {
    reasons.push(block.reason);
    blockers.push(block.until);
  }
  let over = a.state === "disabled";
  for (const g of gauges) {
    if (g.value < g.threshold) continue;
    over = true;
    reasons.push(`${a.name}: ${g.label} ${show(g, g.value)} ≥ ${show(g, g.threshold)}`);
    blockers.push(g.resetsAt);
  }
  let stale = staleness(a, p, now);
  // An idle spare whose figures can't be read (access token expired, or nothing has ever read them) is
  // usable: nothing runs on it, so it has not been spent by us.
  const unknownFigures = stale !== null && (a.figuresUnknown === "token_expired" || a.figuresUnknown === "no_reading");
  if (unknownFigures) {
    const why =
      a.figuresUnknown === "token_expired"
        ? "access token expired (a running CLI refreshes it)"
        : "never read (usage endpoint unavailable, no CLI on it)";
    reasons.push(`${a.name}: figures unknown: ${why}; usable, after accounts with known figures`);
    stale = null;
  } else if (stale) reasons.push(stale);
  const headroom = minHeadroom(gauges, 0);
  const closest = gauges.find((g) => g.threshold - g.value === headroom);
  if (!over && closest)
    reasons.push(
      `${a.name}: ${closest.label} ${show(closest, closest.value)} < ${show(closest, closest.threshold)}`,
      `${a.name}: headroom ${pct(headroom)}`,
    );
  const ok = block === null && !over;
  // Usable again once every blocker has cleared; unknown if any blocker has no known end.
  const earliestReset = blockers.length && blockers.every((b) => b !== null) ? Math.max(...blockers) : null;
  const hard = a.state === "revoked" || (a.state === "exhausted" && (a.stateUntil === null || now < a.stateUntil));
  let nextReset = Infinity;
  let windowReset = Infinity;
  for (const g of gauges) if (g.resetsAt !== null) nextReset = Math.min(nextReset, g.resetsAt);
  for (const g of gauges) if (g.resetsAt !== null && g.cap === null) windowReset = Math.min(windowReset, g.resetsAt);
  const pressure = {
    over,
    hard,
    usable: ok && stale === null,
    lastResort: ok && stale !== null,
    headroom,
    earliestReset,
    reasons,
  };
  return { account: a, gauges, nextReset, windowReset, planned: 0, plannedBurn: new Map(), unknownFigures, pressure };
}

/** How pressed an account is, for policy decisions and for `status` output. */
export function accountPressure(a: PolicyAccount, params: PolicyParams, now: number): AccountPressure {
  return assess(a, params, now).pressure;
}

// --- target selection -------------------------------------------------------

// strict: below every threshold less the hysteresis, with the runway. relaxed: inside the hysteresis band
// (forced moves). short_runway: would not last min_runway (forced moves: better than parking). last_resort:
// figures stale or unknown (forced moves).
type Tier = "strict" | "relaxed" | "short_runway" | "last_resort";
const SOFT_TIERS: Tier[] = ["strict"];
const HARD_TIERS: Tier[] = ["strict", "relaxed", "short_runway", "last_resort"];

// Whether `extra` more sessions fit under every threshold less `margin`.
function fitsMoves(gauges: Gauge[], extra: number, margin: number): boolean {
  for (const g of gauges) if (g.value + extra * g.perMove >= g.threshold - margin) return false;
  return true;
}

// Whether one more session fits under every threshold less `margin`, counting
// the moves already planned to this account this tick (and recent arrivals, and other boxes' reservations).
function fitsOneMore(x: Assessed, margin: number): boolean {
  return fitsMoves(x.gauges, x.planned + 1, margin);
}

/** Above this many moved sessions an account counts as unlimited (no gauge grows with moves). */
const CAPACITY_CEILING = 1000;

/**
 * How many moved sessions `a` takes in all before a gauge would reach its threshold less `margin`
 * (utilization fraction; the policy uses the hysteresis for optimisation moves, 0 for forced ones), by its
 * figures at `now` — the same test as the policy's own planning (fitsOneMore), so a box's reservation and
 * its plan agree. null when nothing limits it (no gauge that a move adds to, or figures unknown).
 * For planned-move reservations across boxes (issue 19): the shared store grants a reservation while
 * every box's reservations on the account stay within this.
 */
export function moveCapacity(a: PolicyAccount, params: PolicyParams, now: number, margin: number): number | null {
  const gauges = gaugesOf(a, params, now);
  if (!fitsMoves(gauges, 0, margin)) return 0;
  if (!gauges.some((g) => g.perMove > 0)) return null;
  let lo = 0; // fits
  let hi = CAPACITY_CEILING + 1; // assumed not to fit
  if (fitsMoves(gauges, CAPACITY_CEILING, margin)) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fitsMoves(gauges, mid, margin)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Other boxes' reservations in force at `now` (`expiresAt > now`), summed by account then box, in name
 * order: what planTick counts as planned load on each account.
 */
export function reservedByOthers(
  reservations: readonly OtherBoxReservation[],
  now: number,
): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const live = reservations
    .filter((r) => r.expiresAt > now && r.sessions > 0)
    .sort((l, r) => (l.account === r.account ? (l.box < r.box ? -1 : 1) : l.account < r.account ? -1 : 1));
  for (const r of live) {
    const byBox = out.get(r.account) ?? new Map<string, number>();
    byBox.set(r.box, (byBox.get(r.box) ?? 0) + r.sessions);
    out.set(r.account, byBox);
  }
  return out;
}

const headroomAfter = (x: Assessed, extraMoves: number): number => minHeadroom(x.gauges, extraMoves);

/**
 * Why `x` would not last `minRunwayMs` with one more session (burning `load`) on it: the first window
 * that reaches its threshold sooner, before it resets; null when every window lasts. Each window starts
 * from its reading brought forward to `now` at the account's own burn, plus the load each planned move
 * adds; from now on it burns at the account's own forecast burn (unknown = 0: nobody is using it) plus
 * the burn of the sessions planned to it and of this one.
 */
function runwayShort(x: Assessed, load: Load, p: PolicyParams, now: number): string | null {
  if (p.minRunwayMs <= 0) return null;
  const sinceReading = Math.max(0, now - (x.account.figures.fetchedAt ?? now)) / HOUR;
  for (const g of x.gauges) {
    if (g.cap !== null) continue;
    const own = Math.max(0, g.burn ?? 0);
    const burn = own + (x.plannedBurn.get(g.label) ?? 0) + (load.get(g.label) ?? 0);
    const reach = reachesAt(now, g.value + own * sinceReading + (x.planned + 1) * g.perMove, burn, g.threshold);
    if (reach === null || reach >= now + p.minRunwayMs || (g.resetsAt !== null && g.resetsAt <= reach)) continue;
    return `${x.account.name}: ${g.label} would reach ${pct(g.threshold)} in ${mins(reach - now)} at ${pct(burn)}/h, under the ${mins(p.minRunwayMs)} runway`;
  }
  return null;
}

function inTier(x: Assessed, tier: Tier, p: PolicyParams, load: Load, now: number): boolean {
  if (tier === "last_resort") return x.pressure.lastResort && fitsOneMore(x, 0);
  if (!x.pressure.usable || !fitsOneMore(x, tier === "strict" ? p.hysteresis : 0)) return false;
  return tier === "short_runway" || runwayShort(x, load, p, now) === null;
}

// Known figures before unknown ones (token expired), then priority (lower first: the user's ranking is
// spent first), then the soonest window reset (quota left at a reset is lost), then most headroom after
// the planned load, then name.
function better(l: Assessed, r: Assessed): boolean {
  if (l.unknownFigures !== r.unknownFigures) return r.unknownFigures;
  const byPriority = l.account.priority - r.account.priority;
  if (byPriority !== 0) return byPriority < 0;
  if (l.windowReset !== r.windowReset) return l.windowReset < r.windowReset;
  const byHeadroom = headroomAfter(r, r.planned + 1) - headroomAfter(l, l.planned + 1);
  if (byHeadroom !== 0) return byHeadroom < 0;
  if (l.nextReset !== r.nextReset) return l.nextReset < r.nextReset;
  return l.account.name < r.account.name;
}

function bestIn(
  all: Assessed[],
  tier: Tier,
  refused: ReadonlySet<string>,
  p: PolicyParams,
  from: string | null,
  load: Load,
  now: number,
): Assessed | null {
  let best: Assessed | null = null;
  for (const x of all) {
    if (x.account.name === from || refused.has(x.account.name) || !inTier(x, tier, p, load, now)) continue;
    if (best === null || better(x, best)) best = x;
  }
  return best;
}

// A moved session's expected burn per window: its account's forecast burn shared equally by the
// sessions on it (those not exited or failed); empty when the account has no forecast.
function loadOf(from: string, ctx: Ctx): Load {
  const cached = ctx.loads.get(from);
  if (cached) return cached;
  const x = ctx.byName.get(from);
  const n = Math.max(1, ctx.sessionsOn.get(from) ?? 0);
  const load = new Map<string, number>();
  for (const g of x?.gauges ?? []) if (g.cap === null && g.burn !== null && g.burn > 0) load.set(g.label, g.burn / n);
  ctx.loads.set(from, load);
  return load;
}

interface Ctx {
  all: Assessed[];
  byName: Map<string, Assessed>;
  refused: ReadonlySet<string>;
  p: PolicyParams;
  now: number;
  // Planned load only grows within a tick, so a tier found empty for a source account stays empty for it
  // (keyed "<tier>|<source>": a session's expected burn depends on its source account).
  emptyTiers: Set<string>;
  /** Sessions per account (not exited or failed), for a session's share of its account's burn. */
  sessionsOn: Map<string, number>;
  loads: Map<string, Load>;
  resumeAt?: number | null;
}

function newCtx(
  all: Assessed[],
  refused: ReadonlySet<string>,
  p: PolicyParams,
  now: number,
  sessions: PolicySession[],
): Ctx {
  const sessionsOn = new Map<string, number>();
  for (const s of sessions)
    if (s.account !== null && s.state !== "exited" && s.state !== "failed")
      sessionsOn.set(s.account, (sessionsOn.get(s.account) ?? 0) + 1);
  return {
    all,
    byName: new Map(all.map((x) => [x.account.name, x])),
    refused,
    p,
    now,
    emptyTiers: new Set(),
    sessionsOn,
    loads: new Map(),
  };
}

// The emptyTiers memo is sound because the source account is never a candidate
// anyway: a session needing a move is on an account that is over, refusing or
// not usable, and inTier excludes all three. The explicit `from` check is a guard.
function pickTarget(from: string, hard: boolean, ctx: Ctx): { to: string; reasons: string[] } | null {
  const load = loadOf(from, ctx);
  for (const tier of hard ? HARD_TIERS : SOFT_TIERS) {
    const key = `${tier}|${from}`;
    if (ctx.emptyTiers.has(key)) continue;
    const best = bestIn(ctx.all, tier, ctx.refused, ctx.p, from, load, ctx.now);
    if (best === null) {
      ctx.emptyTiers.add(key);
      continue;
    }
    const name = best.account.name;
    const why = [
      `${name}: priority ${best.account.priority}`,
      `${name}: headroom ${pct(headroomAfter(best, best.planned))}`,
    ];
    if (best.windowReset !== Infinity) why.push(`${name}: next reset ${iso(best.windowReset)}`);
    if (ctx.p.minRunwayMs > 0 && (tier === "strict" || tier === "relaxed"))
      why.push(`${name}: lasts at least the ${mins(ctx.p.minRunwayMs)} runway`);
    if (best.planned > 0)
      why.push(
        `${name}: ${best.planned} other move(s) planned this tick, made within the dwell time or reserved by other boxes`,
      );
    if (best.unknownFigures)
      why.push(
        `${name}: figures unknown (${best.account.figuresUnknown === "token_expired" ? "access token expired" : "never read"}), ranked after accounts with known figures`,
      );
    if (tier === "relaxed") why.push(`${name}: inside the hysteresis band, taken because the move is forced`);
    if (tier === "short_runway")
      why.push(
        runwayShort(best, load, ctx.p, ctx.now) ?? `${name}: short runway`,
        `${name}: taken because the move is forced`,
      );
    if (tier === "last_resort") why.push(`${name}: figures unknown or stale, taken as a last resort for a forced move`);
    best.planned++;
    for (const [label, burn] of load) best.plannedBurn.set(label, (best.plannedBurn.get(label) ?? 0) + burn);
    return { to: name, reasons: why };
  }
  return null;
}

// Why no optimisation target was found among accounts that had room: their runway was too short.
function runwayNotes(from: string, ctx: Ctx): string[] {
  const load = loadOf(from, ctx);
  const out: string[] = [];
  for (const x of ctx.all) {
    if (
      x.account.name === from ||
      ctx.refused.has(x.account.name) ||
      !x.pressure.usable ||
      !fitsOneMore(x, ctx.p.hysteresis)
    )
      continue;
    const short = runwayShort(x, load, ctx.p, ctx.now);
    if (short) out.push(short);
  }
  return out;
}

// When anything is expected to free up: the earliest of every account's end of
// blockage (for an account refusing without a known end, its next window reset).
function earliestResume(ctx: Ctx): number | null {
  if (ctx.resumeAt !== undefined) return ctx.resumeAt;
  let t = Infinity;
  for (const x of ctx.all) {
    const r = x.pressure.earliestReset ?? (ctx.refused.has(x.account.name) ? x.nextReset : null);
    if (r !== null && r > ctx.now) t = Math.min(t, r);
  }
  ctx.resumeAt = t === Infinity ? null : t;
  return ctx.resumeAt;
}

// --- per-session decisions --------------------------------------------------

type Need = { level: "skip" | "hold" | "none" | "soft" | "hard"; reasons: string[] };

function needOf(s: PolicySession, ctx: Ctx): Need {
  if (s.account === null) return { level: "skip", reasons: [] };
  if (s.swapping || s.state === "swapping") return { level: "hold", reasons: ["swap in progress"] };
  if (s.state === "starting" || s.state === "exited" || s.state === "failed")
    return { level: "hold", reasons: [`session ${s.state}`] };
  const x = ctx.byName.get(s.account);
  if (!x) return { level: "hard", reasons: [`${s.account}: not a configured account`] };
  const r = x.pressure.reasons;
  if (x.pressure.hard) return { level: "hard", reasons: r };
  if (ctx.refused.has(s.account))
    return { level: "hard", reasons: [`${s.account}: the CLI refused a request (rate limit)`, ...r] };
  if (s.state === "parked") {
    return x.pressure.usable || x.pressure.lastResort
      ? { level: "none", reasons: [`parked: ${s.account} usable again, resume here`, ...r] }
      : { level: "hard", reasons: [`parked: ${s.account} still not usable`, ...r] };
  }
  return { level: x.pressure.over ? "soft" : "none", reasons: r };
}

function decide(s: PolicySession, need: Need, ctx: Ctx): PolicyDecision | null {
  const from = s.account;
  if (from === null || need.level === "skip") return null;
  const stay = (extra: string[]): PolicyDecision => ({
    kind: "stay",
    session: s.name,
    account: from,
    reasons: [...need.reasons, ...extra],
  });
  if (need.level === "hold") return stay([]);
  if (need.level === "none") return stay(need.reasons.length ? [] : [`${from}: within thresholds`]);
  const hard = need.level === "hard";
  if (!hard && s.lastMoveAt !== null && ctx.now - s.lastMoveAt < ctx.p.minDwellMs) {
    return stay([
      `dwell: moved ${Math.round((ctx.now - s.lastMoveAt) / 60_000)}m ago, minimum ${Math.round(ctx.p.minDwellMs / 60_000)}m`,
    ]);
  }
  const target = pickTarget(from, hard, ctx);
  if (target === null) {
    if (!hard) return stay(["no better account", ...runwayNotes(from, ctx)]);
    const resumeAt = earliestResume(ctx);
    return {
      kind: "park",
      session: s.name,
      account: from,
      resumeAt,
      reasons: [
        ...need.reasons,
        "no usable account",
        resumeAt === null ? "resume time unknown" : `resume at ${iso(resumeAt)}`,
      ],
    };
  }
  const extra = !hard && s.state === "busy" ? ["busy: move after the running turn ends"] : [];
  return {
    kind: "move",
    session: s.name,
    from,
    to: target.to,
    hard,
    reasons: [...need.reasons, ...target.reasons, ...extra],
  };
}

const LEVEL_ORDER: Record<Need["level"], number> = { hard: 0, soft: 1, none: 2, hold: 3, skip: 4 };

/** Plans every session's move, stay or park for one tick; output sorted by session name. */
export function planTick(input: PolicyInput, now: number): PolicyDecision[] {
  const all = input.accounts.map((a) => assess(a, input.params, now));
  // An account on which the CLI refused a request is refusing, whatever its (lagging) figures say.
  const refused = new Set(
    input.sessions
      .filter((s) => (s.hardLimited || s.state === "limited") && s.account !== null)
      .map((s) => s.account as string),
  );
  const ctx = newCtx(all, refused, input.params, now, input.sessions);
  // Swaps in progress, and sessions that moved onto an account within the dwell time, are load its
  // figures need not show yet (an idle session adds none until used): count them as planned, or each
  // tick hands out the same spare room again and ten sessions crossing together pile onto one account.
  for (const s of input.sessions) {
    const recent = s.account !== null && s.lastMoveAt !== null && now - s.lastMoveAt < input.params.minDwellMs;
    const to = s.movingTo ?? (recent ? s.account : null);
    const x = to ? ctx.byName.get(to) : undefined;
    if (x) x.planned++;
  }
  // Other boxes' planned moves (issue 19): the same kind of load, reserved in the shared store. Every
  // decision of the tick says which it counted, so each box's decision log shows the others' reservations.
  const counted: string[] = [];
  for (const [account, byBox] of reservedByOthers(input.reservations ?? [], now)) {
    const x = ctx.byName.get(account);
    if (!x) continue;
    for (const [box, n] of byBox) {
      x.planned += n;
      counted.push(`${account}: ${n} move(s) reserved by box ${box}, counted as planned`);
    }
  }
  const byName = (l: PolicySession, r: PolicySession): number => (l.name < r.name ? -1 : l.name > r.name ? 1 : 0);
  const jobs = [...input.sessions].sort(byName).map((s) => ({ s, need: needOf(s, ctx) }));
  // Forced moves claim capacity before optimisation moves do.
  const ordered = [...jobs].sort((l, r) => LEVEL_ORDER[l.need.level] - LEVEL_ORDER[r.need.level] || byName(l.s, r.s));
  const out = new Map<string, PolicyDecision>();
  for (const j of ordered) {
    const d = decide(j.s, j.need, ctx);
    if (d) d.reasons.push(...counted);
    if (d) out.set(j.s.name, d);
  }
  return jobs.map((j) => out.get(j.s.name)).filter((d): d is PolicyDecision => d !== undefined);
}

/**
 * Picks the account for a new session or a move the swap chooses itself: preferred if usable, else the best
 * usable, else a last resort. Other boxes' reservations in force at `now` (issue 19) count as planned load,
 * as in planTick, so an account they filled is passed over while another has room.
 */
export function chooseInitialAccount(
  accounts: PolicyAccount[],
  params: PolicyParams,
  now: number,
  preferred?: string,
  reservations: readonly OtherBoxReservation[] = [],
): InitialChoice {
  const all = accounts.map((a) => assess(a, params, now));
  const pref = all.find((x) => x.account.name === preferred);
  if (pref?.pressure.usable)
    return { account: pref.account.name, reasons: [`${pref.account.name}: preferred and usable`] };
  const counted: string[] = [];
  for (const [account, byBox] of reservedByOthers(reservations, now)) {
    const x = all.find((a) => a.account.name === account);
    if (!x) continue;
    for (const [box, n] of byBox) {
      x.planned += n;
      counted.push(`${account}: ${n} move(s) reserved by box ${box}, counted as planned`);
    }
  }
  // A new session's own burn is unknown: the runway counts the account's burn only.
  for (const tier of HARD_TIERS) {
    const best = bestIn(all, tier, new Set(), params, null, NO_LOAD, now);
    if (best)
      return {
        account: best.account.name,
        reasons: [`${best.account.name}: best ${tier.replace("_", " ")} choice`, ...best.pressure.reasons, ...counted],
      };
  }
  const resumeAt = earliestResume(newCtx(all, new Set(), params, now, []));
  return {
    none: true,
    resumeAt,
    reasons: ["no usable account", ...counted, ...all.flatMap((x) => x.pressure.reasons)],
  };
}
