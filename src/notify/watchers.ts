// Two moments the daemon had no event for, found here and recorded as events (so they show in
// `claude-failover events` and reach notification targets like any other):
// - `session.dialog_overdue`: a session has waited on a dialog (permission prompt, trust question, …)
//   for longer than `notify.dialog_after`. The waiting itself is recorded by sessions/session-service.ts
//   (`session.waiting`, `session.input_refused`, and the state reason `waiting: <dialog> …`).
// - `account.forecast_short`: an account's window, at its current burn (quota/forecast.ts), is full
//   before it resets.
// Pure: the callers pass the rows, the forecasts and `now`; these classes keep only what they already reported.
import type { EventRow } from "../store/types.js";

/**
 * What a session row tells about waiting: the state reason starts with "waiting: " while the pane shows a
 * dialog (session-service.ts), or the state is `waiting` after the CLI's Notification hook said
 * permission_prompt or elicitation_dialog (apply-event.ts).
 */
export interface WaitingRow {
  name: string;
  account: string | null;
  state?: string;
  stateReason: string | null;
}

const HOOK_DIALOGS: Record<string, string> = { permission_prompt: "permission", elicitation_dialog: "question" };

export interface DialogOverdue {
  session: string;
  account: string | null;
  dialog: string;
  since: number;
  waitingMs: number;
}

const WAITING = "waiting: ";

/** Tracks open dialogs per session; `check` reports each wait once, when it passes `afterMs`. */
export class DialogWatch {
  private readonly open = new Map<string, { since: number; dialog: string; reported: boolean }>();

  /** `session.waiting` / `session.input_refused` mark when the wait began (else the first check that sees it). */
  note(e: Pick<EventRow, "kind" | "session" | "ts" | "data">): void {
    if ((e.kind !== "session.waiting" && e.kind !== "session.input_refused") || !e.session) return;
    if (this.open.has(e.session)) return;
    this.open.set(e.session, {
      since: e.ts,
      dialog: typeof e.data.dialog === "string" ? e.data.dialog : "a",
      reported: false,
    });
  }

  /** Waits longer than `afterMs` not yet reported; a row no longer waiting ends its wait (a new one starts afresh). */
  check(rows: readonly WaitingRow[], now: number, afterMs: number): DialogOverdue[] {
    const out: DialogOverdue[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const fromHook = r.state === "waiting";
      if (!fromHook && !r.stateReason?.startsWith(WAITING)) continue;
      seen.add(r.name);
      let w = this.open.get(r.name);
      if (!w) {
        w = {
          since: now,
          dialog: fromHook ? (HOOK_DIALOGS[r.stateReason ?? ""] ?? "a") : dialogOf(r.stateReason ?? ""),
          reported: false,
        };
        this.open.set(r.name, w);
      }
      if (!w.reported && now - w.since >= afterMs) {
        w.reported = true;
        out.push({ session: r.name, account: r.account, dialog: w.dialog, since: w.since, waitingMs: now - w.since });
      }
    }
    for (const name of [...this.open.keys()]) if (!seen.has(name)) this.open.delete(name);
    return out;
  }
}

// "waiting: permission dialog (answer it: …)" → "permission"
function dialogOf(reason: string): string {
  return (
    reason
      .slice(WAITING.length)
      .replace(/ \(.*$/, "")
      .replace(/ dialog$/, "") || "a"
  );
}

/** One window of one account as quota/account-chooser.ts `view().forecast` gives it. */
export interface WindowOutlook {
  window: string;
  utilization: number;
  burnPerHour: number | null;
  exhaustAt: number | null;
  resetsAt: number | null;
}

export interface ForecastShort extends WindowOutlook {
  account: string;
  exhaustAt: number;
  resetsAt: number;
}

/** Reports each account window whose forecast exhaustion comes before its known reset, once per window period. */
export class ForecastWatch {
  private readonly reported = new Map<string, number>();

  check(accounts: readonly { account: string; windows: readonly WindowOutlook[] }[], now: number): ForecastShort[] {
    const out: ForecastShort[] = [];
    for (const a of accounts) {
      for (const w of a.windows) {
        if (w.exhaustAt === null || w.resetsAt === null || w.resetsAt <= now || w.exhaustAt >= w.resetsAt) continue;
        const key = `${a.account}\u0000${w.window}`;
        // Once per period: the reset time identifies it (the feeds jitter it by seconds to minutes).
        const last = this.reported.get(key);
        if (last !== undefined && Math.abs(last - w.resetsAt) < 30 * 60_000) continue;
        this.reported.set(key, w.resetsAt);
        out.push({ ...w, account: a.account, exhaustAt: w.exhaustAt, resetsAt: w.resetsAt });
      }
    }
    return out;
  }
}

/** quota/account-chooser.ts `forecastView` → windows named as the event log names them (five_hour, seven_day, seven_day_<model>). */
export function outlookWindows(
  view: {
    fiveHour: Omit<WindowOutlook, "window"> | null;
    sevenDay: Omit<WindowOutlook, "window"> | null;
    perModelWeekly: Record<string, Omit<WindowOutlook, "window">>;
  } | null,
): WindowOutlook[] {
  if (!view) return [];
  const out: WindowOutlook[] = [];
  if (view.fiveHour) out.push({ window: "five_hour", ...view.fiveHour });
  if (view.sevenDay) out.push({ window: "seven_day", ...view.sevenDay });
  for (const [m, w] of Object.entries(view.perModelWeekly)) out.push({ window: `seven_day_${m}`, ...w });
  return out;
}
