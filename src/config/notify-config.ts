// `notify:` as configured: what a target is and which events it hears. Shapes only, no behaviour. The
// notifications themselves are src/notify/, which imports these names from here.

/** How a target is reached (docs/notifications.md has a worked example of each). */
export const NOTIFY_KINDS = ["webhook", "ntfy", "command", "desktop"] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** Body shapes of a webhook: our own JSON, or Slack's / Discord's incoming-webhook payloads. */
export const WEBHOOK_FORMATS = ["json", "slack", "discord"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/**
 * The daemon's events a target can be told about (the `events:` filter names these; empty = all of them).
 * Each is an event kind the daemon records in its event log (`claude-failover events`).
 */
export const NOTIFY_EVENTS = [
  "swap.done",
  "swap.rolled_back",
  "swap.parked",
  "session.parked",
  "session.resume",
  "session.dialog_overdue",
  "session.failed",
  "task.done",
  "task.failed",
  "task.waiting",
  "schedule.refused",
  "account.login_ending",
  "account.forecast_short",
  "quota.usage_refused",
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

/** One target as configured (`notify.targets[]`), `${VAR}` already substituted by the config loader (config/yaml-doc.ts). */
export interface NotifyTargetConfig {
  /** unique; default `<kind>-<n>` (n: its place in the list, from 1) */
  name: string;
  kind: NotifyKind;
  /** webhook and ntfy: the URL (ntfy: the topic URL); the file may give it as `${VAR}` */
  url?: string;
  /** command: the program and its arguments, never run through a shell; never `${VAR}` (refused at load: arguments are visible to every local user) */
  argv?: string[];
  /** webhook only */
  format: WebhookFormat;
  /** the event kinds this target gets; empty = all */
  events: NotifyEventKind[];
}

export interface NotifyConfig {
  /** ms a session waits on a dialog before `session.dialog_overdue` is recorded and notified */
  dialog_after: number;
  /** ms within which the same notification (same event, session, account and subject) is sent once */
  dedup_window: number;
  /** notifications per target per minute at most (a burst of that many, refilled evenly); 0 = unlimited */
  rate_per_minute: number;
  targets: NotifyTargetConfig[];
  /**
   * The environment variables `${VAR}` referred to anywhere under `notify:` (set by the config loader,
   * config/load.ts; not a key of the file). Kept out of the environment of command and desktop targets.
   */
  referenced_env?: string[];
}
