// Human-readable views of daemon JSON for the terminal.
type Obj = Record<string, unknown>;

export function ago(ts: unknown, now = Date.now()): string {
  if (typeof ts !== "number") return "-";
  const s = Math.round((now - ts) / 1000);
  if (s < 0) return `in ${fmtSecs(-s)}`;
  return `${fmtSecs(s)} ago`;
}

function fmtSecs(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatAccounts(accounts: Obj[], now = Date.now()): string {
  const pct = (w: unknown) =>
    w && typeof (w as Obj).utilization === "number" ? `${Math.round(((w as Obj).utilization as number) * 100)}%` : "-";
  return withForecast(
    accounts,
    now,
    table([
      ["NAME", "STATE", "UNTIL", "5H", "7D", "FIGURES", "PROMPTS 1H/7D", "TOKEN EXPIRES", "LOGIN", "SESSIONS"],
      ...accounts.map((a) => {
        const u = a.usage as Obj | null;
        const cr = a.credentials as Obj | undefined;
        const figures = u
          ? `${String(u.status)}${u.fetchedAt ? ` ${ago(u.fetchedAt, now)}` : ""}${u.backoffMs ? ` backoff ${Math.round((u.backoffMs as number) / 1000)}s` : ""}`
          : "-";
        return [
          String(a.name),
          String(a.state),
          a.stateUntil ? ago(a.stateUntil, now) : "-",
          pct(u?.fiveHour),
          pct(u?.sevenDay),
          figures,
          `${String(a.promptsLastHour ?? 0)}/${String(a.promptsLastWeek ?? 0)}`,
          cr?.present ? (cr.expiresAt ? ago(cr.expiresAt, now) : "?") : `missing (${String(cr?.problem ?? "")})`,
          loginCell(a.login as Obj | null | undefined, now),
          ((a.sessions as string[]) ?? []).join(",") || "-",
        ];
      }),
    ]),
  );
}

// The accounts table, then the forecast table when there is one.
function withForecast(accounts: Obj[], now: number, main: string): string {
  const forecast = formatForecast(accounts, now);
  return forecast ? `${main}\n\nFORECAST\n${forecast}` : main;
}

/**
 * Per account and window (usage.forecast from the daemon): used, burn rate, when it would be full at
 * that rate, and when it resets. "" when no account has a window figure.
 */
export function formatForecast(accounts: Obj[], now = Date.now()): string {
  const rows: string[][] = [];
  const pct1 = (x: number): string => `${Math.round(x * 1000) / 10}%`;
  for (const a of accounts) {
    const f = (a.usage as Obj | null)?.forecast as Obj | null | undefined;
    if (!f) continue;
    const windows: [string, unknown][] = [
      ["5h", f.fiveHour],
      ["7d", f.sevenDay],
      ...Object.entries((f.perModelWeekly as Obj) ?? {}).map(([m, w]): [string, unknown] => [`7d ${m}`, w]),
    ];
    for (const [label, w] of windows) {
      if (!w || typeof (w as Obj).utilization !== "number") continue;
      const v = w as {
        utilization: number;
        burnPerHour: number | null;
        exhaustAt: number | null;
        resetsAt: number | null;
      };
      const burn = typeof v.burnPerHour === "number" ? `${v.burnPerHour >= 0 ? "+" : ""}${pct1(v.burnPerHour)}/h` : "-";
      rows.push([
        String(a.name),
        label,
        pct1(v.utilization),
        burn,
        v.exhaustAt ? ago(v.exhaustAt, now) : "-",
        v.resetsAt ? ago(v.resetsAt, now) : "-",
      ]);
    }
  }
  return rows.length ? table([["ACCOUNT", "WINDOW", "USED", "BURN", "FULL AT THIS RATE", "RESETS"], ...rows]) : "";
}

export function formatStatus(s: Obj): string {
  const now = typeof s.now === "number" ? s.now : Date.now();
  const sessions = (s.sessions as Obj[]) ?? [];
  const accounts = (s.accounts as Obj[]) ?? [];
  const out: string[] = [];
  out.push("SESSIONS");
  out.push(
    table([
      ["NAME", "KIND", "STATE", "ACCOUNT", "LAST ACTIVITY", "LAST SWAP", "PROJECT", "REASON"],
      ...sessions.map((x) => {
        const sw = x.lastSwap as Obj | null;
        return [
          String(x.name),
          String(x.kind),
          sessionState(x),
          String(x.account ?? "-"),
          ago(x.lastActivity, now),
          sw ? `${String(sw.from)}→${String(sw.to)} ${String(sw.outcome ?? sw.step)}` : "-",
          String(x.project),
          sessionReason(x),
        ];
      }),
    ]),
  );
  out.push("", "ACCOUNTS");
  out.push(
    table([
      ["NAME", "STATE", "UNTIL", "5H", "7D", "FIGURES", "SESSIONS", "REASON"],
      ...accounts.map((a) => {
        const u = a.usage as Obj | null;
        const pct = (w: unknown) =>
          w && typeof (w as Obj).utilization === "number"
            ? `${Math.round(((w as Obj).utilization as number) * 100)}%`
            : "-";
        return [
          String(a.name),
          String(a.state),
          a.stateUntil ? ago(a.stateUntil, now) : "-",
          pct(u?.fiveHour),
          pct(u?.sevenDay),
          u
            ? `${String(u.status)} ${ago(u.fetchedAt, now)}${u.backoffMs ? ` backoff ${Math.round((u.backoffMs as number) / 1000)}s` : ""}`
            : "-",
          ((a.sessions as string[]) ?? []).join(",") || "-",
          String(a.stateReason ?? ""),
        ];
      }),
    ]),
  );
  const forecast = formatForecast(accounts, now);
  if (forecast) out.push("", "FORECAST", forecast);
  const boxes = formatBoxes(s.boxes as Obj | null | undefined, now);
  if (boxes) out.push("", boxes);
  const wf = s.writeFailures as { count: number; last: Obj | null } | null | undefined;
  if (wf?.last)
    out.push(
      "",
      `WRITE FAILURES: ${wf.count}, last ${ago(wf.last.at, now)}: ${String(wf.last.error)} (the old file was kept)`,
    );
  // Notification targets that failed or cannot be used (notify/notify-service.ts TargetStatus).
  const bad = ((s.notify as { targets?: Obj[] } | null | undefined)?.targets ?? []).filter(
    (t) => t.problem || (t.failed as number) > 0,
  );
  if (bad.length)
    out.push(
      "",
      "NOTIFY FAILURES",
      ...bad.map(
        (t) =>
          `  ${String(t.name)} (${String(t.kind)}): ${t.problem ? String(t.problem) : `${String(t.failed)} not delivered, last ${ago(t.lastErrorAt, now)}: ${String(t.lastError)}`}`,
      ),
    );
  return out.join("\n");
}

/** "starting (waiting: trust dialog)", "idle (swap)", "waiting: permission dialog": the state and what it waits for. */
export function sessionState(x: Obj): string {
  const reason = typeof x.stateReason === "string" ? x.stateReason : "";
  let state = String(x.state);
  if (state === "waiting") state = `waiting: ${WAITING_KIND[reason] ?? (reason || "a person")}`;
  else if (reason.startsWith("waiting: ")) state += ` (${reason.replace(/ \(.*$/, "")})`;
  return state + (x.busyWith ? ` (${String(x.busyWith)})` : "");
}
const WAITING_KIND: Record<string, string> = {
  permission_prompt: "permission dialog",
  elicitation_dialog: "a question (elicitation dialog)",
};

/** Why a session is not simply running: shown for failed, exited, parked, stopped and dialog-bound sessions. */
export function sessionReason(x: Obj): string {
  const reason = typeof x.stateReason === "string" ? x.stateReason : "";
  const state = String(x.state);
  if (["failed", "exited", "parked", "stopped"].includes(state) || reason.startsWith("waiting: ")) return reason;
  return "";
}

/** "12d ago", "≥3d" (login predates the daemon's first look), with "!" ahead of its likely end (about 30 days). */
export function loginCell(l: Obj | null | undefined, now = Date.now()): string {
  if (!l || l.loginKnown === "none" || typeof l.loginAgeMs !== "number") return "-";
  const age =
    l.loginKnown === "observed" && typeof l.loginAt === "number"
      ? ago(l.loginAt, now)
      : `≥${ago(now - l.loginAgeMs, now).replace(/ ago$/, "")}`;
  return `${age}${l.warning ? " ! ending" : ""}`;
}

/**
 * The BOXES section of `status` (store.backend: postgres; control-api.ts status().boxes, boxes/box-view.ts):
 * each box's lease (alive, lapsed, gone), its last heartbeat's age and its running tasks; "" without it.
 */
export function formatBoxes(b: Obj | null | undefined, now: number): string {
  if (!b) return "";
  const rows = ((b.boxes as Obj[]) ?? []).map((x) => [
    `${String(x.box)}${x.self ? " (this box)" : ""}`,
    String(x.lease),
    typeof x.heartbeatAgeMs === "number" ? ago(now - x.heartbeatAgeMs, now) : "-",
    String(x.runningTasks),
  ]);
  const head =
    b.asOf === null
      ? "BOXES (the shared store has not been reached yet)"
      : `BOXES (shared store${b.reachable ? "" : " unreachable"}; as of ${ago(b.asOf, now)})`;
  return rows.length ? `${head}\n${table([["BOX", "LEASE", "LAST HEARTBEAT", "RUNNING TASKS"], ...rows])}` : head;
}
