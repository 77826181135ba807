// Which daemon events become notifications, and what they say. Pure: an event row in, a Notification
// (or null: not something people are told about) out. The event kinds and their data are the ones the
// daemon records (sessions/swap.ts, sessions/session-service.ts, quota/limit-reactor.ts, inbox/dispatcher.ts,
// quota/usage-poller.ts, daemon.ts, notify/watchers.ts, schedules/schedule-service.ts).
import type { EventRow } from "../store/types.js";
import { NOTIFY_EVENTS, type NotifyEventKind } from "../config/notify-config.js";
import type { Notification } from "./types.js";

const KINDS = new Set<string>(NOTIFY_EVENTS);

/** "2026-11-30 17:18 UTC"; "unknown" for null. */
export function utcMinute(ms: number | null | undefined): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "unknown";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "4.2 s", "3 min", "2 h 5 min". */
export function span(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.round(ms / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

const s = (v: unknown, dflt = "?"): string =>
  typeof v === "string" && v ? v : typeof v === "number" ? String(v) : dflt;
const n = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const pct = (v: unknown): string => (n(v) === null ? "?" : `${Math.round(n(v)! * 100)} %`);

type Said = { title: string; text: string; subject: string };

function say(e: EventRow): Said | null {
  const d = e.data;
  const who = e.session ?? "?";
  switch (e.kind as NotifyEventKind) {
    case "swap.done":
      return {
        title: `${who} moved from ${s(d.from, "no account")} to ${s(d.to)}`,
        text: `Swap ${s(d.id)} done in ${span(n(d.ms) ?? 0)}${d.resent ? "; the unanswered prompt was sent again" : ""}.`,
        subject: `swap ${s(d.id)}`,
      };
    case "swap.rolled_back":
      return {
        title: `swap of ${who} to ${s(d.to)} rolled back`,
        text: `Back on ${e.account ?? "?"}: ${s(d.reason, "no reason recorded")}.`,
        subject: `swap ${s(d.id)}`,
      };
    case "swap.parked":
      return {
        title: `swap of ${who} to ${s(d.to)} failed`,
        text: `The session is parked: ${s(d.reason, "no reason recorded")}.`,
        subject: `park ${who}`,
      };
    case "session.parked":
      return {
        title: `${who} parked: no account can take it`,
        text: `${s(d.reason, "every account is spent")}. It resumes ${n(d.resumeAt) === null ? "when an account is usable again" : `at ${utcMinute(n(d.resumeAt))}`}.`,
        subject: `park ${who}`,
      };
    case "session.resume":
      return {
        title: `${who} resumed on ${e.account ?? "?"}`,
        text: `Parked on ${s(d.from, "no account")} until now${d.prompt ? "; its unanswered prompt is sent again" : ""}.`,
        subject: `resume ${who}`,
      };
    case "session.dialog_overdue":
      return {
        title: `${who} is waiting for you`,
        text: `A ${s(d.dialog, "")} dialog has been open for ${span(n(d.waitingMs) ?? 0)}: answer it with claude-failover attach ${who}.`,
        subject: `since ${s(d.since, "?")}`,
      };
    case "session.failed":
      return {
        title: `${who} failed`,
        text: `${s(d.reason, "no reason recorded")}${n(d.restarts) !== null ? ` (${s(d.restarts)} restarts)` : ""}. claude-failover restart ${who} starts it again.`,
        subject: s(d.reason, ""),
      };
    case "task.done":
      return {
        title: `task ${s(d.id)} done`,
        text: `Done on ${who} in ${span(n(d.ms) ?? 0)}${d.resultPath ? `; result: ${s(d.resultPath)}` : ""}.`,
        subject: `task ${s(d.id)}`,
      };
    case "task.failed":
      return {
        title: `task ${s(d.id)} failed`,
        text: `${s(d.reason, "no reason recorded")}${n(d.attempts) !== null ? ` after ${s(d.attempts)} attempts` : ""}.`,
        subject: `task ${s(d.id)}`,
      };
    case "task.waiting":
      return {
        title: `task ${s(d.id)} is waiting for you`,
        text: `Its turn on ${who} stopped at a permission dialog: ${s(d.question, "a tool call")}. Answer with claude-failover task answer ${s(d.id)} yes|no.`,
        subject: `task ${s(d.id)}`,
      };
    case "schedule.refused":
      return {
        title: `schedule ${s(d.name)} did not run`,
        text: `Its run of ${utcMinute(n(d.at))} was not queued: ${s(d.reason, "no reason recorded")}. It runs again at its next time.`,
        subject: `schedule ${s(d.name)}`,
      };
    case "account.login_ending":
      return {
        title: `account ${e.account ?? "?"}: login ending`,
        text: `${s(d.warning, "its login ends soon")}: log in again with claude-failover login ${e.account ?? "NAME"}.`,
        subject: s(d.warning, ""),
      };
    case "account.forecast_short":
      return {
        title: `account ${e.account ?? "?"} will run out before its reset`,
        text: `Its ${s(d.window)} window is at ${pct(d.utilization)} and at the current burn is full at ${utcMinute(n(d.exhaustAt))}, before it resets at ${utcMinute(n(d.resetsAt))}.`,
        subject: `${s(d.window)} ${s(d.resetsAt, "?")}`,
      };
    case "quota.usage_refused":
      return {
        title: `usage endpoint refusing us (account ${e.account ?? "?"})`,
        text: `${s(d.detail, "the usage endpoint refuses this client")}. Figures come from the sessions' status lines meanwhile.`,
        subject: "",
      };
    default:
      return null;
  }
}

/** The notification for daemon event `e`, or null when it is not one of NOTIFY_EVENTS. */
export function toNotification(e: EventRow): Notification | null {
  if (!KINDS.has(e.kind)) return null;
  const said = say(e);
  if (!said) return null;
  return {
    event: e.kind as NotifyEventKind,
    ts: e.ts,
    session: e.session,
    account: e.account,
    data: e.data,
    eventId: e.id,
    ...said,
  };
}

const PARKS = new Set<string>(["swap.parked", "session.parked"]);

/**
 * The same notification again (same event, session, account and subject) is a duplicate. A park is one per
 * session whichever event tells it: a failed swap records both session.parked and swap.parked, and a
 * session parked again within the dedup window (its resume time moved) is not news. A resume is one per
 * session likewise. A task waiting on a person is one per task.
 */
export function dedupKey(x: Pick<Notification, "event" | "session" | "account" | "subject">): string {
  if (PARKS.has(x.event)) return JSON.stringify(["park", x.session]);
  // One per task: a task that waits again (the next tool call, a swap moved it) within the window is not news.
  if (x.event === "task.waiting") return JSON.stringify([x.event, x.subject]);
  return JSON.stringify([x.event, x.session, x.account, x.subject]);
}

/** What `notify test` sends. */
export function sampleNotification(now: number, target: string): Notification {
  return {
    event: "notify.test",
    ts: now,
    session: null,
    account: null,
    eventId: 0,
    title: "claude-failover test notification",
    text: `Target ${target} is reachable; this is what a notification looks like.`,
    subject: `test ${now}`,
    data: { test: true, target },
  };
}
