// Notifications: what a target is and what one notification carries. Shapes only, no behaviour.
// The configured shapes (kinds, formats, events, targets) are config/notify-config.ts.
import type { NotifyEventKind } from "../config/notify-config.js";

/** One thing to tell people about, rendered per target (render.ts). */
export interface Notification {
  /** the daemon event's kind; `notify.test` for `claude-failover notify test` */
  event: NotifyEventKind | "notify.test";
  /** epoch ms of the daemon event */
  ts: number;
  session: string | null;
  account: string | null;
  /** one line, e.g. "dev moved from a to b" */
  title: string;
  /** a sentence or two with the detail */
  text: string;
  /** identifies the notification for deduplication (with event, session and account) */
  subject: string;
  /** the daemon event's data, for JSON bodies and commands */
  data: Record<string, unknown>;
  /** the daemon event's id in the event log (0 for `notify test`) */
  eventId: number;
}
